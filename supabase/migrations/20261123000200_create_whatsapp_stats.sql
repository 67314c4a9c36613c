-- get_whatsapp_stats() and campaign progress: one round trip each, the same answer from every
-- backend (PostgREST calls them as POST /rest/v1/rpc/<name>).
-- "sent" counts what AiSensy accepted (a submitted_message_id), whatever happened next; "failed"
-- counts refusals and messages that failed after sending; "delivered" includes read messages.

create or replace function whatsapp_stats()
returns jsonb
language sql
stable
as $$
  select jsonb_build_object(
    'total', count(*),
    'sent', count(*) filter (where provider_message_id is not null),
    'failed', count(*) filter (where status = 'failed'),
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

-- A campaign's progress, counted from its message rows (so it is right whichever instance sent
-- them or received their status webhooks), and written back to the campaign row's counters when
-- they changed. Returns null for an unknown id.
create or replace function whatsapp_campaign_progress(p_campaign_id uuid)
returns jsonb
language sql
volatile
as $$
  with counts as (
    select
      count(*)::int as processed,
      (count(*) filter (where provider_message_id is not null))::int as sent,
      (count(*) filter (where status = 'failed'))::int as failed,
      (count(*) filter (where status in ('delivered', 'read')))::int as delivered,
      (count(*) filter (where status = 'read'))::int as read
    from whatsapp_logs
    where campaign_id = p_campaign_id
  ),
  updated as (
    update whatsapp_campaigns c
       set sent = k.sent, failed = k.failed, delivered = k.delivered, read = k.read, updated_at = now()
      from counts k
     where c.id = p_campaign_id
       and (c.sent, c.failed, c.delivered, c.read) is distinct from (k.sent, k.failed, k.delivered, k.read)
    returning c.updated_at
  )
  select jsonb_build_object(
    'id', c.id,
    'name', c.name,
    'template_name', c.template_name,
    'mode', c.mode,
    'status', c.status,
    'total', c.total,
    'processed', k.processed,
    'progress', case when c.total > 0 then round(least(k.processed::numeric / c.total, 1), 4) else 1 end,
    'sent', k.sent,
    'failed', k.failed,
    'delivered', k.delivered,
    'read', k.read,
    'error', c.error,
    'created_at', c.created_at,
    'updated_at', coalesce((select u.updated_at from updated u), c.updated_at),
    'completed_at', c.completed_at
  )
  from whatsapp_campaigns c cross join counts k
  where c.id = p_campaign_id
$$;
