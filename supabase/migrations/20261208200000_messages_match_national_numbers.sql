-- The messages sent to one recipient (GET /api/admin/messages/{channel}?to=…) found by the phone
-- number however it was written. A client may send `9876543210` straight to AiSensy (which takes a
-- national number and adds India's 91) while a test asks for `+919876543210`, or the other way
-- round: two phone numbers are the same recipient when their last ten digits are, as an Indian
-- mobile number's are (an email address still matches as a whole, ignoring case).
create or replace function activity_phone_keys(p_to text) returns text[]
language sql immutable
as $$
  select case
    when length(d) > 10 then array[d, right(d, 10)]
    when length(d) = 10 then array[d, '91' || d]
    else array[d]
  end
  from (select regexp_replace(p_to, '\D', '', 'g') as d) n
$$;

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
                      and (lower(i.contact) = lower(p_to)
                           or (p_to !~ '@' and right(regexp_replace(i.contact, '\D', '', 'g'), 10) = right(regexp_replace(p_to, '\D', '', 'g'), 10)))
                    order by i.created_at desc limit 1)
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
