-- Webhook replay protection. A provider's event, identified by what the provider itself makes
-- unique (SendGrid's sg_event_id; Zoom's event, event_ts and object id), is applied once within its
-- signature window: a captured, correctly signed post sent again inside that window is dropped.
-- In the database, not in memory, so two instances of a service behind one gateway agree.
create table if not exists webhook_receipts (
  provider text not null,
  event_key text not null,
  expires_at timestamptz not null,
  primary key (provider, event_key)
);
create index if not exists webhook_receipts_expires_at on webhook_receipts (expires_at);

-- Claims the keys not seen before (or seen only longer ago than their window) and returns them as
-- a JSON array; a key missing from the answer is a replay. Expired receipts are removed on the way,
-- so the table holds at most one window of events.
create or replace function claim_webhook_receipts(p_provider text, p_keys jsonb, p_ttl_seconds integer)
returns jsonb
language plpgsql
as $$
declare
  claimed jsonb;
begin
  delete from webhook_receipts where provider = p_provider and expires_at < now();
  with c as (
    insert into webhook_receipts (provider, event_key, expires_at)
    select distinct p_provider, k, now() + make_interval(secs => p_ttl_seconds)
    from jsonb_array_elements_text(p_keys) as k
    on conflict (provider, event_key) do nothing
    returning event_key
  )
  select coalesce(jsonb_agg(event_key), '[]'::jsonb) into claimed from c;
  return claimed;
end
$$;
