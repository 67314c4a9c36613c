-- Events to the team's app: endpoints a team registers (admin API, admin page or the
-- SWITCHBOARD_EVENTS_URL environment variable), and one normalised event per outcome
-- (email.delivered, payment.paid, call.completed, ...) fanned out into the durable webhook outbox
-- (source 'events') in the same statement that moves the row's status. The gateway's events
-- sender signs each attempt in the Standard Webhooks format and posts it with the outbox's backoff.
--
-- Cost: while no endpoint is enabled, the status tables carry no trigger at all (the writes are
-- exactly what they were). Enabling the first endpoint creates statement-level triggers with
-- transition tables, so one group commit of 200 status moves runs the fan-out once, as one
-- INSERT ... SELECT; disabling or deleting the last one drops them again.
create table if not exists event_endpoints (
  id          uuid primary key default gen_random_uuid(),
  url         text not null,
  -- The whsec_ signing secret. Shown once when the endpoint is created; no function below returns
  -- it except event_endpoint_secrets (for the signer), and it is never copied into another row.
  secret      text not null,
  -- Event types delivered to this endpoint; empty: every type.
  types       text[] not null default '{}',
  description text not null default '',
  enabled     boolean not null default true,
  -- 'env': the one endpoint SWITCHBOARD_EVENTS_URL configures (kept in step by the gateway at start).
  origin      text not null default 'admin' check (origin in ('admin', 'env')),
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);
create unique index if not exists event_endpoints_env_idx on event_endpoints (origin) where origin = 'env';

-- An endpoint as answers show it: never the secret.
create or replace function event_endpoint_view(e event_endpoints) returns jsonb language sql immutable as $$
  select jsonb_build_object('id', e.id, 'url', e.url, 'types', to_jsonb(e.types), 'description', e.description,
                            'enabled', e.enabled, 'origin', e.origin, 'created_at', e.created_at, 'updated_at', e.updated_at)
$$;

-- The event type a row's status means, or null for a status that is no outcome (queued, sent to
-- the provider, ringing, ...). The names are the issue's: email.delivered, whatsapp.read,
-- payment.paid, call.completed, call.no-answer.
create or replace function event_type_for(p_table text, p_status text) returns text language sql immutable as $$
  select case p_table
    when 'email_logs' then case when p_status in ('delivered', 'bounced', 'dropped', 'deferred', 'opened', 'clicked', 'spam_report', 'unsubscribed', 'failed') then 'email.' || p_status end
    when 'whatsapp_logs' then case when p_status in ('sent', 'delivered', 'read', 'failed') then 'whatsapp.' || p_status end
    when 'payments' then case when p_status in ('paid', 'failed') then 'payment.' || p_status end
    when 'call_logs' then case when p_status in ('completed', 'balance-low', 'busy', 'no-answer', 'canceled', 'failed', 'stopped', 'error') then 'call.' || p_status end
  end
$$;

-- Retries after the first attempt: 5 s, 30 s, 2 min. Each attempt's signature is made when the
-- attempt is claimed, and Standard Webhooks receivers accept 5 minutes of skew, so the schedule a
-- sender keeps in memory stays inside that window; a row taken up after a restart is signed anew.
create or replace function event_retry_delays_ms() returns jsonb language sql immutable as $$
  select '[5000, 30000, 120000]'::jsonb
$$;

-- Fans events out to every enabled endpoint that wants their type: one outbox row per (event,
-- endpoint), the event's id shared by its copies (webhook-id). p_events: [{type, timestamp, data}].
create or replace function fan_out_events(p_events jsonb) returns integer language sql as $$
  with ev as materialized (
    select 'msg_' || replace(gen_random_uuid()::text, '-', '') as event_id, e.value as event
      from jsonb_array_elements(p_events) e
     where e.value ->> 'type' is not null
  ), ins as (
    insert into webhook_outbox (source, label, url, headers, body, body_encoding, retry_delays_ms, status, attempts, next_attempt_at)
    select 'events', 'events:' || p.id || ':' || (ev.event ->> 'type'), p.url,
           jsonb_build_object('content-type', 'application/json', 'webhook-id', ev.event_id, 'user-agent', 'Switchboard-Events/1'),
           jsonb_build_object('type', ev.event -> 'type', 'timestamp', ev.event -> 'timestamp', 'data', ev.event -> 'data')::text,
           'utf8', event_retry_delays_ms(), 'pending', 0, now()
      from ev join event_endpoints p
        on p.enabled and (cardinality(p.types) = 0 or (ev.event ->> 'type') = any (p.types))
    returning 1
  )
  select count(*)::integer from ins
