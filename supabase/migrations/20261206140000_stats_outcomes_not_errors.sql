-- Stats tell a provider error apart from a business outcome (issue #22). A bounced email, a
-- declined payment or a call nobody answered is the provider doing its job and reporting what
-- happened on the other side; a refused or errored call is a failure. "Success rate" now counts
-- only errors against the calls, and the outcomes are counted on their own.
--
-- activity_outcome(service, status, accepted) names the class of one row's status:
--   'error'    the call failed: refused by the provider (or never reached it), or errored later
--   'ok'       succeeded, or still on its way
--   any other  a business outcome, by name: bounced, dropped (email); undelivered (a WhatsApp
--              message AiSensy accepted and later reported failed); declined (a payment the buyer
--              attempted and that failed); busy, no-answer, unreachable (a dialled call that
--              failed to connect), canceled, stopped (voice)
-- `accepted` is whether the provider took the request (it gave the row a provider id).
create or replace function activity_outcome(p_service text, p_status text, p_accepted boolean)
returns text
language sql
immutable
as $$
  select case p_service
    when 'email' then case
      when p_status = 'failed' then 'error'
      when p_status in ('bounced', 'dropped') then p_status
      else 'ok' end
    when 'whatsapp' then case
      when p_status = 'failed' and coalesce(p_accepted, false) then 'undelivered'
      when p_status = 'failed' then 'error'
      else 'ok' end
    when 'payments' then case
      when p_status = 'failed' and coalesce(p_accepted, false) then 'declined'
      when p_status = 'failed' then 'error'
      else 'ok' end
    when 'voice' then case
      when p_status in ('error', 'balance-low') then 'error'
      when p_status = 'failed' and coalesce(p_accepted, false) then 'unreachable'
      when p_status = 'failed' then 'error'
      when p_status in ('busy', 'no-answer', 'canceled', 'stopped') then p_status
      else 'ok' end
    else case when p_status in ('failed', 'error') then 'error' else 'ok' end
  end
$$;

-- The four logs' rows with their class: what every stats function below counts.
create or replace view activity_outcomes as
  select 'email'::text as service, status, latency_ms, created_at,
         activity_outcome('email', status, provider_message_id is not null) as outcome
    from email_logs
  union all
  select 'whatsapp', status, latency_ms, created_at, activity_outcome('whatsapp', status, provider_message_id is not null)
    from whatsapp_logs
  union all
  select 'payments', status, latency_ms, created_at, activity_outcome('payments', status, payment_request_id is not null)
    from payments
  union all
  select 'voice', status, latency_ms, created_at, activity_outcome('voice', status, execution_id is not null)
    from call_logs
  union all
  -- Zoom keeps no log table: each request to the Zoom API (the emulator's exchanges, through
  -- Switchboard or direct) is one call; an answer of 4xx/5xx, or none, is an error.
  select 'zoom', coalesce(status_code::text, 'no answer'), latency_ms, created_at,
         case when status_code is null or status_code >= 400 then 'error' else 'ok' end
    from activity_exchanges
   where channel = 'zoom' and kind = 'provider';

-- Zoom's meetings over the window: created (the API answered 201 to a POST …/meetings), and the
-- lifecycle webhooks Switchboard's receiver accepted: started, ended, recording completed.
create or replace function zoom_meeting_stats(p_minutes integer default 60)
returns jsonb
language sql
stable
as $$
  select jsonb_build_object(
    'created', count(*) filter (where kind = 'provider' and method = 'POST' and path ~ '/meetings/?$' and status_code between 200 and 299),
    'started', count(*) filter (where kind = 'webhook' and event = 'meeting.started' and coalesce((verification->>'ok')::boolean, true)),
    'ended', count(*) filter (where kind = 'webhook' and event = 'meeting.ended' and coalesce((verification->>'ok')::boolean, true)),
    'recordings', count(*) filter (where kind = 'webhook' and event = 'recording.completed' and coalesce((verification->>'ok')::boolean, true))
  )
  from activity_exchanges
  where channel = 'zoom'
    and created_at >= now() - make_interval(mins => least(greatest(coalesce(p_minutes, 60), 1), 1440))
$$;

-- Per service over the last p_minutes: calls, errors ("failed", the name the page and API had),
-- outcomes (and by name), the success rate without the outcomes, latency, and a per-minute series;
-- for Zoom also its meetings (zoom_meeting_stats). A service with no calls in the window is absent.
create or replace function activity_stats(p_minutes integer default 60)
returns jsonb
language sql
stable
as $$
  with rows as (
    select service, latency_ms, created_at, outcome = 'error' as is_error,
           outcome not in ('ok', 'error') as is_outcome, outcome
      from activity_outcomes
     where created_at >= now() - make_interval(mins => least(greatest(coalesce(p_minutes, 60), 1), 1440))
  ),
  totals as (
    select service, count(*) as total, count(*) filter (where is_error) as errors,
           count(*) filter (where is_outcome) as outcomes,
           round(avg(latency_ms)::numeric, 1) as avg_latency_ms
      from rows group by service
  ),
  series as (
    select service, date_trunc('minute', created_at) as bucket, count(*) as n,
           count(*) filter (where is_error) as errors, count(*) filter (where is_outcome) as outcomes,
           round(avg(latency_ms)::numeric, 1) as avg_latency_ms
      from rows group by service, date_trunc('minute', created_at)
  )
  select coalesce(jsonb_object_agg(t.service, jsonb_build_object(
           'total', t.total,
           'failed', t.errors,
           'errors', t.errors,
           'outcomes', t.outcomes,
           'by_outcome', (select coalesce(jsonb_object_agg(o.outcome, o.n), '{}'::jsonb)
                            from (select outcome, count(*) as n from rows r where r.service = t.service and r.is_outcome group by outcome) o),
           'success_rate', case when t.total = 0 then 1 else round(1 - t.errors::numeric / t.total, 4) end,
           'avg_latency_ms', t.avg_latency_ms,
           'series', (select coalesce(jsonb_agg(jsonb_build_object('bucket', s.bucket, 'count', s.n, 'failed', s.errors, 'outcomes', s.outcomes, 'avg_latency_ms', s.avg_latency_ms) order by s.bucket), '[]'::jsonb)
                        from series s where s.service = t.service)
         ) || case when t.service = 'zoom' then jsonb_build_object('meetings', zoom_meeting_stats(p_minutes)) else '{}'::jsonb end), '{}'::jsonb)
    from totals t
$$;

-- get_email_stats(): "failed" keeps its meaning (refused, bounced or dropped); "errors" counts
-- only the refusals and errors, "outcomes" the bounces and drops.
create or replace function email_stats()
returns jsonb
language sql
stable
as $$
  select jsonb_build_object(
    'total', count(*),
    'sent', count(*) filter (where status not in ('failed', 'queued')),
    'failed', count(*) filter (where status in ('failed', 'bounced', 'dropped')),
    'errors', count(*) filter (where activity_outcome('email', status, provider_message_id is not null) = 'error'),
    'outcomes', jsonb_build_object(
      'bounced', count(*) filter (where status = 'bounced'),
      'dropped', count(*) filter (where status = 'dropped')),
    'delivered', count(*) filter (where status in ('delivered', 'opened', 'clicked', 'spam_report', 'unsubscribed')),
    'avg_latency_ms', round(avg(latency_ms)::numeric, 1),
    'by_status', coalesce((select jsonb_object_agg(status, n) from (select status, count(*) as n from email_logs group by status) s), '{}'::jsonb),
    'by_mode', coalesce((select jsonb_object_agg(mode, n) from (select mode, count(*) as n from email_logs group by mode) m), '{}'::jsonb),
    'last_24h', count(*) filter (where created_at > now() - interval '24 hours')
  )
  from email_logs
$$;

create or replace function whatsapp_stats()
returns jsonb
language sql
stable
as $$
  select jsonb_build_object(
    'total', count(*),
    'sent', count(*) filter (where provider_message_id is not null),
    'failed', count(*) filter (where status = 'failed'),
    'errors', count(*) filter (where activity_outcome('whatsapp', status, provider_message_id is not null) = 'error'),
    'outcomes', jsonb_build_object(
      'undelivered', count(*) filter (where activity_outcome('whatsapp', status, provider_message_id is not null) = 'undelivered')),
    'delivered', count(*) filter (where status in ('delivered', 'read')),
    'read', count(*) filter (where status = 'read'),
    'avg_latency_ms', round(avg(latency_ms)::numeric, 1),
    'by_status', coalesce((select jsonb_object_agg(status, n) from (select status, count(*) as n from whatsapp_logs group by status) s), '{}'::jsonb),
    'by_mode', coalesce((select jsonb_object_agg(mode, n) from (select mode, count(*) as n from whatsapp_logs group by mode) m), '{}'::jsonb),
    'by_template', coalesce((select jsonb_object_agg(template_name, n) from (select template_name, count(*) as n from whatsapp_logs group by template_name) t), '{}'::jsonb),
    'last_24h', count(*) filter (where created_at > now() - interval '24 hours'),
    'campaigns', (select jsonb_build_object(
        'total', count(*),
        'running', count(*) filter (where status = 'running'),
        'completed', count(*) filter (where status = 'completed'))
      from whatsapp_campaigns)
  )
  from whatsapp_logs
$$;

create or replace function payments_stats()
returns jsonb
language sql
stable
as $$
  select jsonb_build_object(
    'total', count(*),
    'created', count(*) filter (where payment_request_id is not null),
    'pending', count(*) filter (where status = 'pending'),
    'paid', count(*) filter (where status = 'paid'),
    'failed', count(*) filter (where status = 'failed'),
    'errors', count(*) filter (where activity_outcome('payments', status, payment_request_id is not null) = 'error'),
    'outcomes', jsonb_build_object(
      'declined', count(*) filter (where activity_outcome('payments', status, payment_request_id is not null) = 'declined')),
    'paid_amount', (coalesce(sum(amount) filter (where status = 'paid'), 0))::numeric(14, 2)::text,
    'fees', (coalesce(sum(fees) filter (where status = 'paid'), 0))::numeric(14, 2)::text,
    'avg_latency_ms', round(avg(latency_ms)::numeric, 1),
    'by_status', coalesce((select jsonb_object_agg(status, n) from (select status, count(*) as n from payments group by status) s), '{}'::jsonb),
    'by_mode', coalesce((select jsonb_object_agg(mode, n) from (select mode, count(*) as n from payments group by mode) m), '{}'::jsonb),
    'last_24h', count(*) filter (where created_at > now() - interval '24 hours')
  )
  from payments
$$;

create or replace function voice_stats()
returns jsonb
language sql
stable
as $$
  select jsonb_build_object(
    'total', count(*),
    'in_progress', count(*) filter (where status not in ('completed', 'busy', 'no-answer', 'failed', 'canceled', 'stopped', 'error', 'balance-low')),
    'completed', count(*) filter (where status = 'completed'),
    'answered', count(*) filter (where status = 'completed' and not coalesce(answered_by_voice_mail, false)),
    'voicemail', count(*) filter (where status = 'completed' and coalesce(answered_by_voice_mail, false)),
    'not_answered', count(*) filter (where status in ('busy', 'no-answer')),
    'failed', count(*) filter (where status in ('failed', 'error', 'balance-low')),
    'errors', count(*) filter (where activity_outcome('voice', status, execution_id is not null) = 'error'),
    'outcomes', jsonb_build_object(
      'busy', count(*) filter (where status = 'busy'),
      'no-answer', count(*) filter (where status = 'no-answer'),
      'unreachable', count(*) filter (where activity_outcome('voice', status, execution_id is not null) = 'unreachable'),
      'canceled', count(*) filter (where status = 'canceled'),
      'stopped', count(*) filter (where status = 'stopped')),
    'answer_rate', case
      when count(*) filter (where execution_id is not null and status in ('completed', 'busy', 'no-answer', 'failed', 'error')) = 0 then null
      else round(
        (count(*) filter (where status = 'completed' and not coalesce(answered_by_voice_mail, false)))::numeric
        / (count(*) filter (where execution_id is not null and status in ('completed', 'busy', 'no-answer', 'failed', 'error'))), 4)
    end,
    'avg_duration_seconds', round((avg(duration_seconds) filter (where status = 'completed'))::numeric, 1),
    'total_duration_seconds', coalesce(sum(duration_seconds), 0),
    'total_cost', round(coalesce(sum(cost), 0)::numeric, 2),
    'avg_cost', round((avg(cost) filter (where status = 'completed'))::numeric, 2),
    'by_status', coalesce((select jsonb_object_agg(status, n) from (select status, count(*) as n from call_logs group by status) s), '{}'::jsonb),
    'by_mode', coalesce((select jsonb_object_agg(mode, n) from (select mode, count(*) as n from call_logs group by mode) m), '{}'::jsonb),
    'last_24h', count(*) filter (where created_at > now() - interval '24 hours')
  )
  from call_logs
$$;
