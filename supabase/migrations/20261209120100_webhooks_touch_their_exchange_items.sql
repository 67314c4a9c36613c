-- A Zoom meeting, and any traffic sent straight to an emulator, is an item of the Activity view
-- made of provider exchanges (activity_items), which are never updated: what happens to it later
-- arrives as webhook exchanges tied to it by its ids (a meeting's meeting.started, the events of a
-- direct SendGrid send). So its changed_at never moved, the live stream never sent it again, and
-- an open meeting in the admin page kept saying "waiting" after it started (README's demo: freeze
-- the clock, book a meeting for tomorrow, advance a day).
--
-- A webhook recorded now touches the items it belongs to: the provider exchanges of its channel
-- that are items and share an id with it (refs, GIN-indexed), so their changed_at (20261209120000)
-- is the webhook's and the stream sends them with the lifecycle the detail view builds.
create or replace function activity_webhook_touches_items() returns trigger
language plpgsql
as $$
begin
  if jsonb_typeof(new.refs) = 'array' and jsonb_array_length(new.refs) > 0 then
    update activity_exchanges x
       set changed_at = clock_timestamp()
     where x.kind = 'provider'
       and (x.direct or x.channel = 'zoom')
       and x.channel = new.channel
       and x.refs ?| array(select jsonb_array_elements_text(new.refs));
  end if;
  return null;
end
$$;

drop trigger if exists activity_exchanges_webhook_touches_items on activity_exchanges;
create trigger activity_exchanges_webhook_touches_items
  after insert on activity_exchanges
  for each row when (new.kind = 'webhook')
  execute function activity_webhook_touches_items();
