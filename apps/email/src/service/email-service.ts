import { randomUUID } from 'node:crypto'
import type { ActivityLog, EmailLogRow } from '@switchboard/activity-log'
import type { BulkEmailReply, BulkEmailRequest, EmailLog, EmailStats, SendEmailReply, SendEmailRequest } from '@switchboard/schemas/email'
import type { Mode } from '@switchboard/schemas/common'
import { ServiceError } from '@switchboard/service-kit/errors'
import { ProviderError, providerErrorToServiceError } from '@switchboard/service-kit/provider-client'
import type { RuntimeSettings } from '@switchboard/service-kit/runtime-settings'
import { withFallback } from '@switchboard/service-kit/fallback'
import { mapWithConcurrency } from '@switchboard/service-kit/simulation'
import type { SendGridClient } from '../client/sendgrid-client.ts'

export interface EmailServiceDeps {
  activityLog: ActivityLog
  runtime: RuntimeSettings
  /** The SendGrid client for a mode; throws PROVIDER_NOT_CONFIGURED when live has no key. */
  clientFor: (mode: Mode) => SendGridClient
  from: { email: string, name: string }
  /** Provider requests in flight at once during a bulk send. */
  bulkConcurrency: number
}

export interface CallContext {
  requestId: string
  /** x-switchboard-* headers to pass to the emulator. */
  simulationHeaders?: Record<string, string>
}

/** SendGrid allows 1,000 personalizations (and 1,000 recipients) per request. */
const MAX_PER_REQUEST = 1000
const LIVE_KEY_HINT = 'Check SENDGRID_API_KEY.'

/** The custom arg that ties SendGrid's events back to our log row. */
export const LOG_ID_ARG = 'sb_log_id'

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

  function logRow (row: { id: string, mode: Mode, fallback?: boolean, to_email: string, subject: string, status: string, ctx: CallContext, batchId?: string, from: string, providerMessageId?: string | null, error?: string, errorCode?: string, latencyMs: number }): EmailLogRow {
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
      latency_ms: row.latencyMs
    }
  }

  /** send_email(to_email, subject, content) */
  async function sendEmail (input: SendEmailRequest, ctx: CallContext): Promise<SendEmailReply> {
    const { mode, fallback } = deps.runtime.get('email')
    deps.clientFor(mode) // refuses at once when live mode has no key, before anything is logged
    const id = randomUUID()
    const sender = from(input.from_email, input.from_name)
    const started = performance.now()
    const base = { id, mode, to_email: input.to_email, subject: input.subject, ctx, from: sender.email }
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

  /**
   * send_bulk_emails(email_list): recipients sharing a body go out together, up to 1,000 per
   * SendGrid request, with requests running concurrently in a bounded pool. A recipient SendGrid
   * refuses by field (personalizations.N…) is taken out and the rest are sent again, as a careful
   * integration does, so one bad address never fails a thousand good ones.
   */
  async function sendBulkEmails (input: BulkEmailRequest, ctx: CallContext): Promise<BulkEmailReply> {
    const { mode, fallback } = deps.runtime.get('email')
    deps.clientFor(mode) // refuses at once when live mode has no key
    const batchId = randomUUID()
    const sender = from(input.from_email, input.from_name)
    const started = performance.now()

    const groups = new Map<string, Array<{ id: string, item: BulkEmailRequest['email_list'][number] }>>()
    for (const item of input.email_list) {
      const key = `${item.content_type ?? 'text/html'}\u0000${item.content}`
      let g = groups.get(key)
      if (!g) groups.set(key, g = [])
      g.push({ id: randomUUID(), item })
    }
    const chunks: Array<Array<{ id: string, item: BulkEmailRequest['email_list'][number] }>> = []
    for (const g of groups.values()) for (let i = 0; i < g.length; i += MAX_PER_REQUEST) chunks.push(g.slice(i, i + MAX_PER_REQUEST))

    let accepted = 0
    let requests = 0
    const failures: BulkEmailReply['failures'] = []
    let failed = 0
    // Every row is stored before the answer; the activity log commits them together.
    const stored: Array<Promise<void>> = []
    const fail = (r: { id: string, item: { to_email: string, subject: string } }, error: string, code: string, latencyMs: number) => {
      failed++
      if (failures.length < 100) failures.push({ to_email: r.item.to_email, error })
      stored.push(activityLog.record('email_logs', logRow({ id: r.id, mode, to_email: r.item.to_email, subject: r.item.subject, status: 'failed', ctx, batchId, from: sender.email, error, errorCode: code, latencyMs })))
    }

    await mapWithConcurrency(chunks, deps.bulkConcurrency, async (chunk) => {
      let pending = chunk
      // A few rounds at most: each round removes at least one refused recipient.
      for (let round = 0; round < 10 && pending.length; round++) {
        const t0 = performance.now()
        requests++
        try {
          const first = pending[0]!.item
          const routed = await withFallback(mode, fallback, m => deps.clientFor(m).sendMail({
            personalizations: pending.map(r => ({ to: [{ email: r.item.to_email }], subject: r.item.subject, custom_args: { [LOG_ID_ARG]: r.id } })),
            from: sender,
            content: content(first.content_type, first.content)
          }, ctx.simulationHeaders))
          const latencyMs = Math.round(performance.now() - t0)
          accepted += pending.length
          for (const r of pending) stored.push(activityLog.record('email_logs', logRow({ id: r.id, mode: routed.mode, fallback: routed.fallback, to_email: r.item.to_email, subject: r.item.subject, status: 'sent', ctx, batchId, from: sender.email, providerMessageId: routed.result.messageId, latencyMs })))
          return
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
          return
        }
      }
    })
    await Promise.all(stored)
    return { batch_id: batchId, mode, total: input.email_list.length, accepted, failed, requests, duration_ms: Math.round(performance.now() - started), failures }
  }

  /** get_email_stats() */
  async function getEmailStats (): Promise<EmailStats> {
    const s = await activityLog.rpc<Omit<EmailStats, 'success_rate'>>('email_stats')
    const total = Number(s.total)
    return { ...s, success_rate: total ? Math.round(((total - Number(s.failed)) / total) * 10_000) / 10_000 : 1 }
  }

  async function getEmail (id: string): Promise<EmailLog> {
    const [row] = await activityLog.select('email_logs', { where: { id }, limit: 1 })
    if (!row) throw new ServiceError(404, 'EMAIL_NOT_FOUND', `No email with id ${id}. Ids come from the send and bulk replies.`)
    return row as unknown as EmailLog
  }

  /**
   * Applies a verified Event Webhook batch to the log rows; resolves, once the changes are stored,
   * with how many events were used. The activity log coalesces and groups the moves.
   */
  async function applyEvents (events: Array<Record<string, unknown>>): Promise<number> {
    const moves: Array<Promise<void>> = []
    const at = new Date().toISOString()
    for (const e of events) {
      const mapping = EVENT_STATUS[String(e.event)]
      const id = e[LOG_ID_ARG]
      if (!mapping || typeof id !== 'string') continue
      moves.push(activityLog.advance('email_logs', 'id', id, mapping.status, mapping.failure
        ? { error: String(e.reason ?? e.event), error_code: String(e.event), updated_at: at }
        : { updated_at: at }))
    }
    await Promise.all(moves)
    return moves.length
  }

  return { sendEmail, sendBulkEmails, getEmailStats, getEmail, applyEvents }
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
