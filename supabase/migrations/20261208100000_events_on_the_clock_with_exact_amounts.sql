-- Events to the team's app, as the README promises them (found by a black-box audit):
--
-- * `timestamp` is when the row reached its outcome on the emulators' clock: the row's updated_at,
--   which the activity log stamps on every status move (and a new row's stamp on insert), on the
--   test clock when a test or a data set moved it. It was now(): real time, so a meeting a day
--   ahead on the clock and the payment paid with it carried today's date.
-- * `data` is the row "as GET /api/admin/journal/{service}/{id} shows it": numeric columns are
--   exact decimal strings there ("1499.10", every backend), while to_jsonb gave JSON numbers
--   (1499.1). jsonb keeps a numeric's digits and scale, so ->> gives back the column's own text.
--
-- Same triggers, same fan-out; only the body's two fields change.

-- The numeric columns of the tables with events, as strings. Listed, not looked up in the catalog
-- on every statement; activity-log's pglite.test.ts holds the list to the catalog.
create or replace function event_row_data(p_table text, p_row jsonb) returns jsonb language sql immutable as $$
  select case p_table
    when 'payments' then p_row || jsonb_build_object('amount', p_row ->> 'amount', 'fees', p_row ->> 'fees')
    when 'call_logs' then p_row || jsonb_build_object('duration_seconds', p_row ->> 'duration_seconds', 'cost', p_row ->> 'cost')
    else p_row
  end
$$;

create or replace function status_events_on_update() returns trigger language plpgsql as $$
begin
  with moved as materialized (
    select n.id, event_type_for(TG_TABLE_NAME, n.status) as type
      from new_rows n join old_rows o on o.id = n.id
     where n.status is distinct from o.status
  ), wanted as materialized (
    select m.id, m.type, 'msg_' || replace(gen_random_uuid()::text, '-', '') as event_id
      from moved m
     where m.type is not null
       and exists (select 1 from event_endpoints p where p.enabled and (cardinality(p.types) = 0 or m.type = any (p.types)))
  )
  insert into webhook_outbox (source, label, url, headers, body, body_encoding, retry_delays_ms, status, attempts, next_attempt_at)
  select 'events', 'events:' || p.id || ':' || w.type, p.url,
         jsonb_build_object('content-type', 'application/json', 'webhook-id', w.event_id, 'user-agent', 'Switchboard-Events/1'),
         jsonb_build_object('type', w.type, 'timestamp', n.updated_at, 'data', event_row_data(TG_TABLE_NAME, to_jsonb(n)))::text,
         'utf8', event_retry_delays_ms(), 'pending', 0, now()
    from wanted w join new_rows n on n.id = w.id
    join event_endpoints p on p.enabled and (cardinality(p.types) = 0 or w.type = any (p.types));
  return null;
end
$$;

create or replace function status_events_on_insert() returns trigger language plpgsql as $$
begin
  with wanted as materialized (
    select n.id, event_type_for(TG_TABLE_NAME, n.status) as type, 'msg_' || replace(gen_random_uuid()::text, '-', '') as event_id
      from new_rows n
     where event_type_for(TG_TABLE_NAME, n.status) is not null
       and exists (select 1 from event_endpoints p where p.enabled and (cardinality(p.types) = 0 or event_type_for(TG_TABLE_NAME, n.status) = any (p.types)))
  )
  insert into webhook_outbox (source, label, url, headers, body, body_encoding, retry_delays_ms, status, attempts, next_attempt_at)
  select 'events', 'events:' || p.id || ':' || w.type, p.url,
         jsonb_build_object('content-type', 'application/json', 'webhook-id', w.event_id, 'user-agent', 'Switchboard-Events/1'),
         jsonb_build_object('type', w.type, 'timestamp', n.updated_at, 'data', event_row_data(TG_TABLE_NAME, to_jsonb(n)))::text,
         'utf8', event_retry_delays_ms(), 'pending', 0, now()
    from wanted w join new_rows n on n.id = w.id
    join event_endpoints p on p.enabled and (cardinality(p.types) = 0 or w.type = any (p.types));
  return null;
end
$$;
