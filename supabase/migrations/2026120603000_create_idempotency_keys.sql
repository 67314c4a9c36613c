-- Idempotency keys (Stripe's semantics) for every POST that sends, creates or pays, at the
-- gateway and at the services. One row per (scope, key): the scope names the caller and the route,
-- so two callers never see each other's answers. A row is first 'running' (claimed by one request,
-- under a lease so a crashed process does not pin the key forever), then 'done' with the answer
-- kept for replay. Rows live 24 h (expires_at), then count as absent and are purged.
create table if not exists idempotency_keys (
  id               uuid primary key default gen_random_uuid(),
  scope            text not null,
  idem_key         text not null,
  -- sha256 of the request (method, URL, canonical body): the same key with another request is a 422.
  fingerprint      text not null,
  state            text not null check (state in ('running', 'done')),
  -- The claiming request; only it may complete or release the claim.
  owner            uuid not null,
  locked_until     timestamptz,
  response_status  integer,
  response_headers jsonb,
  response_body    text,
  created_at       timestamptz not null default now(),
  completed_at     timestamptz,
  expires_at       timestamptz not null,
  unique (scope, idem_key)
);
create index if not exists idempotency_keys_expires_at_idx on idempotency_keys (expires_at);

-- Claims a key atomically (one INSERT … ON CONFLICT): a new key, an expired one, or a running one
-- whose lease ran out (its process died) with the same request, is claimed by p_owner. Otherwise
-- says what is there: the same request still running, the same request done (with its answer),
-- or another request under this key.
create or replace function claim_idempotency_key(
  p_scope text, p_key text, p_fingerprint text, p_owner uuid, p_lease_seconds integer, p_ttl_seconds integer
) returns jsonb language plpgsql as $$
declare
  r idempotency_keys;
begin
  for attempt in 1..3 loop
    insert into idempotency_keys (scope, idem_key, fingerprint, state, owner, locked_until, expires_at)
    values (p_scope, p_key, p_fingerprint, 'running', p_owner,
            now() + make_interval(secs => p_lease_seconds), now() + make_interval(secs => p_ttl_seconds))
    on conflict (scope, idem_key) do update
      set fingerprint = excluded.fingerprint, state = 'running', owner = excluded.owner,
          locked_until = excluded.locked_until, expires_at = excluded.expires_at, created_at = now(),
          completed_at = null, response_status = null, response_headers = null, response_body = null
      where idempotency_keys.expires_at <= now()
         or (idempotency_keys.state = 'running' and idempotency_keys.locked_until <= now()
             and idempotency_keys.fingerprint = excluded.fingerprint)
    returning * into r;
    if found then
      return jsonb_build_object('outcome', 'claimed');
    end if;
    select * into r from idempotency_keys where scope = p_scope and idem_key = p_key;
    -- Gone between the two statements (purged or released): claim again.
    continue when not found;
    if r.fingerprint <> p_fingerprint then
      return jsonb_build_object('outcome', 'mismatch', 'created_at', r.created_at);
    end if;
    if r.state = 'running' then
      return jsonb_build_object('outcome', 'running', 'created_at', r.created_at);
    end if;
    return jsonb_build_object('outcome', 'done', 'created_at', r.created_at, 'status', r.response_status,
                              'headers', r.response_headers, 'body', r.response_body);
  end loop;
  raise exception 'idempotency key % could not be claimed', p_key using errcode = '40001';
end
$$;

-- Keeps the answer of the request that holds the claim. Returns whether it still held it.
create or replace function complete_idempotency_key(
  p_scope text, p_key text, p_owner uuid, p_status integer, p_headers jsonb, p_body text
) returns boolean language sql as $$
  with done as (
    update idempotency_keys
       set state = 'done', locked_until = null, completed_at = now(),
           response_status = p_status, response_headers = p_headers, response_body = p_body
     where scope = p_scope and idem_key = p_key and owner = p_owner and state = 'running'
    returning 1
  )
  select exists (select 1 from done)
$$;

-- Gives a claim up (a 5xx, a request that never answered): a retry with the key runs again.
create or replace function release_idempotency_key(p_scope text, p_key text, p_owner uuid)
returns boolean language sql as $$
  with gone as (
    delete from idempotency_keys
     where scope = p_scope and idem_key = p_key and owner = p_owner and state = 'running'
    returning 1
  )
  select exists (select 1 from gone)
$$;

create or replace function purge_idempotency_keys() returns integer language sql as $$
  with gone as (delete from idempotency_keys where expires_at <= now() returning 1)
  select count(*)::integer from gone
$$;
