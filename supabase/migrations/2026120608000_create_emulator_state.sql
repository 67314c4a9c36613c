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

-- Writes a batch of records in one statement with one parameter (the rows as a JSON array), so the
-- embedded PGlite does not pay per bound value. step is left alone: only a claim changes it.
create or replace function emulator_state_put(p_table text, p_rows jsonb) returns integer
language plpgsql as $$
declare
  n integer;
begin
  if p_table not in ('zoom_emulator_state', 'instamojo_emulator_state', 'bolna_emulator_state') then
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
