-- Activity's search found a WhatsApp message sent straight to AiSensy as 9876543210 by that
-- number, but not by +919876543210, the way the gateway's own rows are written: the same recipient
-- in two spellings. The messages API matched both (activity_phone_keys); the search now does too.
create or replace function activity_page(
  p_channel   text default null,
  p_q         text default null,
  p_status    text default null,
  p_direct    boolean default null,
  p_since     timestamptz default null,
  p_until     timestamptz default null,
  p_before_at timestamptz default null,
  p_before_id uuid default null,
  p_limit     integer default 50
) returns jsonb
language sql
stable
as $$
  -- A phone number (digits, +, spaces, dashes, brackets; ten digits or more) is searched by its last
  -- ten digits, so +919876543210, 919876543210 and "98765 43210" all find 9876543210 as it was sent.
  with pat as (
    select activity_like(case when p_q ~ '^\+?[0-9 ()-]+$' and length(regexp_replace(p_q, '\D', '', 'g')) >= 10
                              then right(regexp_replace(p_q, '\D', '', 'g'), 10) else p_q end) as p
  ),
  hits as (
    select e.id::text as v from activity_exchanges e, pat
     where p_q is not null and (activity_text(e.content) ilike pat.p or (e.kind <> 'webhook' and activity_text(e.contacts) ilike pat.p))
    union
    select r.v from activity_exchanges e cross join pat cross join lateral jsonb_array_elements_text(e.refs) as r(v)
     where p_q is not null and (activity_text(e.content) ilike pat.p or (e.kind <> 'webhook' and activity_text(e.contacts) ilike pat.p))
  )
  select coalesce(jsonb_agg(to_jsonb(j) order by j.created_at desc, j.id desc), '[]'::jsonb)
  from (
    select i.* from activity_items i, pat
     where (p_channel is null or i.channel = p_channel)
       and (p_status is null or i.status = p_status)
       and (p_direct is null or i.direct = p_direct)
       and (p_since is null or i.created_at >= p_since)
       and (p_until is null or i.created_at <= p_until)
       and (p_before_at is null or (i.created_at, i.id) < (p_before_at, coalesce(p_before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid)))
       and (p_q is null
            or i.contact ilike pat.p or i.summary ilike pat.p or i.id::text ilike pat.p
            or i.request_id ilike pat.p or i.provider_id ilike pat.p
            or i.id::text in (select v from hits) or i.provider_id in (select v from hits))
     order by i.created_at desc, i.id desc
     limit least(greatest(coalesce(p_limit, 50), 1), 1000)
  ) j
$$;
