-- What was sent, as the provider saw it (issue #22). One row per HTTP exchange with a provider
-- emulator (kind 'provider'), per post Switchboard's webhook receivers got (kind 'webhook', with
-- whether the signature was accepted), and per step a buyer took on the emulated checkout page
-- (kind 'checkout'). Headers and bodies are stored with secrets redacted and capped in size.
--
-- An exchange is tied to log rows by `refs`: every id it carried (the log row's id in SendGrid's
-- custom args, provider message ids, execution ids, payment request ids), so one bulk request is
-- stored once for all its rows. `content` is what was sent in a form a person reads (an email's
-- subject, text, HTML and attachments; a WhatsApp template rendered with its params...), made by
-- the emulator before any cap was applied. `direct` marks traffic a client sent straight to an
-- emulator (an official SDK, curl) rather than through Switchboard's API.
create table if not exists activity_exchanges (
  id           uuid primary key,
  channel      text not null check (channel in ('email', 'whatsapp', 'payments', 'voice', 'zoom')),
  kind         text not null check (kind in ('provider', 'webhook', 'checkout')),
  direct       boolean not null default false,
  method       text not null,
  path         text not null,
  status_code  integer,
  latency_ms   integer,
  provider_id  text,
  refs         jsonb not null default '[]'::jsonb,
  contacts     jsonb not null default '[]'::jsonb,
  summary      text,
  request      jsonb not null default '{}'::jsonb,
  response     jsonb not null default '{}'::jsonb,
  content      jsonb,
  event        text,
  verification jsonb,
  truncated    boolean not null default false,
  created_at   timestamptz not null default now()
);
create index if not exists activity_exchanges_created_at_idx on activity_exchanges (created_at desc, id desc);
create index if not exists activity_exchanges_refs_idx on activity_exchanges using gin (refs);
create index if not exists activity_exchanges_contacts_idx on activity_exchanges using gin (contacts);

-- Every item the Activity view lists: the four logs' rows, and the exchanges that have no row of
-- their own (direct traffic, and Zoom, which keeps no log table).
create or replace view activity_items as
  select 'email'::text as channel, id, false as direct, request_id, status, mode, fallback,
         to_email as contact, subject as summary, provider_message_id as provider_id, error, latency_ms,
         created_at, updated_at
    from email_logs
  union all
  select 'whatsapp', id, false, request_id, status, mode, fallback, to_number, template_name,
         provider_message_id, error, latency_ms, created_at, updated_at
    from whatsapp_logs
  union all
  select 'payments', id, false, request_id, status, mode, false, coalesce(email, phone, buyer_name, ''),
         purpose || ' (INR ' || amount::text || ')', payment_request_id, error, latency_ms, created_at, updated_at
    from payments
  union all
  select 'voice', id, false, request_id, status, mode, fallback, to_number, coalesce(script_id, agent_id),
         execution_id, error, latency_ms, created_at, updated_at
    from call_logs
  union all
  select channel, id, direct, null, coalesce(status_code::text, 'no answer'), 'mock', false,
         contacts->>0, summary, provider_id,
         case when status_code is null or status_code >= 400 then 'HTTP ' || coalesce(status_code::text, 'no answer') end,
         latency_ms, created_at, created_at
    from activity_exchanges
   where kind = 'provider' and (direct or channel = 'zoom');

-- A LIKE pattern matching `q` anywhere, its wildcards taken literally.
create or replace function activity_like(q text) returns text
language sql immutable
as $$ select '%' || replace(replace(replace(q, '\', '\\'), '%', '\%'), '_', '\_') || '%' $$;

-- One page of items, newest first, keyset-paged by (created_at, id). `p_q` matches the item's
-- contact, summary and ids, and the content of the exchanges tied to it (a webhook post by its
-- content only: one SendGrid post carries the events of many messages, and their recipients).
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
     where p_q is not null and (e.content::text ilike pat.p or (e.kind <> 'webhook' and e.contacts::text ilike pat.p))
    union
    select r.v from activity_exchanges e cross join pat cross join lateral jsonb_array_elements_text(e.refs) as r(v)
     where p_q is not null and (e.content::text ilike pat.p or (e.kind <> 'webhook' and e.contacts::text ilike pat.p))
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

-- Items created or changed after p_after, oldest change first (the live stream's poll).
create or replace function activity_changes(
  p_after   timestamptz,
  p_channel text default null,
  p_limit   integer default 200
) returns jsonb
language sql
stable
as $$
  select coalesce(jsonb_agg(to_jsonb(j) order by j.updated_at, j.id), '[]'::jsonb)
  from (
    select * from activity_items
     where updated_at > p_after and (p_channel is null or channel = p_channel)
     order by updated_at, id
     limit least(greatest(coalesce(p_limit, 200), 1), 1000)
  ) j
$$;

-- The exchanges tied to any of the ids (an item's own id, its provider ids), oldest first.
create or replace function activity_exchanges_for(p_refs jsonb, p_limit integer default 200)
returns jsonb
language sql
stable
as $$
  select coalesce(jsonb_agg(to_jsonb(e) order by e.created_at, e.id), '[]'::jsonb)
  from (
    select * from activity_exchanges
     where refs ?| array(select jsonb_array_elements_text(p_refs))
        or id::text in (select jsonb_array_elements_text(p_refs))
     order by created_at, id
     limit least(greatest(coalesce(p_limit, 200), 1), 1000)
  ) e
$$;

-- The messages sent to one recipient on a channel, newest first: the accepted provider request
-- with its content, and the log row it belongs to when it came through Switchboard's API.
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
                           or (p_to !~ '@' and regexp_replace(i.contact, '\D', '', 'g') = regexp_replace(p_to, '\D', '', 'g')))
                    order by i.created_at desc limit 1)
         ) order by e.created_at desc, e.id desc), '[]'::jsonb)
  from (
    select * from activity_exchanges
     where channel = p_channel and kind = 'provider' and content is not null
       and status_code between 200 and 299
       and (contacts ? lower(p_to) or (p_to !~ '@' and contacts ? regexp_replace(p_to, '\D', '', 'g')))
       and (p_since is null or created_at >= p_since)
     order by created_at desc, id desc
     limit least(greatest(coalesce(p_limit, 1), 1), 100)
  ) e
$$;
