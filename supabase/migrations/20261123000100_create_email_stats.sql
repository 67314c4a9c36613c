-- get_email_stats(): one round trip, the same answer from every backend (PostgREST calls it as
-- POST /rest/v1/rpc/email_stats). "sent" counts what the provider accepted, whatever happened
-- next; "failed" counts refusals and later bounces/drops.
create or replace function email_stats()
returns jsonb
language sql
stable
as $$
  select jsonb_build_object(
    'total', count(*),
    'sent', count(*) filter (where status not in ('failed', 'queued')),
    'failed', count(*) filter (where status in ('failed', 'bounced', 'dropped')),
    'delivered', count(*) filter (where status in ('delivered', 'opened', 'clicked', 'spam_report', 'unsubscribed')),
    'avg_latency_ms', round(avg(latency_ms)::numeric, 1),
    'by_status', coalesce((select jsonb_object_agg(status, n) from (select status, count(*) as n from email_logs group by status) s), '{}'::jsonb),
    'by_mode', coalesce((select jsonb_object_agg(mode, n) from (select mode, count(*) as n from email_logs group by mode) m), '{}'::jsonb),
    'last_24h', count(*) filter (where created_at > now() - interval '24 hours')
  )
  from email_logs
$$;
