-- Durable work. A campaign or a bulk send is a job: one `jobs` row and one `job_items` row per
-- contact, written in one transaction (job_create) before the request is answered. Workers of any
-- number of instances claim pending items in chunks under a lease (job_claim: FOR UPDATE SKIP
-- LOCKED), renew the lease while they work (job_heartbeat), and record each provider answer
-- (job_complete). An item whose lease ran out while claimed was in flight when its worker died:
-- it becomes `unknown` (maybe sent, maybe not), never silently re-sent nor dropped; job_retry
-- puts unknown and failed items back on request. Every function is plain SQL or PL/pgSQL, so
-- PGlite, PostgreSQL and Supabase (POST /rest/v1/rpc/<name>) run the same code.
--
-- Item states: pending → claimed → sent | failed; claimed → unknown (lease expired);
-- pending → stopped (job_stop); unknown | failed → pending (job_retry).
-- Job statuses: running → stopping → stopped; running → completed | completed_with_errors |
-- stopped | failed. A campaign's own row (whatsapp_campaigns, call_campaigns) mirrors the status.

create table if not exists jobs (
  id           uuid primary key,
  kind         text not null,
  status       text not null default 'running'
               check (status in ('running', 'stopping', 'completed', 'completed_with_errors', 'stopped', 'failed')),
  total        integer not null,
  spec         jsonb not null default '{}'::jsonb,
  row_table    text check (row_table in ('whatsapp_campaigns', 'call_campaigns')),
  error        text,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  completed_at timestamptz
);
create index if not exists jobs_active_idx on jobs (kind, created_at) where status in ('running', 'stopping');

create table if not exists job_items (
  job_id      uuid not null references jobs (id) on delete cascade,
  seq         integer not null,
  grp         integer not null,
  state       text not null default 'pending'
              check (state in ('pending', 'claimed', 'sent', 'failed', 'unknown', 'stopped')),
  payload     jsonb not null,
  result      jsonb,
  reason      text,
  claimed_by  text,
  lease_until timestamptz,
  attempts    integer not null default 0,
  updated_at  timestamptz not null default now(),
  primary key (job_id, seq)
);
create index if not exists job_items_pending_idx on job_items (job_id, grp, seq) where state = 'pending';
create index if not exists job_items_claimed_idx on job_items (claimed_by, lease_until) where state = 'claimed';

-- The job's status once nothing is pending or claimed, mirrored to its campaign row.
create or replace function job_settle(p_job_ids uuid[])
returns void
language plpgsql
volatile
as $$
declare
  j record;
begin
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

-- Creates a job and its items at once. p_job: { id, kind, spec, row_table?, row? } where row is
-- the campaign row for row_table (every NOT NULL column given). p_items: one payload per item, in
-- order; items whose payloads carry the same integer `group` are claimed together (one provider
-- request for many recipients), others alone. Idempotent by id: creating it again changes nothing.
create or replace function job_create(p_job jsonb, p_items jsonb)
returns jsonb
language plpgsql
volatile
as $$
declare
  v_id uuid := (p_job->>'id')::uuid;
  v_table text := p_job->>'row_table';
  v_total integer := jsonb_array_length(p_items);
begin
  insert into jobs (id, kind, total, spec, row_table)
  values (v_id, p_job->>'kind', v_total, coalesce(p_job->'spec', '{}'::jsonb), v_table)
  on conflict (id) do nothing;
  if not found then
    return jsonb_build_object('id', v_id, 'created', false);
  end if;
  insert into job_items (job_id, seq, grp, payload)
  select v_id, (e.ord - 1)::integer, coalesce((e.value->>'group')::integer, (e.ord - 1)::integer), e.value
    from jsonb_array_elements(p_items) with ordinality as e(value, ord);
  if v_table is not null then
    execute format('insert into %I select * from jsonb_populate_record(null::%I, $1) on conflict (id) do nothing', v_table, v_table)
      using p_job->'row';
  end if;
  return jsonb_build_object('id', v_id, 'created', true, 'total', v_total);
