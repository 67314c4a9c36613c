-- A retry after a crash found no trace of the work its first attempt had stored: a bulk send or a
-- campaign created under an Idempotency-Key, whose process died before answering, was created and
-- sent a second time once the key's lease ran out (176 of 300 recipients got the email twice).
-- The claim now answers with the key row's id, which a request that creates a job uses as the
-- job's id: a takeover of the same request (same key, same body, lease run out) keeps the row and
-- its id, so the retry finds the job stored (job_create: created false) and answers with it. An
-- expired key (24 h) is a new key: it gets a new id, and its request new work.
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
      set id = case when idempotency_keys.expires_at <= now() then gen_random_uuid() else idempotency_keys.id end,
          fingerprint = excluded.fingerprint, state = 'running', owner = excluded.owner,
          locked_until = excluded.locked_until, expires_at = excluded.expires_at, created_at = now(),
          completed_at = null, response_status = null, response_headers = null, response_body = null
      where idempotency_keys.expires_at <= now()
         or (idempotency_keys.state = 'running' and idempotency_keys.locked_until <= now()
             and idempotency_keys.fingerprint = excluded.fingerprint)
    returning * into r;
    if found then
      return jsonb_build_object('outcome', 'claimed', 'id', r.id);
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
