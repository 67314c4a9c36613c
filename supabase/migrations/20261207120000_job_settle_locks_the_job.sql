-- Two workers recording a job's last answers at the same moment (two instances on one database)
-- each looked for open items with its own snapshot, saw the other's item still claimed, and left
-- the job `running` for good; a stop racing the last answer left it `stopping`. job_settle now
-- locks the jobs rows first (in id order, so two settles never deadlock): the second caller waits
-- for the first to commit and, its next statement taking a fresh snapshot (READ COMMITTED), sees
-- every answer. Every caller has written its items before it settles, so the lock order is
-- always items, then job.
create or replace function job_settle(p_job_ids uuid[])
returns void
language plpgsql
volatile
as $$
declare
  j record;
begin
  perform 1 from jobs where id = any(p_job_ids) and status in ('running', 'stopping') order by id for update;
  for j in
    with open_jobs as (
      select id from jobs where id = any(p_job_ids) and status in ('running', 'stopping')
         and not exists (select 1 from job_items i where i.job_id = jobs.id and i.state in ('pending', 'claimed'))
    )
    update jobs set
      status = case
        when jobs.status = 'stopping' or exists (select 1 from job_items i where i.job_id = jobs.id and i.state = 'stopped') then 'stopped'
        when exists (select 1 from job_items i where i.job_id = jobs.id and i.state in ('failed', 'unknown')) then 'completed_with_errors'
        else 'completed' end,
      updated_at = now(),
      completed_at = now()
    from open_jobs o where jobs.id = o.id
    returning jobs.id, jobs.status, jobs.error, jobs.row_table
  loop
    if j.row_table is not null then
      execute format('update %I set status = $1, error = $2, updated_at = now(), completed_at = now() where id = $3', j.row_table)
        using j.status, j.error, j.id;
    end if;
  end loop;
end
$$;

-- A job that an older job_settle left open with nothing pending or claimed (the race above, on a
-- database from before this migration) ends when its progress is next read.
create or replace function job_progress(p_job_id uuid)
returns jsonb
language plpgsql
volatile
as $$
declare
  v_kind text;
  v_out jsonb;
begin
  select kind into v_kind from jobs where id = p_job_id;
  if v_kind is null then
    return null;
  end if;
  perform job_expire(v_kind);
  for attempt in 1..2 loop
    select jsonb_build_object(
      'id', j.id, 'kind', j.kind, 'status', j.status, 'total', j.total, 'error', j.error,
      'pending', count(*) filter (where i.state = 'pending'),
      'in_flight', count(*) filter (where i.state = 'claimed'),
      'sent', count(*) filter (where i.state = 'sent'),
      'failed', count(*) filter (where i.state = 'failed'),
      'unknown', count(*) filter (where i.state = 'unknown'),
      'stopped', count(*) filter (where i.state = 'stopped'),
      'created_at', j.created_at, 'updated_at', j.updated_at, 'completed_at', j.completed_at)
      into v_out
      from jobs j left join job_items i on i.job_id = j.id
     where j.id = p_job_id
     group by j.id;
    exit when attempt = 2
      or v_out->>'status' not in ('running', 'stopping')
      or (v_out->>'pending')::integer + (v_out->>'in_flight')::integer > 0;
    perform job_settle(array[p_job_id]);
  end loop;
  return v_out;
end
$$;
