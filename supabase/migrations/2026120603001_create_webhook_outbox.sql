-- Webhooks the emulators post, kept until the receiver acknowledges them (2xx): written before the
-- first attempt, retried with the provider's backoff (kept per row, so a restart keeps the
-- schedule), taken up after a restart or by another instance, and given up with the reason
-- recorded after the last attempt. A row is claimed by one sender at a time under a lease.
create table if not exists webhook_outbox (
  id              uuid primary key default gen_random_uuid(),
  -- The service whose sender delivers it (email, whatsapp, payments, voice, zoom).
  source          text not null,
  label           text not null,
  url             text not null,
  headers         jsonb not null default '{}'::jsonb,
  body            text not null,
  body_encoding   text not null default 'utf8' check (body_encoding in ('utf8', 'base64')),
  -- Milliseconds before each retry after the first attempt, e.g. [1000, 5000, 25000].
  retry_delays_ms jsonb not null default '[]'::jsonb,
  status          text not null default 'pending' check (status in ('pending', 'delivering', 'delivered', 'gave_up')),
  -- Attempts started so far (a claim starts one).
  attempts        integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  locked_by       text,
  locked_until    timestamptz,
  last_error      text,
  last_attempt_at timestamptz,
  delivered_at    timestamptz,
  gave_up_at      timestamptz,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now()
);
create index if not exists webhook_outbox_due_idx on webhook_outbox (source, next_attempt_at) where status in ('pending', 'delivering');

-- Stores a webhook already claimed by its sender, which attempts it at once. Returns its id.
create or replace function enqueue_webhook(
  p_source text, p_label text, p_url text, p_headers jsonb, p_body text, p_body_encoding text,
  p_retry_delays_ms jsonb, p_owner text, p_lease_ms integer
) returns uuid language sql as $$
  insert into webhook_outbox (source, label, url, headers, body, body_encoding, retry_delays_ms, status, attempts,
                              locked_by, locked_until, last_attempt_at)
  values (p_source, p_label, p_url, p_headers, p_body, p_body_encoding, p_retry_delays_ms, 'delivering', 1,
          p_owner, now() + p_lease_ms * interval '1 millisecond', now())
  returning id
$$;

-- Claims up to p_limit rows due now: pending ones whose retry time has come and that nobody holds,
-- and attempts whose sender died (its lease ran out). Row locks with SKIP LOCKED, so senders on
-- one database never claim the same row; each claim starts an attempt.
create or replace function claim_due_webhooks(p_source text, p_owner text, p_limit integer, p_lease_ms integer)
returns jsonb language sql as $$
  with due as (
    select id from webhook_outbox
     where source = p_source
       and ((status = 'pending' and next_attempt_at <= now() and (locked_until is null or locked_until <= now()))
         or (status = 'delivering' and locked_until <= now()))
     order by next_attempt_at
     limit p_limit
     for update skip locked
  ), claimed as (
    update webhook_outbox w
       set status = 'delivering', attempts = w.attempts + 1, locked_by = p_owner,
           locked_until = now() + p_lease_ms * interval '1 millisecond', last_attempt_at = now(), updated_at = now()
      from due where w.id = due.id
    returning w.id, w.label, w.url, w.headers, w.body, w.body_encoding, w.attempts
  )
  select coalesce(jsonb_agg(to_jsonb(claimed)), '[]'::jsonb) from claimed
$$;

-- The sender that holds a row (waiting for its retry) starts the next attempt itself.
create or replace function start_webhook_attempt(p_id uuid, p_owner text, p_lease_ms integer)
returns boolean language sql as $$
  with started as (
    update webhook_outbox
       set status = 'delivering', attempts = attempts + 1, locked_until = now() + p_lease_ms * interval '1 millisecond',
           last_attempt_at = now(), updated_at = now()
     where id = p_id and locked_by = p_owner and status = 'pending'
    returning 1
  )
  select exists (select 1 from started)
$$;

-- Records an attempt's outcome (p_error null: delivered). A failure schedules the next retry from
-- the row's own delays, holding the row for this sender until then (plus a lease, so another
-- sender takes it over if this one dies), or gives up after the last. Returns the new state, or
-- null when this sender no longer held the row.
create or replace function finish_webhook_attempt(p_id uuid, p_owner text, p_error text, p_lease_ms integer)
returns jsonb language plpgsql as $$
declare
  r webhook_outbox;
  delay integer;
begin
  select * into r from webhook_outbox where id = p_id and locked_by = p_owner and status = 'delivering' for update;
  if not found then
    return null;
  end if;
  if p_error is null then
    update webhook_outbox
       set status = 'delivered', delivered_at = now(), locked_by = null, locked_until = null, last_error = null, updated_at = now()
     where id = p_id;
    return jsonb_build_object('status', 'delivered', 'attempts', r.attempts);
  end if;
  delay := (r.retry_delays_ms ->> (r.attempts - 1))::integer;
  if delay is null then
    update webhook_outbox
       set status = 'gave_up', gave_up_at = now(), locked_by = null, locked_until = null, last_error = p_error, updated_at = now()
     where id = p_id;
    return jsonb_build_object('status', 'gave_up', 'attempts', r.attempts);
  end if;
  update webhook_outbox
     set status = 'pending', next_attempt_at = now() + delay * interval '1 millisecond',
         locked_until = now() + (delay + p_lease_ms) * interval '1 millisecond', last_error = p_error, updated_at = now()
   where id = p_id;
  return jsonb_build_object('status', 'pending', 'attempts', r.attempts, 'retry_in_ms', delay);
end
$$;

-- A sender closing lets go of the rows it was holding for a retry, so the next start (or another
-- instance) takes them at their retry time instead of after the lease.
create or replace function release_webhooks(p_owner text) returns integer language sql as $$
  with released as (
    update webhook_outbox set locked_by = null, locked_until = null, updated_at = now()
     where locked_by = p_owner and status = 'pending'
    returning 1
  )
  select count(*)::integer from released
$$;

-- Delivered rows are kept a while for inspection, then dropped; given-up rows longer.
create or replace function purge_webhook_outbox(p_delivered_seconds integer, p_gave_up_seconds integer)
returns integer language sql as $$
  with gone as (
    delete from webhook_outbox
     where (status = 'delivered' and delivered_at <= now() - make_interval(secs => p_delivered_seconds))
        or (status = 'gave_up' and gave_up_at <= now() - make_interval(secs => p_gave_up_seconds))
    returning 1
  )
  select count(*)::integer from gone
$$;
