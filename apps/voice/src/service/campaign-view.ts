import type { Mode } from '@switchboard/schemas/common'
import type { Campaign, Contact } from '@switchboard/schemas/voice'
import { contactsOf, type JobProgress } from '@switchboard/service-kit/job-runner'

/** A campaign's calls counted by their rows (the voice_campaign_progress function). */
export interface Progress { placed: number, initiated: number, completed: number, failed: number, in_progress: number, by_status: Record<string, number> }

/** The progress of a campaign no call of which has been placed yet. */
export const noProgress = (): Progress => ({ placed: 0, initiated: 0, completed: 0, failed: 0, in_progress: 0, by_status: {} })

/** One contact of a campaign or a bulk batch, as stored in its job item. */
export interface CallItem {
  to_number: string
  user_data: Record<string, unknown>
  /** The call's log row (call_logs.id): a claim that expires is settled from it (job_expire_claims). */
  row_id?: string
}

/** A contact of a request as a job item: a bare number, or a number with its name and variables. */
export function contactOf (c: Contact): CallItem {
  if (typeof c === 'string') return { to_number: c, user_data: {} }
  return { to_number: c.to_number, user_data: { ...(c.name !== undefined ? { name: c.name } : {}), ...c.user_data } }
}

/**
 * Placed calls not yet at a final status: the calls in progress less those never placed (a row
 * without an execution id is a call being placed, or one whose worker died mid-placing; nothing
 * will ever move it).
 */
export const liveCallCount = (p: Progress, unplaced: number): number => Math.max(0, p.in_progress - unplaced)

/**
 * A campaign as the API shows it: its contacts and status from its job, its calls counted from
 * their rows. The job ends once every contact has an answer; the campaign reads running (stopping,
 * when stopped) until the calls it placed have ended too. `live` counts those calls (liveCallCount),
 * so a call that will never move does not hold the campaign open.
 */
export function campaignView (row: Record<string, unknown>, p: Progress, job: JobProgress | null, live: number): Campaign {
  let status = String(row.status)
  if (job) {
    status = job.status
    if (live > 0 && (status === 'completed' || status === 'completed_with_errors')) status = 'running'
    if (live > 0 && status === 'stopped') status = 'stopping'
  } else if (status === 'running' && p.placed >= Number(row.total) && p.in_progress === 0) {
    // A campaign from before campaigns were jobs: ended once every call has.
    status = 'completed'
  }
  return {
    id: String(row.id),
    name: String(row.name),
    mode: row.mode as Mode,
    script_id: String(row.script_id),
    agent_id: (row.agent_id as string | null) ?? null,
    status,
    contacts: job
      ? contactsOf(job)
      : { pending: Math.max(0, Number(row.total) - p.placed), in_flight: 0, sent: p.initiated, failed: p.placed - p.initiated, unknown: 0, stopped: 0 },
    total: Number(row.total),
    placed: p.placed,
    initiated: p.initiated,
    completed: p.completed,
    failed: p.failed,
    in_progress: p.in_progress,
    by_status: p.by_status,
    error: (row.error as string | null) ?? null,
    created_at: String(row.created_at),
    updated_at: String(row.updated_at),
    completed_at: (row.completed_at as string | null) ?? null
  }
}
