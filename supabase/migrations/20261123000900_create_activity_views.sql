-- Cross-service reads for the admin API: the request journal and per-minute stats. SQL functions
-- so PGlite, PostgreSQL and Supabase (rpc) answer the same. Zoom keeps its state in memory (as
-- the spec says) and is not here.

create or replace view activity_journal_rows as
  select 'email'::text as service, id, request_id, status, mode, fallback, to_email as contact,
         subject as summary, error, latency_ms, created_at, updated_at
    from email_logs
  union all
  select 'whatsapp', id, request_id, status, mode, fallback, to_number, template_name, error, latency_ms, created_at, updated_at
    from whatsapp_logs
  union all
  select 'payments', id, request_id, status, mode, false, coalesce(email, phone, buyer_name, ''),
         purpose || ' (INR ' || amount::text || ')', error, latency_ms, created_at, updated_at
    from payments
  union all
  select 'voice', id, request_id, status, mode, fallback, to_number, coalesce(script_id, agent_id), error, latency_ms, created_at, updated_at
    from call_logs;

create or replace function activity_journal(
  p_service text default null,
  p_status text default null,
  p_request_id text default null,
  p_since timestamptz default null,
  p_until timestamptz default null,
  p_limit integer default 100
) returns jsonb
language sql
stable
as $$
  select coalesce(jsonb_agg(to_jsonb(j) order by j.created_at desc), '[]'::jsonb)
  from (
    select * from activity_journal_rows
    where (p_service is null or service = p_service)
      and (p_status is null or status = p_status)
      and (p_request_id is null or request_id = p_request_id)
      and (p_since is null or created_at >= p_since)
      and (p_until is null or created_at <= p_until)
    order by created_at desc
    limit least(greatest(coalesce(p_limit, 100), 1), 1000)
  ) j
$$;

-- Failure, across services: a send refused or errored, an email bounced or dropped, a call that
-- failed or errored.
create or replace function activity_stats(p_minutes integer default 60)
returns jsonb
language sql
stable
as $$
  with rows as (
    select service, status, latency_ms, created_at,
           status in ('failed', 'bounced', 'dropped', 'error') as is_failed
      from activity_journal_rows
     where created_at >= now() - make_interval(mins => least(greatest(coalesce(p_minutes, 60), 1), 1440))
  ),
  totals as (
    select service, count(*) as total, count(*) filter (where is_failed) as failed,
           round(avg(latency_ms)::numeric, 1) as avg_latency_ms
      from rows group by service
  ),
  series as (
    select service, date_trunc('minute', created_at) as bucket, count(*) as n,
           count(*) filter (where is_failed) as failed, round(avg(latency_ms)::numeric, 1) as avg_latency_ms
      from rows group by service, date_trunc('minute', created_at)
  )
  select coalesce(jsonb_object_agg(t.service, jsonb_build_object(
           'total', t.total,
           'failed', t.failed,
           'success_rate', case when t.total = 0 then 1 else round(1 - t.failed::numeric / t.total, 4) end,
           'avg_latency_ms', t.avg_latency_ms,
           'series', (select coalesce(jsonb_agg(jsonb_build_object('bucket', s.bucket, 'count', s.n, 'failed', s.failed, 'avg_latency_ms', s.avg_latency_ms) order by s.bucket), '[]'::jsonb)
                        from series s where s.service = t.service)
         )), '{}'::jsonb)
    from totals t
$$;
