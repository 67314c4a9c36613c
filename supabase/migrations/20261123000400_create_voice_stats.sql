-- get_call_stats() and campaign progress: one round trip each, the same answer from every backend
-- (PostgREST calls them as POST /rest/v1/rpc/voice_stats and /rpc/voice_campaign_progress).
--
-- Final statuses are Bolna's: completed, busy, no-answer, failed, canceled, stopped, error,
-- balance-low ('failed' is also what we record when Bolna refuses a call: no execution_id then).
-- The answer rate is answered (completed, not voicemail) over the calls that were dialled and
-- ended: completed, busy, no-answer, failed, error with an execution id. Stopped and canceled
-- calls were never dialled; balance-low ones were never placed. Costs are Bolna's total_cost,
-- in cents.

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

-- One campaign's calls, counted: what GET /call/campaigns/{id} shows while the campaign runs.
create or replace function voice_campaign_progress(p_campaign_id uuid)
returns jsonb
language sql
stable
as $$
  select jsonb_build_object(
    'placed', count(*),
    'initiated', count(*) filter (where execution_id is not null),
    'completed', count(*) filter (where status = 'completed'),
    'failed', count(*) filter (where status in ('busy', 'no-answer', 'failed', 'canceled', 'stopped', 'error', 'balance-low')),
    'in_progress', count(*) filter (where status not in ('completed', 'busy', 'no-answer', 'failed', 'canceled', 'stopped', 'error', 'balance-low')),
    'by_status', coalesce((select jsonb_object_agg(status, n) from (select status, count(*) as n from call_logs where campaign_id = p_campaign_id group by status) s), '{}'::jsonb)
  )
  from call_logs
  where campaign_id = p_campaign_id
$$;
