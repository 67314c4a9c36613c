-- The SendGrid and AiSensy emulators' own state, in tables of the same shape as the other
-- emulators' (2026120608000_create_emulator_state.sql describes the columns):
--   sendgrid_emulator_state  stats (one row per day and writing instance), batch ids with their
--                            cancel/pause status, scheduled sends held until their send_at, and
--                            the Event Webhook settings (no private key and no OAuth secret: the
--                            signing keys are derived from the data folder's key)
--   aisensy_emulator_state   each message's status notifications still due (sent → delivered →
--                            read), and the emulated project's id
create table if not exists sendgrid_emulator_state (like zoom_emulator_state including all);
create table if not exists aisensy_emulator_state (like zoom_emulator_state including all);

create index if not exists sendgrid_emulator_state_seq_idx on sendgrid_emulator_state (kind, seq);
create index if not exists sendgrid_emulator_state_updated_idx on sendgrid_emulator_state (updated_at);
create index if not exists aisensy_emulator_state_seq_idx on aisensy_emulator_state (kind, seq);
create index if not exists aisensy_emulator_state_updated_idx on aisensy_emulator_state (updated_at);
-- Messages whose next status is overdue are looked for every second (an instance that stopped
-- leaves them to another): only rows with something due are indexed.
create index if not exists aisensy_emulator_state_due_idx on aisensy_emulator_state (kind, due_at) where due_at is not null;

create trigger sendgrid_emulator_state_touch before insert or update on sendgrid_emulator_state
  for each row execute function emulator_state_touch();
create trigger aisensy_emulator_state_touch before insert or update on aisensy_emulator_state
  for each row execute function emulator_state_touch();

-- The batch writer, now accepting the two new tables as well.
create or replace function emulator_state_put(p_table text, p_rows jsonb) returns integer
language plpgsql as $$
declare
  n integer;
begin
  if p_table not in ('zoom_emulator_state', 'instamojo_emulator_state', 'bolna_emulator_state',
                     'sendgrid_emulator_state', 'aisensy_emulator_state') then
    raise exception 'unknown emulator state table %', p_table using errcode = '42P01';
  end if;
  execute format(
    'insert into %1$I (kind, id, seq, due_at, deleted, writer, doc)
     select kind, id, seq, due_at, deleted, writer, doc from jsonb_populate_recordset(null::%1$I, $1)
     on conflict (kind, id) do update set seq = excluded.seq, due_at = excluded.due_at,
       deleted = excluded.deleted, writer = excluded.writer, doc = excluded.doc', p_table)
    using p_rows;
  get diagnostics n = row_count;
  return n;
end
$$;
