-- Text search reads what was sent, not its JSON. activity_page matched `q` against content::text,
-- the JSON as PostgreSQL spells it: a quote or a backslash in an email's text is stored there as
-- \" or \\, so searching `said "yes"` or `C:\temp` found nothing, while `"`, `:` or a field name
-- ("subject", "kind") matched every item. activity_text joins the JSON's string and number values,
-- one a line, unescaped; the search matches those.
create or replace function activity_text(j jsonb) returns text
language sql immutable
as $$
  select coalesce(string_agg(v #>> '{}', E'\n'), '')
    from jsonb_path_query(coalesce(j, 'null'::jsonb), 'strict $.**') as p(v)
   where jsonb_typeof(v) in ('string', 'number')
$$;

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
  with pat as (select activity_like(p_q) as p),
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
