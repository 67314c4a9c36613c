-- Lifecycle claims of many records in one statement. A claim moves a record's step from `from_step`
-- to `to_step` only if no one did it first (so each step's webhooks are posted by one instance); the
-- emulators claim every meeting or call whose step falls due, and under load those arrive by the
-- hundred. One UPDATE per claim was a database round trip per record; this takes a batch (each
-- (kind, id) at most once) and answers with the [kind, id] pairs it moved.
create or replace function emulator_state_claim(p_table text, p_claims jsonb) returns jsonb
language plpgsql as $$
declare
  moved jsonb;
begin
  if p_table not in ('zoom_emulator_state', 'instamojo_emulator_state', 'bolna_emulator_state',
                     'sendgrid_emulator_state', 'aisensy_emulator_state') then
    raise exception 'unknown emulator state table %', p_table using errcode = '42P01';
  end if;
  execute format(
    'with claimed as (
       update %1$I as t set step = c.to_step, due_at = c.due_at, writer = c.writer
         from jsonb_to_recordset($1) as c(kind text, id text, from_step integer, to_step integer, due_at bigint, writer text)
        where t.kind = c.kind and t.id = c.id and t.step = c.from_step and not t.deleted
       returning t.kind, t.id)
     select coalesce(jsonb_agg(jsonb_build_array(kind, id)), ''[]''::jsonb) from claimed', p_table)
    into moved using p_claims;
  return moved;
end
$$;
