/**
 * The one job runner every service uses for its campaigns and bulk sends. The work lives in the
 * database (jobs, job_items; supabase/migrations/*_create_jobs.sql), never only here: the runner
 * claims pending items in chunks under a lease (job_claim, FOR UPDATE SKIP LOCKED), so any number
 * of instances on one database share a job; renews its lease while it works (job_heartbeat); and
 * records every provider answer (job_complete). An item whose worker died before its answer was
 * recorded becomes `unknown` once the lease runs out, for a person to retry: never re-sent by
 * itself, never dropped. stop() stops claiming, finishes what is in flight and records it; the
 * items left pending are taken up by the next start (of this instance or of another).
 */
import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { newRowId } from '@switchboard/activity-log'
import type { BatchProgress, JobContacts } from '@switchboard/schemas/common'
import { prefixedError } from './errors.ts'
import { progressLog, type ProgressLog } from './logging.ts'

export interface ClaimedItem<P = unknown> {
  job_id: string
  seq: number
  /** Items of one group (same `group` in their payloads) come to the handler together. */
  grp: number
  payload: P
}

export interface ClaimedJob<S = unknown> {
  id: string
  kind: string
  spec: S
}

/** What became of one item: the provider's answer (sent or refused), with what to keep of it. */
export interface ItemOutcome {
  seq: number
  state: 'sent' | 'failed'
  result?: unknown
  reason?: string | null
}

/** A job's counts by item state, as job_progress returns them. */
export interface JobProgress {
  id: string
  kind: string
  status: 'running' | 'stopping' | 'completed' | 'completed_with_errors' | 'stopped' | 'failed'
  total: number
  pending: number
  in_flight: number
  sent: number
  failed: number
  unknown: number
  stopped: number
  error: string | null
  created_at: string
  updated_at: string
  completed_at: string | null
}

export const FINAL_JOB_STATUSES: ReadonlySet<string> = new Set(['completed', 'completed_with_errors', 'stopped', 'failed'])

type Rpc = <T>(fn: string, args?: Record<string, unknown>, options?: { flush?: boolean }) => Promise<T>
type Logger = { warn: (obj: object, msg?: string) => void, error: (obj: object, msg?: string) => void, info?: (obj: object, msg?: string) => void }

export interface JobRunnerOptions<P, S> {
  /** The activity log's rpc: the job functions run on every backend (Supabase through /rpc). */
  rpc: Rpc
  kind: string
  /** Handler calls in flight at once: one per item, or per group of items (see job_create). */
  concurrency: number
  /** How long a claim lives without a heartbeat; a dead worker's items become unknown after it. */
  leaseMs: number
  /** How often an idle runner looks for work another instance created. Default 1 s. */
  idleMs?: number
  /**
   * Sends a batch of items of one job; answers each with its outcome. A ProviderError is an
   * outcome ('failed'), not a throw: a throw means the job cannot go on (it ends failed).
   */
  handle: (job: ClaimedJob<S>, items: Array<ClaimedItem<P>>) => Promise<ItemOutcome[]>
  /**
   * Makes what the handlers wrote (the sends' log rows) durable; awaited before their answers are
   * recorded, so an item never reads sent while its row could still be lost, and a job never ends
   * before its rows are readable.
   */
  settle?: () => Promise<void>
  /**
   * Throws while the handlers' writes could not be taken (the activity log's admit(): its queue is
   * full): the runner then claims nothing until there is room again, as a request would be refused.
   */
  admit?: () => void
  /** Called with the jobs that ended when this runner recorded their last answers. */
  onFinished?: (jobIds: string[]) => void
  /**
   * How the log names a job (`WhatsApp campaign "Diwali offer"`); default its kind and id. The
   * runner logs at info each job it works on: when it takes it up (created here, resumed after a
   * restart, retried, or shared with another instance), every 10 % or 10 s of what it sends, and
   * its end.
   */
  label?: (job: ClaimedJob<S>) => string
  logger?: Logger
  workerId?: string
}

export interface JobRunner {
  readonly workerId: string
  start (): void
  /** Look for work now (after creating a job here). */
  poke (): void
  /** Resolves true once the job has ended (here or on another instance), false after timeoutMs. */
  waitFor (jobId: string, timeoutMs: number): Promise<boolean>
  /** Stops claiming, finishes and records the items in flight. Pending items stay for the next start. */
  stop (): Promise<void>
}

interface Completion { job_id: string, seq: number, state: 'sent' | 'failed', result: unknown, reason: string | null }