end
$$;

-- Claimed items whose lease ran out become unknown: their worker died (or lost the database)
-- between claiming them and recording the provider's answer. claimed_by stays, so that worker
-- can still record an answer that was only late.
create or replace function job_expire(p_kind text)
returns void
language plpgsql
volatile
as $$
declare
  v_jobs uuid[];
begin
  with stale as (
    select i.job_id, i.seq from job_items i join jobs j on j.id = i.job_id
     where i.state = 'claimed' and i.lease_until < now() and j.kind = p_kind
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

-- Claims the pending items of up to p_limit groups (an item without a group is one) of running
-- jobs of one kind, oldest job first, for p_worker until now() + p_lease_ms. Concurrent callers
-- never get the same item (SKIP LOCKED). Returns
-- { items: [{ job_id, seq, grp, payload }], jobs: { <id>: { kind, spec } } }.
create or replace function job_claim(p_kind text, p_worker text, p_limit integer, p_lease_ms integer)
returns jsonb
language plpgsql
volatile
as $$
declare
  v_job record;
  v_left integer := p_limit;
  v_items jsonb := '[]'::jsonb;
  v_jobs jsonb := '{}'::jsonb;
  v_got jsonb;
  v_groups integer;
  v_last integer;
begin
  perform job_expire(p_kind);
  -- Job by job (each one's pending items come off its own index in order), oldest first.
  for v_job in
    select id, kind, spec from jobs where kind = p_kind and status = 'running' order by created_at, id
  loop
    exit when v_left <= 0;
    -- The last of the first v_left pending groups (groups are numbered in item order).
    select max(g.grp) into v_last from (
      select distinct grp from job_items where job_id = v_job.id and state = 'pending' order by grp limit v_left
    ) g;
    continue when v_last is null;
    with picked as (
      select seq from job_items
       where job_id = v_job.id and state = 'pending' and grp <= v_last
       order by grp, seq
       for update skip locked
    ), claimed as (
      update job_items i set
        state = 'claimed', claimed_by = p_worker, lease_until = now() + p_lease_ms * interval '1 millisecond',
        attempts = i.attempts + 1, reason = null, updated_at = now()
      from picked p where i.job_id = v_job.id and i.seq = p.seq
      returning i.seq, i.grp, i.payload
    )
    select jsonb_agg(jsonb_build_object('job_id', v_job.id, 'seq', c.seq, 'grp', c.grp, 'payload', c.payload) order by c.seq), count(distinct c.grp)
      into v_got, v_groups from claimed c;
    if v_got is not null then
      v_items := v_items || v_got;
      v_left := v_left - v_groups;
      v_jobs := v_jobs || jsonb_build_object(v_job.id::text, jsonb_build_object('kind', v_job.kind, 'spec', v_job.spec));
    end if;
  end loop;
  return jsonb_build_object('items', v_items, 'jobs', v_jobs);
end
$$;

-- Keeps p_worker's claims alive. Returns how many items it holds.
create or replace function job_heartbeat(p_worker text, p_lease_ms integer)
returns integer
language sql
volatile
as $$
  with renewed as (
    update job_items set lease_until = now() + p_lease_ms * interval '1 millisecond'
     where state = 'claimed' and claimed_by = p_worker
    returning 1
  )
  select count(*)::integer from renewed
$$;

-- Records provider answers: p_results is [{ job_id, seq, state: 'sent' | 'failed', result, reason }].
-- Only the claiming worker's answer counts, also when its lease had already run out (the item is
-- unknown then, and the late answer makes it known). Returns the ids of jobs that just finished.
create or replace function job_complete(p_worker text, p_results jsonb)
returns jsonb
language plpgsql
volatile
as $$
declare
  v_jobs uuid[];
  v_done jsonb;
begin
  with done as (
    update job_items i set
      state = r.state, result = r.result, reason = r.reason, lease_until = null, updated_at = now()
    from jsonb_to_recordset(p_results) as r(job_id uuid, seq integer, state text, result jsonb, reason text)
    where i.job_id = r.job_id and i.seq = r.seq and i.claimed_by = p_worker and i.state in ('claimed', 'unknown')
      and r.state in ('sent', 'failed')
    returning i.job_id
  )
  select array_agg(distinct job_id) into v_jobs from done;
  if v_jobs is null then
    return '[]'::jsonb;
  end if;
  perform job_settle(v_jobs);
  select coalesce(jsonb_agg(id), '[]'::jsonb) into v_done
    from jobs where id = any(v_jobs) and status not in ('running', 'stopping');
  return v_done;
end
$$;

-- Gives back items a worker claimed but never started (a shutdown between claim and send).
create or replace function job_release(p_worker text, p_items jsonb)
returns integer
language sql
volatile
as $$
  with released as (
    update job_items i set state = 'pending', claimed_by = null, lease_until = null, attempts = greatest(i.attempts - 1, 0), updated_at = now()
      from jsonb_to_recordset(p_items) as r(job_id uuid, seq integer)
     where i.job_id = r.job_id and i.seq = r.seq and i.state = 'claimed' and i.claimed_by = p_worker
    returning 1
  )
  select count(*)::integer from released
$$;

-- A job's counts by item state (expiring its stale claims first, so a job whose every worker died
-- does not read as running for longer than one lease). Null for an unknown id.
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
  return v_out;
