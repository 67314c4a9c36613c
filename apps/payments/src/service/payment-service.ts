import { movesFrom, newRowId, type ActivityLog, type Filter, type Row } from '@switchboard/activity-log'
import { type Mode, UUID } from '@switchboard/schemas/common'
import type {
  CreatePaymentLinkRequest, ListPaymentLinksQuery, PaymentLink, PaymentLinkList, PaymentStats, PaymentWebhookReply,
  ResendPaymentLinkReply, ResendPaymentLinkRequest, SimulatePaymentReply, SimulatePaymentRequest
} from '@switchboard/schemas/payments'
import { clockStamp } from '@switchboard/service-kit/clock'
import { appError, ServiceError } from '@switchboard/service-kit/errors'
import { ProviderError, providerErrorToServiceError, providerRequest } from '@switchboard/service-kit/provider-client'
import type { CallContext } from '@switchboard/service-kit/provider-clients'
import type { RuntimeSettings } from '@switchboard/service-kit/runtime-settings'
import { webhookUnauthorized } from '@switchboard/service-kit/webhook-receiver'
import { amountProblem, normaliseAmount } from '../amount.ts'
import type { InstamojoClient } from '../client/instamojo-client.ts'
import { parseWebhookForm, verifyMac } from '../instamojo-webhooks.ts'

export interface PaymentServiceDeps {
  activityLog: ActivityLog
  runtime: RuntimeSettings
  /** The Instamojo client for a mode; throws PROVIDER_NOT_CONFIGURED when live has no credentials. */
  clientFor: (mode: Mode) => InstamojoClient
  /** Where Instamojo should post this mode's webhooks (our own receiver), if it can reach us. */
  webhookUrl: (mode: Mode) => string | undefined
  /** The salt that signs this mode's webhooks: the emulator's in mock mode, INSTAMOJO_SALT in live. */
  saltFor: (mode: Mode) => string | undefined
  /** Default redirect_url for new links. */
  redirectUrl?: string
  /** The email and WhatsApp services, for resending links (where they listen now: a stack on port 0 knows only once they do). */
  emailServiceUrl: () => string
  whatsappServiceUrl: () => string
  /** The internal credential the sibling services ask for. */
  serviceHeaders: Record<string, string>
  timeoutMs: number
}

const TABLE = 'payments' as const
const LIVE_HINT = 'Check INSTAMOJO_CLIENT_ID/INSTAMOJO_CLIENT_SECRET (or INSTAMOJO_API_KEY/INSTAMOJO_AUTH_TOKEN) and INSTAMOJO_ENV.'

/** The status a payment outcome moves a row to; the activity log's rule keeps it forward only (paid is final). */
const MOVES = { Credit: 'paid', Failed: 'failed' } as const

export interface PaymentOutcome {
  paymentId: string
  status: 'Credit' | 'Failed'
  fees: string | null
  failure: string | null
}

