-- A claim no longer names its instance as the record's writer. A claim moves the lifecycle stage
-- (step) and due_at, not the document; but an instance skips the rows it wrote when it syncs, so
-- a claim of a record whose latest document another instance wrote (not yet synced here: a Zoom
-- meeting renamed through one instance, its start claimed through another within the second)
-- hid that document from the claiming instance for good: it answered the old one until the record
-- changed again. The instances that lose a claim learn the stage from their failed claim, as
-- before; the others read it with the row at their next sync.
do $migrate$
declare
  tables text[] := array['zoom_emulator_state', 'instamojo_emulator_state', 'bolna_emulator_state',
                         'sendgrid_emulator_state', 'aisensy_emulator_state'];
  t text;
begin
  foreach t in array tables loop
    execute format($f$
      create or replace function %1$I(p_claims jsonb) returns jsonb
      language plpgsql as $body$
      declare
        moved jsonb;
      begin
        with claimed as (
          update %2$I as t set step = c.to_step, due_at = c.due_at
            from jsonb_to_recordset(p_claims) as c(kind text, id text, from_step integer, to_step integer, due_at bigint)
           where t.kind = c.kind and t.id = c.id and t.step = c.from_step and not t.deleted
          returning t.kind, t.id)
        select coalesce(jsonb_agg(jsonb_build_array(kind, id)), '[]'::jsonb) into moved from claimed;
        return moved;
      end
      $body$$f$, t || '_claim', t);
  end loop;
end
$migrate$;
