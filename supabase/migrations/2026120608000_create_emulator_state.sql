-- Each provider emulator's own state (the provider's side of the sandbox: Zoom's meetings,
-- Instamojo's payment requests, Bolna's agents and executions), so it survives a restart and every
-- instance of a service on one database sees the same. One table per emulator, one shape: a record
-- is a jsonb document keyed by (kind, provider id), with the few columns read outside the document.
--   seq        creation order (retention drops the oldest first; lists page by it)
--   step       how far the record's lifecycle has gone; changed only by a claim
--              (UPDATE … WHERE step = from), so one instance posts each lifecycle step
--   due_at     epoch ms of the record's next lifecycle step (timers are rebuilt from it at start)
--   deleted    a tombstone, so other instances drop their cached copy; pruned later
--   writer     the instance that wrote the row last (an instance skips its own changes when syncing)
--   updated_at set by the database on every write: the cursor instances sync by
create or replace function emulator_state_touch() returns trigger
language plpgsql as $$
begin
  new.updated_at := clock_timestamp();
  return new;
end
$$;

create table if not exists zoom_emulator_state (
  kind       text        not null,
  id         text        not null,
  seq        bigint      not null,
  step       integer     not null default 0,
  due_at     bigint,
  deleted    boolean     not null default false,
  writer     text        not null default '',
  doc        jsonb,
  updated_at timestamptz not null default clock_timestamp(),
  primary key (kind, id)
);

create table if not exists instamojo_emulator_state (like zoom_emulator_state including all);
create table if not exists bolna_emulator_state (like zoom_emulator_state including all);

create index if not exists zoom_emulator_state_seq_idx on zoom_emulator_state (kind, seq);
create index if not exists zoom_emulator_state_updated_idx on zoom_emulator_state (updated_at);
create index if not exists instamojo_emulator_state_seq_idx on instamojo_emulator_state (kind, seq);
create index if not exists instamojo_emulator_state_updated_idx on instamojo_emulator_state (updated_at);
create index if not exists bolna_emulator_state_seq_idx on bolna_emulator_state (kind, seq);
create index if not exists bolna_emulator_state_updated_idx on bolna_emulator_state (updated_at);

create trigger zoom_emulator_state_touch before insert or update on zoom_emulator_state
  for each row execute function emulator_state_touch();
create trigger instamojo_emulator_state_touch before insert or update on instamojo_emulator_state
  for each row execute function emulator_state_touch();
create trigger bolna_emulator_state_touch before insert or update on bolna_emulator_state
  for each row execute function emulator_state_touch();
