-- get_payment_stats(): one round trip, the same answer from every backend (PostgREST calls it as
-- POST /rest/v1/rpc/payments_stats). Money stays exact: sums are numeric rendered as text
-- ("2500.00"), never JSON numbers a client would read as floats.
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
    'paid_amount', (coalesce(sum(amount) filter (where status = 'paid'), 0))::numeric(14, 2)::text,
    'fees', (coalesce(sum(fees) filter (where status = 'paid'), 0))::numeric(14, 2)::text,
    'avg_latency_ms', round(avg(latency_ms)::numeric, 1),
    'by_status', coalesce((select jsonb_object_agg(status, n) from (select status, count(*) as n from payments group by status) s), '{}'::jsonb),
    'by_mode', coalesce((select jsonb_object_agg(mode, n) from (select mode, count(*) as n from payments group by mode) m), '{}'::jsonb),
    'last_24h', count(*) filter (where created_at > now() - interval '24 hours')
  )
  from payments
$$;
