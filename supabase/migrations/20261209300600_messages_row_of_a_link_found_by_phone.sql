-- A payment link made with both an email and a phone is one row whose contact is the email: asked
-- for by the phone (?to=9876543210), its exchange was found (the phone is among its contacts) but
-- not its row, so the item came back as the raw exchange, "201" and still pending, after it was
-- paid. The row is now the exchange's own: the one whose contact is the recipient asked for, else
-- (not for email, where one exchange makes a row per `to` and a cc'd address has none of its own)
-- the one the exchange made.
create or replace function activity_messages(
  p_channel text,
  p_to      text,
  p_since   timestamptz default null,
  p_limit   integer default 1
) returns jsonb
language sql
stable
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'exchange', to_jsonb(e) - 'request' - 'response',
           'row', (select to_jsonb(i) from activity_items i
                    where i.channel = e.channel and not i.direct
                      and (i.id::text in (select jsonb_array_elements_text(e.refs)) or i.provider_id in (select jsonb_array_elements_text(e.refs)))
                      and (e.channel <> 'email' or lower(i.contact) = lower(p_to))
                    order by (lower(i.contact) = lower(p_to)
                              or (p_to !~ '@' and right(regexp_replace(i.contact, '\D', '', 'g'), 10) = right(regexp_replace(p_to, '\D', '', 'g'), 10))) is true desc,
                             i.created_at desc
                    limit 1)
         ) order by e.created_at desc, e.id desc), '[]'::jsonb)
  from (
    select * from activity_exchanges
     where channel = p_channel and kind = 'provider' and content is not null
       and status_code between 200 and 299
       and (contacts ? lower(p_to) or (p_to !~ '@' and contacts ?| activity_phone_keys(p_to)))
       and (p_since is null or created_at >= p_since)
     order by created_at desc, id desc
     limit least(greatest(coalesce(p_limit, 1), 1), 100)
  ) e
$$;
