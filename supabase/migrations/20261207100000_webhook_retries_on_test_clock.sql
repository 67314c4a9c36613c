-- Webhook retries fall due on the emulators' test clock (issue 24): a sender passes the clock's
-- time as p_now (null at real time: the database's now(), as before), and a failed attempt's next
-- retry is due at p_now + its delay, claimed once p_now reaches it. While the clock is frozen a
-- retry waits until a test advances it past the backoff; a clock set back (a data set's history)
-- does not make retries due early. What stays on the database's time: leases (a sender that died
-- is taken over after real time), first attempts of rows stored pending (Switchboard's own events,
-- fan_out_events: due when stored), and the delivered/given-up stamps the purge measures.
--
-- The functions gain a trailing p_now with a default, so a call without it (an instance not yet
-- upgraded) still resolves; the old signatures are dropped first so no call is ambiguous.
drop function if exists webhook_outbox_round(text, text, integer, jsonb, jsonb, jsonb);
drop function if exists claim_due_webhooks(text, text, integer, integer);

create or replace function webhook_outbox_round(
  p_source text, p_owner text, p_lease_ms integer, p_retry_delays_ms jsonb, p_new jsonb, p_finished jsonb,
  p_now timestamptz default null
) returns jsonb language plpgsql as $$
declare
  outcomes jsonb := '[]'::jsonb;
  due_base timestamptz := coalesce(p_now, now());
begin
  if p_finished is not null and jsonb_array_length(p_finished) > 0 then
    with f as (
      select (e ->> 'id')::uuid as id, e ->> 'error' as error from jsonb_array_elements(p_finished) e
    ), moved as (
      update webhook_outbox w
         set status = case when f.error is null then 'delivered'
                           when (w.retry_delays_ms ->> (w.attempts - 1)) is null then 'gave_up'
                           else 'pending' end,
             delivered_at = case when f.error is null then now() else w.delivered_at end,
             gave_up_at = case when f.error is not null and (w.retry_delays_ms ->> (w.attempts - 1)) is null then now() else w.gave_up_at end,
             -- The retry is due on the sender's clock.
             next_attempt_at = case when f.error is not null and (w.retry_delays_ms ->> (w.attempts - 1)) is not null
                                    then due_base + (w.retry_delays_ms ->> (w.attempts - 1))::integer * interval '1 millisecond'
                                    else w.next_attempt_at end,
             -- A row waiting for its retry stays this sender's until then (plus a lease), in real time.
             locked_by = case when f.error is not null and (w.retry_delays_ms ->> (w.attempts - 1)) is not null then w.locked_by else null end,
             locked_until = case when f.error is not null and (w.retry_delays_ms ->> (w.attempts - 1)) is not null
                                 then now() + ((w.retry_delays_ms ->> (w.attempts - 1))::integer + p_lease_ms) * interval '1 millisecond'
                                 else null end,
             last_error = f.error,
             updated_at = now()
        from f
       where w.id = f.id and w.locked_by = p_owner and w.status = 'delivering'
      returning w.id, w.status, w.attempts, (w.retry_delays_ms ->> (w.attempts - 1))::integer as delay
    )
    select coalesce(jsonb_agg(jsonb_build_object('id', id, 'status', status, 'attempts', attempts, 'retry_in_ms', delay)), '[]'::jsonb)
      into outcomes
      from moved where status <> 'delivered';
  end if;
  if p_new is not null and jsonb_array_length(p_new) > 0 then
    insert into webhook_outbox (id, source, label, url, headers, body, body_encoding, retry_delays_ms, status, attempts,
                                locked_by, locked_until, last_attempt_at)
    select r.id, p_source, r.label, r.url, coalesce(r.headers, '{}'::jsonb), r.body, coalesce(r.body_encoding, 'utf8'),
           p_retry_delays_ms, 'delivering', 1, p_owner, now() + p_lease_ms * interval '1 millisecond', now()
      from jsonb_to_recordset(p_new) as r(id uuid, label text, url text, headers jsonb, body text, body_encoding text);
  end if;
  return outcomes;
end
$$;

-- As before, with retries (attempts already made) due on the sender's clock: a pending row that
-- was attempted is due once p_now reaches its next_attempt_at; one never attempted (stored
-- pending, as events are) once the database's now() does. The first bound keeps the index usable.
create or replace function claim_due_webhooks(p_source text, p_owner text, p_limit integer, p_lease_ms integer, p_now timestamptz default null)
returns jsonb language sql as $$
  with due as (
    select id from webhook_outbox
     where source = p_source
       and ((status = 'pending' and next_attempt_at <= greatest(now(), coalesce(p_now, now()))
             and (attempts = 0 or next_attempt_at <= coalesce(p_now, now()))
             and (locked_until is null or locked_until <= now()))
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
