import { isRowId, newRowId, type ActivityLog, type EmailLogRow } from '@switchboard/activity-log'
import type { BulkEmailReply, BulkEmailRequest, EmailLog, EmailStats, SendEmailReply, SendEmailRequest } from '@switchboard/schemas/email'
import type { BatchProgress, Mode } from '@switchboard/schemas/common'
import { clockStamp } from '@switchboard/service-kit/clock'
import { appError, ServiceError } from '@switchboard/service-kit/errors'
import { ProviderError, providerErrorToServiceError } from '@switchboard/service-kit/provider-client'
import type { CallContext } from '@switchboard/service-kit/provider-clients'
import { answerStoredBulk, batchReport, createJob, createJobRunner, newJobId, retryJob, type ClaimedItem, type ClaimedJob, type ItemOutcome, type JobProgress } from '@switchboard/service-kit/job-runner'
import type { RuntimeSettings } from '@switchboard/service-kit/runtime-settings'
import { withFallback } from '@switchboard/service-kit/fallback'
import type { SendGridClient } from '../client/sendgrid-client.ts'
import { LOG_ID_ARG } from '../sendgrid-webhooks.ts'
import { planBulkGroups, requestBody } from './bulk-groups.ts'

export interface EmailServiceDeps {
  activityLog: ActivityLog
  runtime: RuntimeSettings
  /** The SendGrid client for a mode; throws PROVIDER_NOT_CONFIGURED when live has no key. */
  clientFor: (mode: Mode) => SendGridClient
  from: { email: string, name: string }
  /** Provider requests in flight at once for bulk sends (per instance). */
  bulkConcurrency: number
  /** Pack recipients with different bodies into one request through SendGrid's substitutions (EMAIL_BULK_SUBSTITUTIONS). */
  bulkSubstitutions: boolean
  /** How long a worker's claim on a recipient lives without renewal (JOB_LEASE_MS). */
  leaseMs: number
  /** How long a bulk send waits for its answers before replying 202 (BULK_WAIT_MS). */
  bulkWaitMs: number
  logger?: { warn: (obj: object, msg?: string) => void, error: (obj: object, msg?: string) => void, info?: (obj: object, msg?: string) => void }
}

const BULK_KIND = 'email.bulk'
const withRowId = (id: string) => ({ id, row_id: id })

/** What every recipient of a bulk send shares, stored with the job. */
interface BulkSpec {
  mode: Mode
  sender: { email: string, name: string }
  request_id: string
  simulation_headers?: Record<string, string>
}

/**
 * One recipient of a bulk send, as stored: its log row id, and its group (one SendGrid request).
 * `row_id` is the row its next send writes: `id` at first, a new one after each retry (job_retry),
 * so a retried recipient's new attempt has a row of its own. Jobs stored before it use `id`.
 */
interface BulkItem {
  id: string
  row_id?: string
  group: number
  to_email: string
  subject: string
  content: string
  content_type?: 'text/plain' | 'text/html'
}

const LIVE_KEY_HINT = 'Check SENDGRID_API_KEY.'

/** The custom arg that ties SendGrid's events back to our log row. */
export { LOG_ID_ARG }

// The status each Event Webhook event moves a row to; the activity log keeps rows moving forward
// only (a 'processed' after 'delivered' changes nothing).
const EVENT_STATUS: Record<string, { status: string, failure?: boolean }> = {
  processed: { status: 'processed' },
  deferred: { status: 'deferred' },
  delivered: { status: 'delivered' },
  bounce: { status: 'bounced', failure: true },
  dropped: { status: 'dropped', failure: true },
  open: { status: 'opened' },
  click: { status: 'clicked' },
  spamreport: { status: 'spam_report' },
  unsubscribe: { status: 'unsubscribed' }
}

