-- Many rows updated in one statement, each with its own values (and, for status moves, each by its
-- own status rule): what the activity log's group commit writes for a run of status moves or of
-- patches by id. PGlite and PostgreSQL build this statement in the client (backends/sql.ts); this
-- function is the same statement for a backend that can only call functions (Supabase, through
-- PostgREST's rpc), which otherwise sent one request per row.
--   p_rows  a JSON array of rows: each names its row by p_key and carries the columns it sets (the
--           same columns in every row)
--   p_from  for status moves: {"<new status>": ["<allowed previous status>", …]}; a row moves only
--           if its current status is one its new status may follow. Null: patches, whatever the status.
-- Runs with the caller's rights (not security definer): it can change only what the caller could.
create or replace function activity_update_each(p_table text, p_key text, p_rows jsonb, p_from jsonb default null) returns integer
language plpgsql as $$
declare
  cols text[];
  unknown text;
  n integer;
begin
  if not exists (select 1 from information_schema.tables where table_schema = current_schema() and table_name = p_table) then
    raise exception 'unknown table %', p_table using errcode = '42P01';
  end if;
  if jsonb_typeof(p_rows) <> 'array' or jsonb_array_length(p_rows) = 0 then
    return 0;
  end if;
  select array_agg(k) into cols from jsonb_object_keys(p_rows -> 0) as k where k <> p_key;
  select c into unknown from unnest(array_append(coalesce(cols, '{}'), p_key)) as c
   where not exists (select 1 from information_schema.columns
                      where table_schema = current_schema() and table_name = p_table and column_name = c)
   limit 1;
  if unknown is not null then
    raise exception 'column % of % does not exist', unknown, p_table using errcode = '42703';
  end if;
  if cols is null then
    return 0;
  end if;
  execute format(
    'update %1$I as t set %2$s from jsonb_populate_recordset(null::%1$I, $1) as v where t.%3$I = v.%3$I%4$s',
    p_table,
    (select string_agg(format('%1$I = v.%1$I', c), ', ') from unnest(cols) as c),
    p_key,
    case when p_from is null then ''
         else ' and t.status = any(array(select jsonb_array_elements_text($2 -> v.status)))' end)
    using p_rows, p_from;
  get diagnostics n = row_count;
  return n;
end
$$;