end
$$;

-- A job's items with their results, in order (a bulk send's reply).
create or replace function job_results(p_job_id uuid)
returns jsonb
language sql
stable
as $$
  select coalesce(jsonb_agg(jsonb_build_object('seq', seq, 'state', state, 'payload', payload, 'result', result, 'reason', reason) order by seq), '[]'::jsonb)
    from job_items where job_id = p_job_id
$$;

-- Stops a job on request: its pending items become stopped; it ends `stopped` once the items in
-- flight are answered. Returns the job's progress (null for an unknown id).
create or replace function job_stop(p_job_id uuid, p_reason text)
returns jsonb
language plpgsql
volatile
as $$
begin
  update job_items set state = 'stopped', reason = p_reason, updated_at = now()
   where job_id = p_job_id and state = 'pending';
  update jobs set status = 'stopping', updated_at = now() where id = p_job_id and status = 'running';
  perform job_settle(array[p_job_id]);
  return job_progress(p_job_id);
end
$$;

-- Puts a job's unknown and failed items back in the queue, and the job back to running.
-- Returns the job's progress (null for an unknown id).
create or replace function job_retry(p_job_id uuid)
returns jsonb
language plpgsql
volatile
as $$
declare
  v_table text;
  v_count integer;
begin
  update job_items set state = 'pending', result = null, reason = null, claimed_by = null, lease_until = null, updated_at = now()
   where job_id = p_job_id and state in ('unknown', 'failed');
  get diagnostics v_count = row_count;
  if v_count > 0 then
    update jobs set status = 'running', error = null, completed_at = null, updated_at = now()
     where id = p_job_id
    returning row_table into v_table;
    if v_table is not null then
      execute format('update %I set status = ''running'', error = null, completed_at = null, updated_at = now() where id = $1', v_table)
        using p_job_id;
    end if;
  end if;
  return job_progress(p_job_id) || jsonb_build_object('retried', v_count);
end
$$;

-- A job that cannot go on at all (its template left the catalogue, its mode has no credentials):
-- its pending items fail with the reason and the job ends failed.
create or replace function job_fail(p_job_id uuid, p_error text)
returns void
language plpgsql
volatile
as $$
declare
  v_table text;
begin
  update job_items set state = 'failed', reason = p_error, updated_at = now()
   where job_id = p_job_id and state = 'pending';
  update jobs set status = 'failed', error = p_error, updated_at = now(), completed_at = now()
   where id = p_job_id and status in ('running', 'stopping')
  returning row_table into v_table;
  if v_table is not null then
    execute format('update %I set status = ''failed'', error = $1, updated_at = now(), completed_at = now() where id = $2', v_table)
      using p_error, p_job_id;
  end if;
end
$$;
