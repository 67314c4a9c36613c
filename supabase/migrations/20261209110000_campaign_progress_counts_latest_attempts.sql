-- A campaign's message counts are its contacts' latest attempts. A retried contact has a row per
-- attempt, and every one was counted: after a retry `processed` read 328 of 300 and `failed` kept
-- the attempts that had since succeeded. Each job item names its latest attempt's row (`row_id`,
-- renewed by job_retry), so only those rows count; a campaign whose items carry no row_id (made
-- before row ids) counts all its rows, as before.

create or replace function job_latest_rows(p_job_id uuid)
returns table (id uuid)
language sql
stable
as $$
  select (payload->>'row_id')::uuid from job_items where job_id = p_job_id and payload ? 'row_id'
$$;

create or replace function whatsapp_campaign_progress(p_campaign_id uuid)
returns jsonb
language sql
volatile
as $$
  with latest as (
    select id from job_latest_rows(p_campaign_id)
  ),
  counts as (
    select
      count(*)::int as processed,
      (count(*) filter (where provider_message_id is not null))::int as sent,
      (count(*) filter (where status = 'failed'))::int as failed,
      (count(*) filter (where status in ('delivered', 'read')))::int as delivered,
      (count(*) filter (where status = 'read'))::int as read
    from whatsapp_logs w
    where w.campaign_id = p_campaign_id
      and (not exists (select 1 from latest) or w.id in (select id from latest))
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

create or replace function voice_campaign_progress(p_campaign_id uuid)
returns jsonb
language sql
stable
as $$
  with latest as (
    select id from job_latest_rows(p_campaign_id)
  ),
  calls as (
    select l.status, l.execution_id from call_logs l
     where l.campaign_id = p_campaign_id
       and (not exists (select 1 from latest) or l.id in (select id from latest))
  )
  select jsonb_build_object(
    'placed', count(*),
    'initiated', count(*) filter (where execution_id is not null),
    'completed', count(*) filter (where status = 'completed'),
    'failed', count(*) filter (where status in ('busy', 'no-answer', 'failed', 'canceled', 'stopped', 'error', 'balance-low')),
    'in_progress', count(*) filter (where status not in ('completed', 'busy', 'no-answer', 'failed', 'canceled', 'stopped', 'error', 'balance-low')),
    'by_status', coalesce((select jsonb_object_agg(status, n) from (select status, count(*) as n from calls group by status) s), '{}'::jsonb)
  )
  from calls
$$;
