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

-- Claimed items whose lease ran out become unknown (as job_expire did), of one kind of job or of
-- one job. job_expire(kind) stays the claim's: a claimer holds no job row when it settles.
create or replace function job_expire_claims(p_kind text, p_job_id uuid)
returns void
language plpgsql
volatile
as $$
declare
  v_jobs uuid[];
begin
  with stale as (
    select i.job_id, i.seq from job_items i join jobs j on j.id = i.job_id
     where i.state = 'claimed' and i.lease_until < now()
       and (p_kind is null or j.kind = p_kind) and (p_job_id is null or i.job_id = p_job_id)
     for update of i skip locked
  ), marked as (
    update job_items i set
      state = 'unknown',
      reason = 'The worker that claimed this contact (' || coalesce(i.claimed_by, '?') || ') stopped before the provider''s answer was recorded: it may or may not have been sent. It is not re-sent by itself; retry the campaign''s unknown contacts to send them again.',
      lease_until = null,
      updated_at = now()
    from stale s where i.job_id = s.job_id and i.seq = s.seq
    returning i.job_id
  )
  select array_agg(distinct job_id) into v_jobs from marked;
  if v_jobs is not null then
    perform job_settle(v_jobs);
  end if;
end
$$;

create or replace function job_expire(p_kind text)
returns void
language sql
volatile
as $$
  select job_expire_claims(p_kind, null)
$$;

-- A job's progress expires that job's stale claims only. It expired every job of its kind, and
-- job_stop, which holds its own job's row, reads its progress: it could then wait for another
-- job's row held by a worker recording answers for both jobs, that worker waiting for the first
-- row (a deadlock). And a job that an older job_settle left open with nothing pending or claimed
-- (the race above, on a database from before this migration) ends when its progress is next read.
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
  perform job_expire_claims(null, p_job_id);
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
