-- A version per emulator state record, so a record can be changed on the database's copy without
-- overwriting another instance's change (EmulatorState.change: read, change, write only if the
-- version is still the one read, else again). EmulatorState.change used the step column for this,
-- but step is the lifecycle stage on Zoom meetings and SendGrid scheduled sends (moved only by a
-- claim, WHERE step = from): a change there would have been taken for a claim, and a claim for a
-- change. version is moved by every write of the document: each put (one more in the same upsert,
-- no extra statement) and each change; a claim or an adoption leaves it alone.
do $migrate$
declare
  tables text[] := array['zoom_emulator_state', 'instamojo_emulator_state', 'bolna_emulator_state',
                         'sendgrid_emulator_state', 'aisensy_emulator_state'];
  t text;
begin
  foreach t in array tables loop
    execute format('alter table %I add column if not exists version bigint not null default 0', t);
    execute format($f$
      create or replace function %1$I(p_rows jsonb) returns integer
      language plpgsql as $body$
      declare
        n integer;
      begin
        insert into %2$I (kind, id, seq, due_at, deleted, writer, doc)
        select kind, id, seq, due_at, deleted, writer, doc from jsonb_populate_recordset(null::%2$I, p_rows)
        on conflict (kind, id) do update set seq = excluded.seq, due_at = excluded.due_at,
          deleted = excluded.deleted, writer = excluded.writer, doc = excluded.doc,
          version = %2$I.version + 1;
        get diagnostics n = row_count;
        return n;
      end
      $body$$f$, t || '_put', t);
  end loop;
end
$migrate$;