$$;

-- The triggers below: for the rows of one statement whose status reached an outcome, one outbox
-- row per (event, endpoint that is enabled and wants its type), the event's id shared by its
-- copies. Set-based, and a row is turned into JSON only when some endpoint wants its event.
-- Called by the status tables' triggers (present only while an endpoint is enabled): the rows
-- whose status actually moved (a late or repeated webhook moves nothing and emits nothing).
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
         jsonb_build_object('type', w.type, 'timestamp', now(), 'data', to_jsonb(n))::text,
         'utf8', event_retry_delays_ms(), 'pending', 0, now()
    from wanted w join new_rows n on n.id = w.id
    join event_endpoints p on p.enabled and (cardinality(p.types) = 0 or w.type = any (p.types));
  return null;
end
$$;

-- A row written already at an outcome (a send the provider refused at once: failed).
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
         jsonb_build_object('type', w.type, 'timestamp', now(), 'data', to_jsonb(n))::text,
         'utf8', event_retry_delays_ms(), 'pending', 0, now()
    from wanted w join new_rows n on n.id = w.id
    join event_endpoints p on p.enabled and (cardinality(p.types) = 0 or w.type = any (p.types));
  return null;
end
$$;

-- Creates the status tables' triggers while an endpoint is enabled and drops them otherwise.
-- Security definer: the table owner's right to create triggers, also when called through
-- PostgREST (Supabase) as the service role.
create or replace function sync_event_triggers() returns boolean language plpgsql security definer set search_path = public, pg_catalog as $$
declare
  wanted boolean := exists (select 1 from event_endpoints where enabled);
  t text;
begin
  foreach t in array array['email_logs', 'whatsapp_logs', 'payments', 'call_logs'] loop
    if wanted then
      -- Another session may create them at the same moment: its trigger is as good as ours.
      begin
        if not exists (select 1 from pg_trigger where tgrelid = t::regclass and tgname = t || '_events_update') then
          execute format('create trigger %I after update on %I referencing old table as old_rows new table as new_rows for each statement execute function status_events_on_update()', t || '_events_update', t);
        end if;
        if not exists (select 1 from pg_trigger where tgrelid = t::regclass and tgname = t || '_events_insert') then
          execute format('create trigger %I after insert on %I referencing new table as new_rows for each statement execute function status_events_on_insert()', t || '_events_insert', t);
        end if;
      exception when duplicate_object then
        null;
      end;
    else
      if exists (select 1 from pg_trigger where tgrelid = t::regclass and tgname = t || '_events_update') then
        execute format('drop trigger if exists %I on %I', t || '_events_update', t);
      end if;
      if exists (select 1 from pg_trigger where tgrelid = t::regclass and tgname = t || '_events_insert') then
        execute format('drop trigger if exists %I on %I', t || '_events_insert', t);
      end if;
    end if;
  end loop;
  return wanted;
end
$$;

-- Every change of the endpoints keeps the triggers in step (one place, whoever changed them).
create or replace function event_endpoints_changed() returns trigger language plpgsql as $$
begin
  perform sync_event_triggers();
  return null;
end
$$;
drop trigger if exists event_endpoints_sync on event_endpoints;
create trigger event_endpoints_sync after insert or update or delete on event_endpoints
  for each statement execute function event_endpoints_changed();

create or replace function list_event_endpoints() returns jsonb language sql stable as $$
  select coalesce(jsonb_agg(event_endpoint_view(e) order by e.created_at, e.id), '[]'::jsonb) from event_endpoints e
$$;

create or replace function get_event_endpoint(p_id uuid) returns jsonb language sql stable as $$
  select event_endpoint_view(e) from event_endpoints e where e.id = p_id
$$;

