-- The live stream sent every Zoom item again on each Zoom webhook. An exchange item counted as
-- changed when a webhook shared any of its refs, and a Zoom account's requests and webhooks all
-- carry its host_id and account_id: one meeting's meeting.started re-sent every meeting, every
-- token request and every error ever recorded, a flood that grew with the history. A webhook now
-- changes the item whose provider id (the meeting's id, a direct send's message id) it names, as
-- the item's detail ties them; an item without one (direct traffic whose answer named no id) by
-- its refs as before, but never a Zoom item (a token request, a refused call: no meeting).
create or replace function activity_stream_changes(
  p_after      timestamptz default null,
  p_after_key  text default null,
  p_channel    text default null,
  p_limit      integer default 1000,
  p_overlap_ms integer default 5000
) returns jsonb
language sql
volatile
as $$
  with lim as (select least(greatest(coalesce(p_limit, 1000), 1), 1000) as n),
  since as (select p_after - make_interval(secs => greatest(coalesce(p_overlap_ms, 0), 0) / 1000.0) as at),
  -- A Zoom meeting, and any traffic sent straight to an emulator, is an item made of provider
  -- exchanges, which are never updated: what happens to it later comes as webhook exchanges tied
  -- to it by its ids (a meeting's meeting.started, the events of a direct SendGrid send). Such an
  -- item counts as changed when a webhook of its channel that shares an id with it was stored, so
  -- an open meeting follows its lifecycle. Found here, when the stream reads, rather than by
  -- rewriting the exchanges on every webhook stored: the write path stays as it was.
  touched as materialized (
    select x.id, max(w.changed_at) as changed_at
      from activity_exchanges w
      join activity_exchanges x
        on x.channel = w.channel and x.kind = 'provider' and (x.direct or x.channel = 'zoom')
       and (x.provider_id in (select jsonb_array_elements_text(w.refs))
            or (x.provider_id is null and x.channel <> 'zoom' and x.refs ?| array(select jsonb_array_elements_text(w.refs))))
     where p_after is not null and w.kind = 'webhook' and jsonb_typeof(w.refs) = 'array'
       and w.changed_at >= (select at from since)
       and (p_channel is null or w.channel = p_channel)
     group by x.id
  ),
  recent as materialized (
    select c.*, c.channel || '/' || c.id::text as change_key from (
      select i.channel, i.id, i.direct, i.request_id, i.status, i.mode, i.fallback, i.contact, i.summary, i.provider_id,
             i.error, i.latency_ms, i.created_at, i.updated_at, greatest(i.changed_at, t.changed_at) as changed_at
        from activity_items i left join touched t on t.id = i.id
       where p_after is not null and (p_channel is null or i.channel = p_channel)
    ) c
     where c.changed_at >= (select at from since)
  ),
  fresh as (
    select * from recent where (changed_at, change_key) > (p_after, coalesce(p_after_key, ''))
     order by changed_at, change_key limit (select n from lim)
  ),
  again as (
    select * from recent where (changed_at, change_key) <= (p_after, coalesce(p_after_key, ''))
     order by changed_at desc, change_key desc limit (select n from lim)
  ),
  last as (select changed_at, change_key from fresh order by changed_at desc, change_key desc limit 1)
  select jsonb_build_object(
    'cursor', case
      when p_after is null then jsonb_build_object('at', clock_timestamp(), 'key', null)
      else coalesce((select jsonb_build_object('at', changed_at, 'key', change_key) from last),
                    jsonb_build_object('at', p_after, 'key', p_after_key))
    end,
    'items', coalesce((select jsonb_agg(to_jsonb(j) - 'change_key' order by j.changed_at, j.change_key)
                         from (select * from again union all select * from fresh) j), '[]'::jsonb))
$$;