export function createJobRunner<P = unknown, S = unknown> (opts: JobRunnerOptions<P, S>): JobRunner {
  const { rpc, kind, leaseMs, logger } = opts
  const idleMs = opts.idleMs ?? 1000
  // How often an idle runner asks after the jobs it logged (a lease is the soonest they can end by expiry).
  const settledCheckMs = Math.max(idleMs, Math.min(5000, leaseMs / 2))
  const workerId = opts.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`

  let started = false
  let stopping = false
  let loop: Promise<void> | undefined
  let inFlight = 0
  const batches = new Set<Promise<void>>()
  let wake: (() => void) | undefined
  let heartbeat: NodeJS.Timeout | undefined

  // What the log says of the jobs this runner works on (bounded: the oldest are forgotten).
  const progress = new Map<string, ProgressLog>()
  const label = opts.label ?? ((job: ClaimedJob<S>) => `${kind} job ${job.id}`)
  /** Announces a job this runner has just claimed items of, before it sends any: what is left of it is exact. */
  async function takenUp (job: ClaimedJob<S>): Promise<void> {
    if (progress.has(job.id) || !logger?.info) return
    if (progress.size >= 1000) progress.delete(progress.keys().next().value!)
    const p = await rpc<JobProgress | null>('job_progress', { p_job_id: job.id }, { flush: false }).catch(() => null)
    const left = p ? Number(p.pending) + Number(p.in_flight) : 0
    progress.set(job.id, progressLog({ info: logger.info.bind(logger) }, label(job), { jobId: job.id, kind }, left))
  }
  function jobsEnded (ids: string[]): void {
    for (const id of ids) {
      const log = progress.get(id)
      if (!log) continue
      progress.delete(id)
      rpc<JobProgress | null>('job_progress', { p_job_id: id }, { flush: false }).then(p => log.end(p?.status ?? 'ended'), () => log.end('ended'))
    }
  }

  /**
   * Jobs this runner took up can end without an answer of its own: their last contacts were a dead
   * worker's claims, settled `unknown` when the lease ran out (inside job_claim). While idle, the
   * runner asks now and then how the jobs it logged stand, and logs the end of those that ended.
   */
  let lastSettledCheck = 0
  async function endSettledJobs (): Promise<void> {
    if (progress.size === 0 || inFlight + ready.length + completions.length > 0 || Date.now() - lastSettledCheck < settledCheckMs) return
    lastSettledCheck = Date.now()
    for (const id of [...progress.keys()].slice(0, 50)) {
      const p = await rpc<JobProgress | null>('job_progress', { p_job_id: id }, { flush: false }).catch(() => undefined)
      if (p === null || (p !== undefined && FINAL_JOB_STATUSES.has(p.status))) {
        progress.get(id)?.end(p?.status ?? 'ended')
        progress.delete(id)
      }
    }
  }

  // Answers waiting to be recorded, written together (one job_complete per ~20 ms at most).
  let completions: Completion[] = []
  let writing: Promise<void> | undefined
  let writeTimer: NodeJS.Timeout | undefined
  const waiters = new Map<string, Set<() => void>>()

  const nap = (ms: number) => new Promise<void>(resolve => {
    const t = setTimeout(done, ms)
    function done () { clearTimeout(t); wake = undefined; resolve() }
    wake = done
  })

  function finished (jobIds: string[]): void {
    for (const id of jobIds) {
      const set = waiters.get(id)
      if (!set) continue
      waiters.delete(id)
      for (const resolve of set) resolve()
    }
  }

  /** Writes the queued answers; retried with backoff while the database is away (the lease may run out meanwhile: a late answer still counts). */
  async function writeCompletions (): Promise<void> {
    let failures = 0
    while (completions.length > 0) {
      const batch = completions.slice(0, 1000)
      try {
        await opts.settle?.()
        const done = await rpc<string[]>('job_complete', { p_worker: workerId, p_results: batch }, { flush: false })
        completions.splice(0, batch.length)
        failures = 0
        finished(done ?? [])
        if (done?.length) {
          jobsEnded(done)
          opts.onFinished?.(done)
        }
      } catch (err) {
        failures++
        if (failures === 1) logger?.warn({ err, pending: completions.length, kind }, 'job runner: could not record answers; retrying')
        if (stopping && failures > 20) {
          logger?.error({ err, lost: completions.length, kind }, 'job runner: gave up recording answers at shutdown; their items will read unknown')
          completions = []
          return
        }
        await sleep(Math.min(2000, 50 * 2 ** Math.min(failures, 6)))
      }
    }
  }

  function flushCompletions (): Promise<void> {
    clearTimeout(writeTimer)
    writeTimer = undefined
    writing ??= writeCompletions().finally(() => {
      writing = undefined
      if (completions.length > 0) scheduleWrite()
    })
    return writing
  }

  function scheduleWrite (): void {
    if (completions.length >= 500) void flushCompletions()
    else writeTimer ??= setTimeout(() => { void flushCompletions() }, 20)
  }

  async function runBatch (job: ClaimedJob<S>, items: Array<ClaimedItem<P>>): Promise<void> {
    let outcomes: ItemOutcome[]
    try {
      outcomes = await opts.handle(job, items)
    } catch (err) {
      logger?.error({ err, job: job.id, kind }, 'job runner: the job cannot go on; it ends failed')
      const reason = `Stopped on an unexpected error (${(err as Error).message}); the service logs have the details.`
      outcomes = items.map(i => ({ seq: i.seq, state: 'failed' as const, reason }))
      rpc('job_fail', { p_job_id: job.id, p_error: reason }).catch(e => logger?.error({ err: e, job: job.id }, 'job runner: could not mark the job failed'))
    }
    for (const o of outcomes) completions.push({ job_id: job.id, seq: o.seq, state: o.state, result: o.result ?? null, reason: o.reason ?? null })
    progress.get(job.id)?.advance(outcomes.length)
    scheduleWrite()
  }

  // Claimed groups waiting for a free slot: a small read-ahead (a quarter of the slots), so a slot
  // that frees up starts its next send at once instead of after a database round trip. If this
  // process dies they read unknown like the sends in flight; a stop gives them back untouched.
  const ready: Array<{ job: ClaimedJob<S>, items: Array<ClaimedItem<P>> }> = []
  const readAhead = Math.max(1, Math.floor(opts.concurrency / 4))

  function pumpReady (): void {
    while (inFlight < opts.concurrency && ready.length > 0 && !stopping) {
      const { job, items } = ready.shift()!
      inFlight++
      const p = runBatch(job, items).finally(() => {
        inFlight--
        batches.delete(p)
        pumpReady()
        wake?.()
      })
      batches.add(p)
    }
  }

  async function release (items: Array<ClaimedItem<P>>): Promise<void> {
    if (items.length === 0) return
    await rpc('job_release', { p_worker: workerId, p_items: items.map(i => ({ job_id: i.job_id, seq: i.seq })) })
      .catch(err => logger?.warn({ err, kind, items: items.length }, 'job runner: could not give back unsent items; they will read unknown after the lease'))
  }

  async function claimLoop (): Promise<void> {
    // A claim waits until it can take a quarter of the slots (or everything is idle): one claim
    // per freed slot would make one database round trip per contact.
    const enough = Math.max(1, Math.floor(opts.concurrency / 4))
    while (!stopping) {
      const want = opts.concurrency + readAhead - inFlight - ready.length
      if (want < enough && inFlight + ready.length > 0) { await nap(idleMs); continue }
      try {
        opts.admit?.()
      } catch {
        // The activity log is full: its sends would add to it. Claimed once it has drained.
        await nap(Math.min(idleMs, 200))
        continue
      }
      let claimed: { items: Array<ClaimedItem<P>>, jobs: Record<string, { kind: string, spec: S }> }
      try {
        // Not behind the write queue: claiming reads nothing this process wrote.
        claimed = await rpc('job_claim', { p_kind: kind, p_worker: workerId, p_limit: want, p_lease_ms: leaseMs }, { flush: false })
      } catch (err) {
        logger?.warn({ err, kind }, 'job runner: could not claim work; trying again')
        await nap(idleMs)
        continue
      }
      if (stopping) {
        // Claimed as the stop began: given back untouched, for the next start.
        await release(claimed.items)
        break
      }
      if (claimed.items.length === 0) {
        await endSettledJobs()
        await nap(idleMs)
        continue
      }
      // Jobs new to this runner are announced in the log before their first sends.
      for (const [id, job] of Object.entries(claimed.jobs)) if (!progress.has(id)) await takenUp({ id, kind: job.kind, spec: job.spec })
      let batch: Array<ClaimedItem<P>> = []
      const flush = () => {
        const first = batch[0]!
        const job = claimed.jobs[first.job_id]!
        ready.push({ job: { id: first.job_id, kind: job.kind, spec: job.spec }, items: batch })
        batch = []
      }
      for (const item of claimed.items) {
        if (batch.length > 0 && (batch[0]!.job_id !== item.job_id || batch[0]!.grp !== item.grp)) flush()
        batch.push(item)
      }
      if (batch.length > 0) flush()
      pumpReady()
    }
  }

  function startHeartbeat (): void {
    heartbeat = setInterval(() => {
      if (inFlight + ready.length === 0) return
      rpc('job_heartbeat', { p_worker: workerId, p_lease_ms: leaseMs }, { flush: false }).catch(err => logger?.warn({ err, kind }, 'job runner: could not renew the lease'))
    }, Math.max(50, Math.floor(leaseMs / 3)))
    heartbeat.unref()
  }

  // Jobs another instance works on: their end is seen by polling their progress.
  async function pollUntilFinished (jobId: string, until: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted && Date.now() < until) {
      await sleep(Math.min(500, Math.max(0, until - Date.now())), undefined, { signal }).catch(() => {})
      if (signal.aborted) return
      const p = await rpc<JobProgress | null>('job_progress', { p_job_id: jobId }, { flush: false }).catch(() => null)
      if (p && FINAL_JOB_STATUSES.has(p.status)) return
    }
  }

  return {
    workerId,

    start () {
      if (started) return
      started = true
      startHeartbeat()
      loop = claimLoop().catch(err => logger?.error({ err, kind }, 'job runner: the claim loop stopped'))
    },

    poke () {
      wake?.()
    },

    async waitFor (jobId, timeoutMs) {
      const progress = await rpc<JobProgress | null>('job_progress', { p_job_id: jobId })
      if (!progress || FINAL_JOB_STATUSES.has(progress.status)) return true
      const until = Date.now() + timeoutMs
      const ended = new AbortController()
      let local: () => void = () => {}
      const here = new Promise<void>(resolve => { local = resolve })
      let set = waiters.get(jobId)
      if (!set) waiters.set(jobId, set = new Set())
      set.add(local)
      const timer = setTimeout(() => ended.abort(), timeoutMs)
      try {
        await Promise.race([here, pollUntilFinished(jobId, until, ended.signal), new Promise<void>(resolve => ended.signal.addEventListener('abort', () => resolve()))])
      } finally {
        clearTimeout(timer)
        ended.abort()
        waiters.get(jobId)?.delete(local)
        if (waiters.get(jobId)?.size === 0) waiters.delete(jobId)
      }
      const after = await rpc<JobProgress | null>('job_progress', { p_job_id: jobId }).catch(() => null)
      return after !== null && FINAL_JOB_STATUSES.has(after.status)
    },

    async stop () {
      stopping = true
      wake?.()
      await loop
      await release(ready.splice(0).flatMap(r => r.items))
      while (batches.size > 0) await Promise.allSettled([...batches])
      await flushCompletions()
      clearInterval(heartbeat)
    }
  }
}

/** A job's contacts by state, as the API shows them. */
export function contactsOf (p: JobProgress): JobContacts {
  return { pending: Number(p.pending), in_flight: Number(p.in_flight), sent: Number(p.sent), failed: Number(p.failed), unknown: Number(p.unknown), stopped: Number(p.stopped) }
}

/** The first contacts of a job that failed or are unknown, with why (job_problems). */
export async function jobProblems (rpc: Rpc, jobId: string, limit = 100): Promise<NonNullable<BatchProgress['problems']>> {
  return await rpc<NonNullable<BatchProgress['problems']>>('job_problems', { p_job_id: jobId, p_limit: limit })
}

/** A bulk send's progress, with its problem contacts listed when it has any (the progress routes). */
export async function batchReport (rpc: Rpc, p: JobProgress, progressUrl: string): Promise<BatchProgress> {
  const progress = batchProgress(p, progressUrl)
  return Number(p.failed) + Number(p.unknown) > 0 ? { ...progress, problems: await jobProblems(rpc, p.id) } : progress
}

/**
 * What a bulk request answers once its job is stored: `answer()` (its results, or its progress),
 * or, when that cannot be read (the database gone away while the request waited), 202 with the
 * stored batch's id while its sends go on. A 503 there ("retry in 5 s") made a client without an
 * Idempotency-Key send the whole bulk a second time.
 */
export async function answerStoredBulk<T> (answer: () => Promise<T>, stored: { id: string, total: number, progressUrl: string }, logger?: Pick<Logger, 'warn'>): Promise<T | { done: false, progress: BatchProgress }> {
  try {
    return await answer()
  } catch (err) {
    logger?.warn({ err, job: stored.id }, 'bulk send stored, but its progress could not be read: answered 202 with its id')
    return {
      done: false,
      progress: {
        batch_id: stored.id,
        status: 'running',
        total: stored.total,
        progress: 0,
        contacts: { pending: stored.total, in_flight: 0, sent: 0, failed: 0, unknown: 0, stopped: 0 },
        progress_url: stored.progressUrl,
        error: null,
        created_at: new Date().toISOString(),
        completed_at: null
      }
    }
  }
}

/** A bulk send's progress reply (the 202, and its progress route). */
export function batchProgress (p: JobProgress, progressUrl: string): BatchProgress {
  const contacts = contactsOf(p)
  const done = contacts.sent + contacts.failed + contacts.unknown + contacts.stopped
  return {
    batch_id: p.id,
    status: p.status,
    total: Number(p.total),
    progress: Number(p.total) > 0 ? Math.round((done / Number(p.total)) * 10_000) / 10_000 : 1,
    contacts,
    progress_url: progressUrl,
    error: p.error,
    created_at: p.created_at,
    completed_at: p.completed_at
  }
}

/**
 * The id of the job a request creates. Under an Idempotency-Key it is the key's work id: a request
 * whose process died after storing its job, retried with the key, finds that job (createJob answers
 * false) and follows it, where a new id sent every contact a second time. Otherwise a new id.
 */
export function newJobId (ctx: { workId?: string | undefined }): string {
  return ctx.workId ?? newRowId()
}

/**
 * Stores a job with all its items in one transaction (job_create). The request that asked for it
 * is answered only after this: when the database cannot take it, the caller gets a 503 and nothing
 * was accepted. False when a job with its id was already stored (a retry: see newJobId).
 */
export async function createJob (rpc: Rpc, codePrefix: string, job: { id: string, kind: string, spec: unknown, row_table?: string, row?: Record<string, unknown> }, items: unknown[]): Promise<boolean> {
  try {
    const stored = await rpc<{ created: boolean }>('job_create', { p_job: job, p_items: items })
    return stored.created
  } catch (err) {
    throw prefixedError(codePrefix, 'DATABASE_UNAVAILABLE', `The database did not store the job (${(err as Error).message}), so nothing was sent. Retry in a moment.`, { headers: { 'retry-after': '5' } })
  }
}

/**
 * Each item with the id of the log row its send will write (`row_id`). A worker writes the row
 * (the provider's answer) before it records the answer in the job; when it dies between the two,
 * its expired claim is settled from that row (job_expire_claims) instead of becoming `unknown`,
 * so a retry of the unknown contacts does not send them twice. job_retry gives each item it puts
 * back a new row_id.
 */
export function withRowIds<P extends object> (items: P[]): Array<P & { row_id: string }> {
  return items.map(item => ({ ...item, row_id: newRowId() }))
}

/**
 * Puts a job's unknown and failed items back (job_retry) and answers with `read()`, made before
 * the runner is woken: the answer is what the retry did (the job running again), not a later state
 * (a retried contact the provider refuses at once could end the job first).
 */
export async function retryJob<T> (rpc: Rpc, runner: JobRunner, jobId: string, read: () => Promise<T>, simulationHeaders?: Record<string, string>): Promise<T> {
  // Under the retry's own x-switchboard-* headers, not the first request's (job_retry_as).
  await rpc('job_retry_as', { p_job_id: jobId, p_simulation_headers: simulationHeaders ?? {} })
  const answer = await read()
  runner.poke()
  return answer
}

/** One item of a job with what became of it, as job_results returns them (a bulk send's reply). */
export interface JobItemResult<P = unknown, R = unknown> {
  seq: number
  state: 'pending' | 'claimed' | 'sent' | 'failed' | 'unknown' | 'stopped'
  payload: P
  result: R | null
  reason: string | null
}

/**
 * The 202 rule every bulk send follows, once its job is stored (createJob): waits up to waitMs for
 * the job to end, and answers every item with its result when it did, or the job's progress (for a
 * 202 with the batch id) when it did not; the sends go on either way.
 */
export async function awaitBulk<P = unknown, R = unknown> (rpc: Rpc, runner: JobRunner, jobId: string, waitMs: number): Promise<{ done: true, items: Array<JobItemResult<P, R>> } | { done: false, progress: JobProgress }> {
  runner.poke()
  if (!await runner.waitFor(jobId, Math.max(0, waitMs))) {
    const progress = await rpc<JobProgress | null>('job_progress', { p_job_id: jobId })
    if (progress) return { done: false, progress }
  }
  return { done: true, items: await rpc<Array<JobItemResult<P, R>>>('job_results', { p_job_id: jobId }) }
}