-- Returns the endpoint without its secret: the caller generated the secret and shows it once.
create or replace function create_event_endpoint(p_url text, p_secret text, p_types jsonb, p_description text, p_enabled boolean)
returns jsonb language sql as $$
  insert into event_endpoints (url, secret, types, description, enabled)
  values (p_url, p_secret, array(select jsonb_array_elements_text(coalesce(p_types, '[]'::jsonb))), coalesce(p_description, ''), coalesce(p_enabled, true))
  returning event_endpoint_view(event_endpoints)
$$;

-- Changes only what is given (null: unchanged). Deliveries not yet made follow a new URL.
create or replace function update_event_endpoint(p_id uuid, p_url text, p_types jsonb, p_description text, p_enabled boolean)
returns jsonb language plpgsql as $$
declare
  r event_endpoints;
begin
  update event_endpoints
     set url = coalesce(p_url, url),
         types = case when p_types is null then types else array(select jsonb_array_elements_text(p_types)) end,
         description = coalesce(p_description, description),
         enabled = coalesce(p_enabled, enabled),
         updated_at = now()
   where id = p_id
  returning * into r;
  if not found then
    return null;
  end if;
  if p_url is not null then
    update webhook_outbox set url = r.url, updated_at = now()
     where source = 'events' and label like 'events:' || p_id || ':%' and status in ('pending', 'delivering');
  end if;
  return event_endpoint_view(r);
end
$$;

-- Deletes the endpoint and the deliveries to it not yet made. True when it existed.
create or replace function delete_event_endpoint(p_id uuid) returns boolean language plpgsql as $$
begin
  delete from webhook_outbox where source = 'events' and label like 'events:' || p_id || ':%' and status in ('pending', 'delivering');
  delete from event_endpoints where id = p_id;
  return found;
end
$$;

-- The endpoint SWITCHBOARD_EVENTS_URL names: created, updated or (p_url null) removed.
create or replace function put_env_event_endpoint(p_url text, p_secret text, p_types jsonb) returns jsonb language plpgsql as $$
declare
  r event_endpoints;
begin
  if p_url is null then
    perform delete_event_endpoint(id) from event_endpoints where origin = 'env';
    return null;
  end if;
  select * into r from event_endpoints where origin = 'env';
  if found and r.url = p_url and r.secret = p_secret and r.types = array(select jsonb_array_elements_text(coalesce(p_types, '[]'::jsonb))) and r.enabled then
    return event_endpoint_view(r);
  end if;
  insert into event_endpoints (url, secret, types, description, origin)
  values (p_url, p_secret, array(select jsonb_array_elements_text(coalesce(p_types, '[]'::jsonb))), 'SWITCHBOARD_EVENTS_URL', 'env')
  on conflict (origin) where origin = 'env'
  do update set url = excluded.url, secret = excluded.secret, types = excluded.types, enabled = true, updated_at = now()
  returning * into r;
  return event_endpoint_view(r);
end
$$;

-- For the signer only: every endpoint's id and secret.
create or replace function event_endpoint_secrets() returns jsonb language sql stable as $$
  select coalesce(jsonb_object_agg(id, secret), '{}'::jsonb) from event_endpoints
$$;

-- The events journal: each event delivery (one per event and endpoint), newest first, with its
-- state in the outbox (pending, delivering, delivered, gave_up), attempts and last error.
create or replace function list_event_deliveries(p_endpoint uuid default null, p_type text default null, p_status text default null, p_limit integer default 100)
returns jsonb language sql stable as $$
  select coalesce(jsonb_agg(d order by d.created_at desc, d.id), '[]'::jsonb) from (
    select w.id, w.headers ->> 'webhook-id' as event_id, split_part(w.label, ':', 3) as type,
           split_part(w.label, ':', 2) as endpoint_id, w.url, w.status, w.attempts, w.last_error,
           w.next_attempt_at, w.last_attempt_at, w.delivered_at, w.gave_up_at, w.created_at,
           (w.body::jsonb) -> 'data' as data
      from webhook_outbox w
     where w.source = 'events'
       and (p_endpoint is null or w.label like 'events:' || p_endpoint || ':%')
       and (p_type is null or split_part(w.label, ':', 3) = p_type)
       and (p_status is null or w.status = p_status)
     order by w.created_at desc
     limit least(greatest(coalesce(p_limit, 100), 1), 1000)
  ) d
$$;
