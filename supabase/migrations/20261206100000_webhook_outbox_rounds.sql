-- One call per round of a webhook sender instead of two or three per webhook: the webhooks it
-- stores now (already claimed by it, attempted as soon as the call returns) and the outcomes of
-- the attempts it made since the last round, as two JSON arrays. Each is one statement for all
-- its rows. The guarantees are enqueue_webhook's and finish_webhook_attempt's: a row is written
-- before its first attempt, and only the sender holding a row records its outcome.
--
-- p_new:      [{ "id", "label", "url", "headers", "body", "body_encoding" }] (ids made by the sender)
-- p_finished: [{ "id", "error" }]  (error null: delivered)
-- Returns the outcomes of the failed attempts still held: [{ "id", "status", "attempts", "retry_in_ms" }]
-- (status 'pending' with the delay before the next attempt, or 'gave_up'); a failed attempt whose
-- row this sender no longer held is not in it. Delivered ones are not returned (nothing to do).
create or replace function webhook_outbox_round(
  p_source text, p_owner text, p_lease_ms integer, p_retry_delays_ms jsonb, p_new jsonb, p_finished jsonb
) returns jsonb language plpgsql as $$
declare
  outcomes jsonb := '[]'::jsonb;
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
             next_attempt_at = case when f.error is not null and (w.retry_delays_ms ->> (w.attempts - 1)) is not null
                                    then now() + (w.retry_delays_ms ->> (w.attempts - 1))::integer * interval '1 millisecond'
                                    else w.next_attempt_at end,
             -- A row waiting for its retry stays this sender's until then (plus a lease).
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
