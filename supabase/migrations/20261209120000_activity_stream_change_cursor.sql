-- The admin page's live stream (GET /api/admin/activity/stream) asked activity_changes for the
-- items whose updated_at was after its cursor. But updated_at and created_at are stamped on the
-- emulators' test clock: while it is set back (a data set playing a week of history, POST
-- /api/admin/clock/set to a past instant) every new row and every status move carries a time in
-- the past, before the cursor, and never reached the stream; the page showed it only at its next
-- safety refresh. And while the clock was frozen, two moves of one row shared one updated_at, so
-- the stream took the second for the first, already sent, and dropped it.
--
-- changed_at is when the row last changed in real time, on the database's clock, whatever the
-- test clock says. A new row takes it from the column's default (clock_timestamp()); an update
-- sets it in the statement (the activity log's SQL backends add it to every update of these
-- tables: tables.ts CHANGE_TRACKED), and a trigger sets it for any other writer (PostgREST,
-- activity_update_each, a person with psql) whose update leaves it as it was. The trigger's WHEN
-- is checked without calling the function, so the activity log's own updates, the write path the
-- benchmark measures, run no PL/pgSQL per row (a trigger on every insert and update cost the
-- gateway paths 10-20 % more CPU per request). It is not indexed: status moves are the logs' most
-- frequent writes and stay HOT updates (20261124000000); the stream reads a few seconds of
-- changes, by a scan, as activity_changes did.
create or replace function activity_touch_changed_at() returns trigger
language plpgsql
as $$
begin
  new.changed_at := clock_timestamp();
  return new;
end
$$;

do $$
declare t text;
begin
  foreach t in array array['email_logs', 'whatsapp_logs', 'payments', 'call_logs', 'activity_exchanges'] loop
    -- now() for the rows already there (a constant default: no table rewrite); new rows and every
    -- change get the trigger's time.
    execute format('alter table %I add column if not exists changed_at timestamptz not null default now()', t);
    execute format('alter table %I alter column changed_at set default clock_timestamp()', t);
    execute format('drop trigger if exists %I on %I', t || '_changed_at', t);
    execute format('create trigger %I before update on %I for each row when (new.changed_at is not distinct from old.changed_at) execute function activity_touch_changed_at()', t || '_changed_at', t);
  end loop;
end
$$;

-- The items as before (20261206130000), with changed_at last (a view may only gain columns at its end).
create or replace view activity_items as
  select 'email'::text as channel, id, false as direct, request_id, status, mode, fallback,
         to_email as contact, subject as summary, provider_message_id as provider_id, error, latency_ms,
         created_at, updated_at, changed_at
    from email_logs
  union all
  select 'whatsapp', id, false, request_id, status, mode, fallback, to_number, template_name,
         provider_message_id, error, latency_ms, created_at, updated_at, changed_at
    from whatsapp_logs
  union all
  select 'payments', id, false, request_id, status, mode, false, coalesce(email, phone, buyer_name, ''),
         purpose || ' (INR ' || amount::text || ')', payment_request_id, error, latency_ms, created_at, updated_at, changed_at
    from payments
  union all
  select 'voice', id, false, request_id, status, mode, fallback, to_number, coalesce(script_id, agent_id),
         execution_id, error, latency_ms, created_at, updated_at, changed_at
    from call_logs
  union all
  select channel, id, direct, null, coalesce(status_code::text, 'no answer'), 'mock', false,
         contacts->>0, summary, provider_id,
         case when status_code is null or status_code >= 400 then 'HTTP ' || coalesce(status_code::text, 'no answer') end,
         latency_ms, created_at, created_at, changed_at
    from activity_exchanges
   where kind = 'provider' and (direct or channel = 'zoom');

-- The live stream's poll: {cursor, items}. The cursor is a place in the order of changes,
-- (changed_at, key) with key '<channel>/<id>', as the previous poll's answer gave it: the
-- database's clock may give the rows of one statement the same changed_at (PGlite's has
-- milliseconds), and the key orders those. Items changed after the cursor (oldest change first,
-- at most p_limit), and again those changed in the p_overlap_ms before it: a change is committed a
-- little after its changed_at is taken, so one committed late is still found by the next poll (the
-- caller skips what it already sent). The overlap is read apart from the new items, so a burst of
-- more than p_limit changes cannot hold the cursor back. The answer's cursor is the last new
-- item's place (p_after's when there is none). Without p_after: no items, and the database's time
-- now as the first cursor.
create or replace function activity_stream_changes(
  p_after      timestamptz default null,
  p_after_key  text default null,
  p_channel    text default null,
  p_limit      integer default 1000,
  p_overlap_ms integer default 5000
) returns jsonb
language sql
volatile
as $$
  with lim as (select least(greatest(coalesce(p_limit, 1000), 1), 1000) as n),
  since as (select p_after - make_interval(secs => greatest(coalesce(p_overlap_ms, 0), 0) / 1000.0) as at),
  -- A Zoom meeting, and any traffic sent straight to an emulator, is an item made of provider
  -- exchanges, which are never updated: what happens to it later comes as webhook exchanges tied
  -- to it by its ids (a meeting's meeting.started, the events of a direct SendGrid send). Such an
  -- item counts as changed when a webhook of its channel that shares an id with it was stored, so
  -- an open meeting follows its lifecycle. Found here, when the stream reads, rather than by
  -- rewriting the exchanges on every webhook stored: the write path stays as it was.
  touched as materialized (
    select x.id, max(w.changed_at) as changed_at
      from activity_exchanges w
      join activity_exchanges x
        on x.channel = w.channel and x.kind = 'provider' and (x.direct or x.channel = 'zoom')
       and x.refs ?| array(select jsonb_array_elements_text(w.refs))
     where p_after is not null and w.kind = 'webhook' and jsonb_typeof(w.refs) = 'array'
       and w.changed_at >= (select at from since)
       and (p_channel is null or w.channel = p_channel)
     group by x.id
  ),
  recent as materialized (
    select c.*, c.channel || '/' || c.id::text as change_key from (
      select i.channel, i.id, i.direct, i.request_id, i.status, i.mode, i.fallback, i.contact, i.summary, i.provider_id,
             i.error, i.latency_ms, i.created_at, i.updated_at, greatest(i.changed_at, t.changed_at) as changed_at
        from activity_items i left join touched t on t.id = i.id
       where p_after is not null and (p_channel is null or i.channel = p_channel)
    ) c
     where c.changed_at >= (select at from since)
  ),
  fresh as (
    select * from recent where (changed_at, change_key) > (p_after, coalesce(p_after_key, ''))
     order by changed_at, change_key limit (select n from lim)
  ),
  again as (
    select * from recent where (changed_at, change_key) <= (p_after, coalesce(p_after_key, ''))
     order by changed_at desc, change_key desc limit (select n from lim)
  ),
  last as (select changed_at, change_key from fresh order by changed_at desc, change_key desc limit 1)
  select jsonb_build_object(
    'cursor', case
      when p_after is null then jsonb_build_object('at', clock_timestamp(), 'key', null)
      else coalesce((select jsonb_build_object('at', changed_at, 'key', change_key) from last),
                    jsonb_build_object('at', p_after, 'key', p_after_key))
    end,
    'items', coalesce((select jsonb_agg(to_jsonb(j) - 'change_key' order by j.changed_at, j.change_key)
                         from (select * from again union all select * from fresh) j), '[]'::jsonb))
$$;

-- Its predecessor followed updated_at, the test clock's time: nothing calls it any more.
drop function if exists activity_changes(timestamptz, text, integer);