export function createPaymentService (deps: PaymentServiceDeps) {
  const { activityLog } = deps
  const modeNow = () => deps.runtime.get('payments').mode
  const asLink = (row: Row) => row as unknown as PaymentLink

  async function findRow (idOrRequestId: string): Promise<PaymentLink> {
    const where: Filter = UUID.test(idOrRequestId) ? { id: idOrRequestId.toLowerCase() } : { payment_request_id: idOrRequestId }
    const [row] = await activityLog.select(TABLE, { where, limit: 1 })
    if (!row) throw appError('PAYMENTS_LINK_NOT_FOUND', `No payment link ${idOrRequestId}. Use the id (or payment_request_id) from the create reply or the list.`)
    return asLink(row)
  }

  /**
   * Moves a row on a payment's outcome if the move is allowed from its current status, with the
   * same guard in the database update, so replays, late or out-of-order deliveries change nothing.
   */
  async function applyOutcome (row: PaymentLink, o: PaymentOutcome): Promise<{ applied: boolean, row: PaymentLink }> {
    const to = MOVES[o.status]
    if (!movesFrom(TABLE, to)!.includes(row.status)) return { applied: false, row }
    const now = clockStamp(deps.runtime.clock) ?? new Date().toISOString()
    const patch = o.status === 'Credit'
      ? { status: to, payment_id: o.paymentId, fees: o.fees, paid_at: now, error: null, error_code: null, updated_at: now }
      : { status: to, payment_id: o.paymentId, error: o.failure ?? 'The payment failed.', error_code: 'payment_failed', updated_at: now }
    await activityLog.advance(TABLE, 'id', row.id, to, patch)
    return { applied: true, row: { ...row, ...patch } }
  }

  /**
   * create_payment_link(amount, purpose, buyer_name, email, phone). A retry with an Idempotency-Key
   * is answered by the idempotency plugin (service-kit) before this runs.
   */
  async function createPaymentLink (input: CreatePaymentLinkRequest, ctx: CallContext): Promise<PaymentLink> {
    const problem = amountProblem(input.amount)
    if (problem) throw appError('PAYMENTS_INVALID_REQUEST', `body/amount: ${problem}.`, { details: [{ field: 'body/amount', message: problem }] })
    return create(input, normaliseAmount(input.amount)!, ctx)
  }

  async function create (input: CreatePaymentLinkRequest, amount: string, ctx: CallContext): Promise<PaymentLink> {
    const mode = modeNow()
    const client = deps.clientFor(mode)
    const id = newRowId()
    const started = performance.now()
    // On a clock that is not real time (a data set's history), when it happened on that clock.
    const now = clockStamp(deps.runtime.clock) ?? new Date().toISOString()
    const base: PaymentLink = {
      id,
      mode,
      status: 'pending',
      amount,
      currency: 'INR',
      purpose: input.purpose,
      buyer_name: input.buyer_name ?? null,
      email: input.email ?? null,
      phone: input.phone ?? null,
      payment_request_id: null,
      payment_id: null,
      longurl: null,
      shorturl: null,
      fees: null,
      error: null,
      error_code: null,
      latency_ms: null,
      request_id: ctx.requestId,
      paid_at: null,
      created_at: now,
      updated_at: now
    }
    try {
      const pr = await client.createPaymentRequest({
        amount,
        purpose: input.purpose,
        buyer_name: input.buyer_name,
        email: input.email,
        phone: input.phone,
        redirect_url: input.redirect_url ?? deps.redirectUrl,
        webhook: deps.webhookUrl(mode),
        send_email: input.send_email,
        send_sms: input.send_sms,
        // A link is for one payment: once paid it closes.
        allow_repeated_payments: false
      }, ctx.simulationHeaders)
      const link: PaymentLink = { ...base, payment_request_id: pr.id, longurl: pr.longurl, shorturl: pr.shorturl, phone: pr.phone ?? base.phone, latency_ms: Math.round(performance.now() - started) }
      // Answered once the row is stored: an acknowledged link always has its record.
      await activityLog.record(TABLE, link)
      return link
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err
      const latencyMs = Math.round(performance.now() - started)
      await activityLog.record(TABLE, { ...base, status: 'failed', error: err.message, error_code: err.kind, latency_ms: latencyMs })
      const mapped = providerErrorToServiceError('PAYMENTS', err, LIVE_HINT)
      throw new ServiceError(mapped.statusCode, mapped.code, mapped.message, { details: { id, provider: err.toJSON() }, headers: mapped.headers })
    }
  }

  /**
   * get_payment_status(payment_id): the link's row; an unpaid one is first brought up to date from
   * Instamojo (in its own mode), so a missed webhook still ends in the right status.
   */
  async function getPaymentStatus (idOrRequestId: string, ctx: CallContext): Promise<PaymentLink> {
    let row = await findRow(idOrRequestId)
    if (row.status === 'paid' || !row.payment_request_id) return row
    try {
      const client = deps.clientFor(row.mode)
      const pr = await client.getPaymentRequest(row.payment_request_id, ctx.simulationHeaders)
      if (pr.shorturl && !row.shorturl) {
        // Instamojo fills the short URL in after creation.
        await activityLog.recordUpdate(TABLE, { id: row.id }, { shorturl: pr.shorturl })
        row = { ...row, shorturl: pr.shorturl }
      }
      const last = pr.payments[pr.payments.length - 1]
      if (!last || last === row.payment_id) return row
      const payment = await client.getPayment(last)
      if (payment.status === 'Initiated') return row
      return (await applyOutcome(row, { paymentId: payment.id, status: payment.status, fees: payment.fees, failure: payment.failure?.message ?? null })).row
    } catch (err) {
      // Instamojo unreachable or not configured: the stored status is still the best answer.
      if (err instanceof ProviderError || err instanceof ServiceError) return row
      throw err
    }
  }

  /** simulate_payment_completion(payment_id, success_rate): mock mode only. */
  async function simulatePaymentCompletion (idOrRequestId: string, input: SimulatePaymentRequest, ctx: CallContext): Promise<SimulatePaymentReply> {
    const row = await findRow(idOrRequestId)
    if (modeNow() === 'live' || row.mode === 'live') {
      throw appError('PAYMENTS_SIMULATION_LIVE_MODE',
        `simulate_payment_completion works only on mock links in mock mode (this link is ${row.mode}, the service is in ${modeNow()} mode). A live payment is made by the buyer at ${row.longurl ?? 'its Instamojo link'}; it is never simulated.`)
    }
    if (!row.payment_request_id) throw appError('PAYMENTS_LINK_NOT_CREATED', `Link ${row.id} was never created at Instamojo (${row.error ?? 'it failed'}), so it cannot be paid. Create a new link.`)
    if (row.status === 'paid') throw appError('PAYMENTS_ALREADY_PAID', `Link ${row.id} is already paid (payment ${row.payment_id}).`)
    const started = performance.now()
    let completed
    try {
      completed = await deps.clientFor('mock').completePayment(row.payment_request_id, { outcome: input.outcome, success_rate: input.success_rate }, ctx.simulationHeaders)
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err
      const mapped = providerErrorToServiceError('PAYMENTS', err)
      throw new ServiceError(mapped.statusCode, mapped.code, mapped.message, { details: { id: row.id, provider: err.toJSON() }, headers: mapped.headers })
    }
    const p = completed.payment
    const status = p.status === 'Credit' ? 'Credit' : 'Failed'
    const failure = p.failure?.message ?? null
    // The emulator's webhook will say the same; whichever lands first moves the row, the other changes nothing.
    const { row: after } = await applyOutcome(row, { paymentId: p.id, status, fees: p.fees, failure })
    return {
      id: row.id,
      mode: row.mode,
      status: after.status,
      payment_request_id: row.payment_request_id,
      payment_id: p.id,
      payment_status: status,
      amount: p.amount,
      fees: p.fees,
      failure,
      latency_ms: Math.round(performance.now() - started)
    }
  }

  /** get_payment_stats() */
  async function getPaymentStats (): Promise<PaymentStats> {
    const s = await activityLog.rpc<Omit<PaymentStats, 'conversion_rate'>>('payments_stats')
    const created = Number(s.created)
    return { ...s, conversion_rate: created ? Math.round((Number(s.paid) / created) * 10_000) / 10_000 : 0 }
  }

  async function listPaymentLinks (q: ListPaymentLinksQuery): Promise<PaymentLinkList> {
    const where: Filter = q.status ? { status: q.status } : {}
    const [items, total] = await Promise.all([
      activityLog.select(TABLE, { where, orderBy: { column: 'created_at', ascending: false }, limit: q.limit, offset: q.offset }),
      activityLog.count(TABLE, where)
    ])
    return { items: items.map(asLink), total, limit: q.limit, offset: q.offset }
  }

  /**
   * process_webhook(webhook_data): Instamojo's form-encoded post, verified on its exact bytes with
   * the salt of the link's own mode (a mock link's MAC never opens a live one). A missing or wrong
   * MAC is refused with no change; a replay changes nothing.
   */
  async function processWebhook (raw: Buffer): Promise<PaymentWebhookReply> {
    const unauthorized = () => webhookUnauthorized('PAYMENTS')
    const form = parseWebhookForm(raw)
    if ('repeated' in form) throw appError('PAYMENTS_WEBHOOK_INVALID_BODY', `The webhook repeats the field ${JSON.stringify(form.repeated)}; Instamojo sends each field once.`)
    const { fields } = form
    if (!fields.mac) throw unauthorized()
    const requestId = fields.payment_request_id ?? ''
    const [found] = /^[0-9a-f]{32}$/.test(requestId) ? await activityLog.select(TABLE, { where: { payment_request_id: requestId }, limit: 1 }) : []
    const row = found ? asLink(found) : undefined
    if (row) {
      const salt = deps.saltFor(row.mode)
      if (!salt) {
        throw appError('PROVIDER_NOT_CONFIGURED', 'A live Instamojo webhook arrived but INSTAMOJO_SALT is not set, so it cannot be verified. Set it from Instamojo\'s developers page; Instamojo retries the webhook.', { details: { missing: ['INSTAMOJO_SALT'] } })
      }
      if (!verifyMac(fields, salt)) throw unauthorized()
    } else {
      // Unknown link: accept only what one of our salts signed, and change nothing.
      const salts = (['mock', 'live'] as const).map(m => deps.saltFor(m)).filter((s): s is string => !!s)
      if (!salts.some(s => verifyMac(fields, s))) throw unauthorized()
    }
    const status = fields.status
    const reply = { received: true as const, payment_request_id: requestId, payment_id: fields.payment_id ?? '', status: status ?? '' }
    if (status === undefined) throw appError('PAYMENTS_WEBHOOK_INVALID_BODY', 'The webhook has no status field; Instamojo sends status=Credit or status=Failed.')
    if (status !== 'Credit' && status !== 'Failed') throw appError('PAYMENTS_WEBHOOK_INVALID_BODY', `Unknown payment status ${JSON.stringify(status)}; Instamojo sends Credit or Failed.`)
    if (!fields.payment_id) throw appError('PAYMENTS_WEBHOOK_INVALID_BODY', 'The webhook has no payment_id.')
    if (!row) return { ...reply, applied: false, reason: 'no payment link with this payment_request_id' }
    if (normaliseAmount(fields.amount ?? '') !== row.amount) {
      return { ...reply, applied: false, reason: `amount ${fields.amount} does not match the link's ${row.amount}; nothing changed` }
    }
    const { applied } = await applyOutcome(row, { paymentId: fields.payment_id, status, fees: normaliseAmount(fields.fees ?? '') ?? null, failure: status === 'Failed' ? 'The payment failed (Instamojo webhook).' : null })
    return applied ? { ...reply, applied } : { ...reply, applied, reason: `the link is already ${row.status}` }
  }

  /** Sends the link again by email (email service) and WhatsApp (WhatsApp service), each reported on its own. */
  async function resendPaymentLink (idOrRequestId: string, input: ResendPaymentLinkRequest, ctx: CallContext): Promise<ResendPaymentLinkReply> {
    const row = await findRow(idOrRequestId)
    if (!row.longurl) throw appError('PAYMENTS_LINK_NOT_CREATED', `Link ${row.id} was never created at Instamojo, so there is nothing to resend. Create a new link.`)
    if (row.status === 'paid') throw appError('PAYMENTS_ALREADY_PAID', `Link ${row.id} is already paid; there is nothing to remind the buyer of.`)
    const wanted = input.channels ?? [...(row.email ? ['email' as const] : []), ...(row.phone ? ['whatsapp' as const] : [])]
    if (!wanted.length) throw appError('PAYMENTS_NO_CONTACT', `Link ${row.id} has neither an email nor a phone number to resend it to.`)
    const link = row.shorturl ?? row.longurl
    const name = row.buyer_name ?? 'there'
    const headers = { ...deps.serviceHeaders, 'x-request-id': ctx.requestId }
    const post = async (service: string, baseUrl: string, path: string, json: unknown) => {
      try {
        const res = await providerRequest<{ id?: string, message_id?: string, message?: string }>(service, { method: 'POST', baseUrl, path, json, headers, timeoutMs: deps.timeoutMs })
        if (res.statusCode >= 200 && res.statusCode < 300) {
          const id = res.body?.id ?? res.body?.message_id
          return { status: 'sent' as const, ...(typeof id === 'string' ? { id } : {}) }
        }
        return { status: 'failed' as const, error: `the ${service} answered HTTP ${res.statusCode}${res.body?.message ? `: ${res.body.message}` : ''}` }
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err
        return { status: 'failed' as const, error: `the ${service} at ${baseUrl} could not be reached (${err.message})` }
      }
    }
    const channels: ResendPaymentLinkReply['channels'] = {}
    await Promise.all(wanted.map(async channel => {
      if (channel === 'email') {
        channels.email = !row.email
          ? { status: 'skipped', error: 'the link has no email' }
          : await post('email service', deps.emailServiceUrl(), '/emails', {
            to_email: row.email,
            subject: `Payment request: ${row.purpose} (₹${row.amount})`,
            content: `<p>Hello ${escapeHtml(name)},</p><p>This is a reminder to pay ₹${row.amount} for ${escapeHtml(row.purpose)}.</p><p><a href="${escapeHtml(link)}">Pay now</a></p>`
          })
      } else {
        channels.whatsapp = !row.phone
          ? { status: 'skipped', error: 'the link has no phone number' }
          : await post('WhatsApp service', deps.whatsappServiceUrl(), '/messages', { to_number: row.phone, template_name: 'payment_reminder', params: [name, row.amount, link] })
      }
    }))
    const results = Object.values(channels)
    const sent = results.filter(r => r.status === 'sent').length
    if (sent === 0 && results.some(r => r.status === 'failed')) {
      throw appError('PAYMENTS_RESEND_FAILED', `The link could not be resent on any channel: ${results.map(r => r.error).filter(Boolean).join('; ')}.`, { details: { id: row.id, channels } })
    }
    return { id: row.id, longurl: row.longurl, sent, channels }
  }

  return { createPaymentLink, getPaymentStatus, simulatePaymentCompletion, getPaymentStats, listPaymentLinks, processWebhook, resendPaymentLink }
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

export type PaymentService = ReturnType<typeof createPaymentService>