export function createEmailService (deps: EmailServiceDeps) {
  const { activityLog } = deps
  const content = (type: string | undefined, value: string) => [{ type: type ?? 'text/html', value }]
  const from = (email?: string, name?: string) => ({ email: email ?? deps.from.email, name: name ?? deps.from.name })

  const stamped = () => { const at = clockStamp(deps.runtime.clock); return at === undefined ? {} : { created_at: at, updated_at: at } }

  /** `at`: the stamp taken when the send began (stamped()); SendGrid's events are dated from its receipt, never before it. */
  function logRow (row: { id: string, mode: Mode, fallback?: boolean, to_email: string, subject: string, status: string, ctx: CallContext, batchId?: string, from: string, providerMessageId?: string | null, error?: string, errorCode?: string, latencyMs: number, at: ReturnType<typeof stamped> }): EmailLogRow {
    return {
      id: row.id,
      request_id: row.ctx.requestId,
      mode: row.mode,
      fallback: row.fallback ?? false,
      batch_id: row.batchId ?? null,
      to_email: row.to_email,
      from_email: row.from,
      subject: row.subject,
      status: row.status,
      provider_message_id: row.providerMessageId ?? null,
      error: row.error ?? null,
      error_code: row.errorCode ?? null,
      latency_ms: row.latencyMs,
      // On a clock that is not real time (a data set's history), when it happened on that clock.
      ...row.at
    }
  }

  /** send_email(to_email, subject, content) */
  async function sendEmail (input: SendEmailRequest, ctx: CallContext): Promise<SendEmailReply> {
    const { mode, fallback } = deps.runtime.get('email')
    deps.clientFor(mode) // refuses at once when live mode has no key, before anything is logged
    const id = newRowId()
    const sender = from(input.from_email, input.from_name)
    const started = performance.now()
    const base = { id, mode, to_email: input.to_email, subject: input.subject, ctx, from: sender.email, at: stamped() }
    try {
      const routed = await withFallback(mode, fallback, m => deps.clientFor(m).sendMail({
        personalizations: [{ to: [{ email: input.to_email }], custom_args: { [LOG_ID_ARG]: id } }],
        from: sender,
        subject: input.subject,
        content: content(input.content_type, input.content)
      }, ctx.simulationHeaders))
      const latencyMs = Math.round(performance.now() - started)
      const messageId = routed.result.messageId
      // Answered once the row is stored: an acknowledged send always has its record.
      await activityLog.record('email_logs', logRow({ ...base, mode: routed.mode, fallback: routed.fallback, status: 'sent', providerMessageId: messageId, latencyMs }))
      return { success: true, id, status: 'sent', provider_message_id: messageId ?? '', mode: routed.mode, latency_ms: latencyMs }
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err
      const latencyMs = Math.round(performance.now() - started)
      await activityLog.record('email_logs', logRow({ ...base, status: 'failed', error: err.message, errorCode: err.kind, latencyMs }))
      const mapped = providerErrorToServiceError('EMAIL', err, LIVE_KEY_HINT)
      throw new ServiceError(mapped.statusCode, mapped.code, mapped.message, { details: { id, provider: err.toJSON() }, headers: mapped.headers })
    }
  }

  // --- bulk sends: jobs in the database (service-kit's job runner) -----------------------------

  const rpc = <T>(fn: string, args?: Record<string, unknown>, options?: { flush?: boolean }) => activityLog.rpc<T>(fn, args, options)

  /**
   * Sends one group of a bulk send (see bulk-groups.ts): up to 1,000 recipients in one SendGrid
   * request, their bodies shared or substituted. A recipient SendGrid refuses by field (personalizations.N…) is taken out and the
   * rest are sent again, as a careful integration does, so one bad address never fails a
   * thousand good ones.
   */
  async function sendGroup (job: ClaimedJob<BulkSpec>, items: Array<ClaimedItem<BulkItem>>): Promise<ItemOutcome[]> {
    const { mode, sender, request_id: requestId, simulation_headers: simulationHeaders } = job.spec
    const ctx: CallContext = { requestId }
    const outcomes: ItemOutcome[] = []
    const rowOf = (r: ClaimedItem<BulkItem>) => r.payload.row_id ?? r.payload.id
    let at = stamped()
    const fail = (r: ClaimedItem<BulkItem>, error: string, code: string, latencyMs: number) => {
      activityLog.record('email_logs', logRow({ id: rowOf(r), mode, to_email: r.payload.to_email, subject: r.payload.subject, status: 'failed', ctx, batchId: job.id, from: sender.email, error, errorCode: code, latencyMs, at }))
      outcomes.push({ seq: r.seq, state: 'failed', result: { id: rowOf(r) }, reason: error })
    }
    let pending = items
    // A few rounds at most: each round removes at least one refused recipient.
    for (let round = 0; round < 10 && pending.length; round++) {
      const t0 = performance.now()
      at = stamped()
      try {
        const body = requestBody(pending.map(r => r.payload))
        const routed = await withFallback(mode, deps.runtime.get('email').fallback, m => deps.clientFor(m).sendMail({
          personalizations: pending.map(r => {
            const substitutions = body.substitutionsOf(r.payload)
            return { to: [{ email: r.payload.to_email }], subject: r.payload.subject, ...(substitutions ? { substitutions } : {}), custom_args: { [LOG_ID_ARG]: rowOf(r) } }
          }),
          from: sender,
          content: body.content
        }, simulationHeaders))
        const latencyMs = Math.round(performance.now() - t0)
        for (const r of pending) {
          activityLog.record('email_logs', logRow({ id: rowOf(r), mode: routed.mode, fallback: routed.fallback, to_email: r.payload.to_email, subject: r.payload.subject, status: 'sent', ctx, batchId: job.id, from: sender.email, providerMessageId: routed.result.messageId, latencyMs, at }))
          outcomes.push({ seq: r.seq, state: 'sent', result: { id: rowOf(r), provider_message_id: routed.result.messageId ?? null, request: `${job.id}:${r.grp}:${round}` } })
        }
        return outcomes
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err
        const latencyMs = Math.round(performance.now() - t0)
        const refused = refusedPersonalizations(err)
        if (err.kind === 'rejected' && refused.size && refused.size < pending.length) {
          for (const i of refused) fail(pending[i]!, err.message, err.kind, latencyMs)
          pending = pending.filter((_r, i) => !refused.has(i))
          continue
        }
        for (const r of pending) fail(r, err.message, err.kind, latencyMs)
        return outcomes
      }
    }
    return outcomes
  }

  const runner = createJobRunner<BulkItem, BulkSpec>({ rpc, kind: BULK_KIND, concurrency: deps.bulkConcurrency, leaseMs: deps.leaseMs, handle: sendGroup, settle: () => activityLog.flush(30_000), admit: () => activityLog.admit(), label: job => `Bulk email (${job.id})`, ...(deps.logger ? { logger: deps.logger } : {}) })

  /**
   * send_bulk_emails(email_list): stored as a job (every recipient, before the answer); then
   * recipients go out up to 1,000 per SendGrid request (bulk-groups.ts), requests running
   * concurrently in a bounded pool (on every instance sharing the database). Answered with the
   * totals once every recipient has an answer within BULK_WAIT_MS; otherwise 202 with the batch's
   * progress while the sends go on (GET …/email/batch/{batch_id} follows them): never a gateway
   * timeout while the work continues.
   */
  async function sendBulkEmails (input: BulkEmailRequest, ctx: CallContext): Promise<{ done: true, reply: BulkEmailReply } | { done: false, progress: BatchProgress }> {
    const { mode } = deps.runtime.get('email')
    deps.clientFor(mode) // refuses at once when live mode has no key
    // A retry under the same Idempotency-Key after a crash takes up the batch its first attempt stored.
    const batchId = newJobId(ctx)
    const sender = from(input.from_email, input.from_name)
    const started = performance.now()

    // A group's recipients are consecutive and numbered by group: a group is one request.
    const items: BulkItem[] = []
    planBulkGroups(input.email_list, { pack: deps.bulkSubstitutions }).forEach((members, group) => {
      for (const item of members) items.push({ ...withRowId(newRowId()), group, to_email: item.to_email, subject: item.subject, content: item.content, ...(item.content_type ? { content_type: item.content_type } : {}) })
    })
    const spec: BulkSpec = { mode, sender, request_id: ctx.requestId, ...(ctx.simulationHeaders && Object.keys(ctx.simulationHeaders).length > 0 ? { simulation_headers: ctx.simulationHeaders } : {}) }
    await createJob(rpc, 'EMAIL', { id: batchId, kind: BULK_KIND, spec }, items)
    return await answerStoredBulk(async () => {
      runner.poke()
      // The bound counts from the request's start: storing the job is part of the wait.
      if (!await runner.waitFor(batchId, Math.max(0, deps.bulkWaitMs - (performance.now() - started)))) return { done: false as const, progress: await getBatch(batchId) }

      const results = await rpc<Array<{ state: string, payload: BulkItem, result: { request?: string } | null, reason: string | null }>>('job_results', { p_job_id: batchId })
      const accepted = results.filter(r => r.state === 'sent').length
      const failures = results.filter(r => r.state !== 'sent').slice(0, 100).map(r => ({ to_email: r.payload.to_email, error: r.reason ?? r.state }))
      // Requests made: one per group sent, plus one per round that refused some recipients.
      const requests = new Set(results.map(r => r.result?.request ?? `${r.payload.group}:refused`)).size
      return { done: true as const, reply: { batch_id: batchId, mode, total: results.length, accepted, failed: results.length - accepted, requests, duration_ms: Math.round(performance.now() - started), failures } }
    }, { id: batchId, total: items.length, progressUrl: `/api/automation/email/batch/${batchId}` }, deps.logger)
  }

  /** A bulk send's progress. */
  async function getBatch (id: string): Promise<BatchProgress> {
    const p = await rpc<JobProgress | null>('job_progress', { p_job_id: id })
    if (!p || p.kind !== BULK_KIND) throw appError('EMAIL_BATCH_NOT_FOUND', `No bulk send with id ${id}. Ids are the batch_id of a bulk reply.`)
    return await batchReport(rpc, p, `/api/automation/email/batch/${id}`)
  }

  /**
   * Sends a bulk send's unknown and failed recipients again (each with a row of its own); answers
   * with its progress, the recipients pending again.
   */
  async function retryBatch (id: string, ctx?: CallContext): Promise<BatchProgress> {
    await getBatch(id) // 404 for an id that is not a bulk send's
    return await retryJob(rpc, runner, id, () => getBatch(id), ctx?.simulationHeaders)
  }

  /** get_email_stats() */
  async function getEmailStats (): Promise<EmailStats> {
    const s = await activityLog.rpc<Omit<EmailStats, 'success_rate'>>('email_stats')
    const total = Number(s.total)
    return { ...s, success_rate: total ? Math.round(((total - Number(s.errors)) / total) * 10_000) / 10_000 : 1 }
  }

  async function getEmail (id: string): Promise<EmailLog> {
    const [row] = await activityLog.select('email_logs', { where: { id }, limit: 1 })
    if (!row) throw appError('EMAIL_NOT_FOUND', `No email with id ${id}. Ids come from the send and bulk replies.`)
    return row as unknown as EmailLog
  }

  /**
   * When an event happened, for its move's updated_at: SendGrid's `timestamp` (unix seconds, on the
   * emulators' clock in mock mode), so a post that arrives late (a retry, a data set's history
   * played faster than its events are posted) still dates the move right. The end of that second,
   * or now when that is earlier: never before the event, so never before the row it moves.
   * Without a timestamp the activity log stamps the move when it is made.
   */
  function eventTime (timestamp: unknown): { updated_at?: string } {
    const seconds = Number(timestamp)
    if (!Number.isFinite(seconds) || seconds <= 0) return {}
    return { updated_at: new Date(Math.min(seconds * 1000 + 999, deps.runtime.clock.now())).toISOString() }
  }

  /**
   * Applies a verified Event Webhook batch to the log rows; resolves, once the changes are stored,
   * with how many events were used. The activity log coalesces and groups the moves.
   */
  async function applyEvents (events: Array<Record<string, unknown>>): Promise<number> {
    const moves: Array<Promise<void>> = []
    for (const e of events) {
      const mapping = EVENT_STATUS[String(e.event)]
      const id = e[LOG_ID_ARG]
      // Only our own row ids: a direct send's custom arg of that name (any text) moves nothing.
      if (!mapping || !isRowId(id)) continue
      moves.push(activityLog.advance('email_logs', 'id', id, mapping.status, {
        ...(mapping.failure ? { error: String(e.reason ?? e.event), error_code: String(e.event) } : {}),
        ...eventTime(e.timestamp)
      }))
    }
    await Promise.all(moves)
    return moves.length
  }

  return { sendEmail, sendBulkEmails, getBatch, retryBatch, getEmailStats, getEmail, applyEvents, startJobs: () => runner.start(), stopJobs: () => runner.stop() }
}

/** Indexes of personalizations SendGrid refused by field, e.g. "personalizations.3.to.0.email". */
function refusedPersonalizations (err: ProviderError): Set<number> {
  const out = new Set<number>()
  const errors = (err.providerBody as { errors?: Array<{ field?: string | null }> } | undefined)?.errors ?? []
  for (const e of errors) {
    const m = /^personalizations\.(\d+)\./.exec(e.field ?? '')
    if (m) out.add(Number(m[1]))
  }
  return out
}

export type EmailService = ReturnType<typeof createEmailService>
