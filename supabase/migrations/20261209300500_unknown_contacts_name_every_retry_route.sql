-- The reason an `unknown` contact carries named only campaigns ("retry the campaign's unknown
-- contacts"), and a bulk send's unknown recipients had no route to retry them at all. Bulk sends
-- now have one (POST …/email/batch/{id}/retry, …/whatsapp/bulk/{id}/retry, …/call/bulk/{id}/retry),
-- and the reason names both.
--
-- A voice contact left unknown also left its call_logs row `queued` (written before the call is
-- placed) with no execution: read as a call in progress that never moves, and still there beside
-- the new row of a retry. Such a row (still queued, no execution id once the lease is over: no
-- Bolna webhook came for it either) now ends `error`, code `unknown`, with the same reason.

create or replace function job_expire_claims(p_kind text, p_job_id uuid)
returns void
language plpgsql
volatile
as $$
declare
  v_jobs uuid[];
begin
  with stale as (
    select i.job_id, i.seq, j.kind,
           case when coalesce(i.payload->>'row_id', i.payload->>'id') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                then coalesce(i.payload->>'row_id', i.payload->>'id')::uuid end as row_id
      from job_items i join jobs j on j.id = i.job_id
     where i.state = 'claimed' and i.lease_until < now()
       and (p_kind is null or j.kind = p_kind) and (p_job_id is null or i.job_id = p_job_id)
     for update of i skip locked
  ), answered as (
    select s.job_id, s.seq, s.kind, s.row_id,
           case
             when w.id is not null then case when w.status = 'failed' then 'failed' else 'sent' end
             when e.id is not null then case when e.status = 'failed' then 'failed' else 'sent' end
             when c.id is not null and c.status = 'failed' then 'failed'
             when c.id is not null and c.execution_id is not null then 'sent'
           end as state,
           case
             when w.id is not null then jsonb_build_object('id', w.id, 'to_number', w.to_number, 'status', w.status, 'provider_message_id', w.provider_message_id, 'error', w.error)
             when e.id is not null then jsonb_build_object('id', e.id, 'provider_message_id', e.provider_message_id)
             when c.id is not null then jsonb_build_object('id', c.id, 'execution_id', c.execution_id, 'status', c.status)
           end as result,
           coalesce(w.error, e.error, c.error) as error
      from stale s
      left join whatsapp_logs w on s.kind like 'whatsapp.%' and w.id = s.row_id
      left join email_logs e on s.kind like 'email.%' and e.id = s.row_id
      left join call_logs c on s.kind like 'voice.%' and c.id = s.row_id
  ), marked as (
    update job_items i set
      state = coalesce(a.state, 'unknown'),
      result = case when a.state is not null then a.result else i.result end,
      reason = case
                 when a.state = 'failed' then coalesce(a.error, 'failed')
                 when a.state = 'sent' then null
                 else 'The worker that claimed this contact (' || coalesce(i.claimed_by, '?') || ') stopped before the provider''s answer was recorded: it may or may not have been sent. It is not re-sent by itself: retry the unknown contacts of its campaign or bulk send (POST …/retry) to send them again.'
               end,
      lease_until = null,
      updated_at = now()
    from answered a where i.job_id = a.job_id and i.seq = a.seq
    returning i.job_id, i.seq, i.state, i.reason
  ), orphaned as (
    update call_logs c set status = 'error', error_code = 'unknown', error = m.reason, updated_at = now()
      from marked m join answered a on a.job_id = m.job_id and a.seq = m.seq
     where m.state = 'unknown' and a.kind like 'voice.%' and c.id = a.row_id
       and c.status = 'queued' and c.execution_id is null
    returning 1
  )
  select array_agg(distinct job_id) into v_jobs from marked;
  if v_jobs is not null then
    perform job_settle(v_jobs);
  end if;
end
$$;

-- Which contacts of a job failed or are unknown, and why: the bulk progress routes list the first
-- of them, so a bulk that answered 202 still says which recipients need a look (or a retry).
create or replace function job_problems(p_job_id uuid, p_limit integer)
returns jsonb
language sql
stable
as $$
  select coalesce(jsonb_agg(p order by p.seq), '[]'::jsonb) from (
    select seq, state, reason,
           coalesce(payload->>'to_email', payload->>'to_number', payload->>'e164', payload->>'raw') as contact
      from job_items
     where job_id = p_job_id and state in ('failed', 'unknown')
     order by seq
     limit greatest(0, least(p_limit, 1000))
  ) p
$$;

-- A retry sends under its own request's conditions: the x-switchboard-* headers stored with the
-- job (a failure forced on the first request, say) are replaced by the retry's own (none: none),
-- or no retry could ever get past a failure the first request forced.
create or replace function job_retry_as(p_job_id uuid, p_simulation_headers jsonb)
returns jsonb
language plpgsql
volatile
as $$
begin
  update jobs set spec = (spec - 'simulation_headers')
                         || case when p_simulation_headers is null or p_simulation_headers = '{}'::jsonb then '{}'::jsonb
                                 else jsonb_build_object('simulation_headers', p_simulation_headers) end
   where id = p_job_id;
  return job_retry(p_job_id);
end
$$;
