import { createHmac, randomBytes } from 'node:crypto'
import { batcher } from '@switchboard/activity-log'
import { registerSecrets } from '../server/redact.ts'
import { WebhookSender, type OutboxStore, type WebhookSenderOptions } from './webhook-sender.ts'
import type { EventType } from '@switchboard/schemas/events'

/**
 * Events to the team's app: one normalised event per outcome (email.delivered, payment.paid,
 * call.completed, meeting.ended, ...), posted to the endpoints a team registered, in the Standard
 * Webhooks format (https://www.standardwebhooks.com):
 *
 *   webhook-id: msg_…            the event's id (the same on every retry and every endpoint)
 *   webhook-timestamp: 1765000000  unix seconds of this attempt
 *   webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>
 *   body: {"type": "payment.paid", "timestamp": "2026-…", "data": {…the row…}}
 *
 * where key is the base64 part of the endpoint's `whsec_…` secret, decoded.
 *
 * Where they come from: the database. The status tables' triggers (supabase/migrations,
 * create_event_endpoints) fan an event out into the webhook outbox in the same statement that
 * moves a row's status, for every service and mode alike, and only while an endpoint is enabled;
 * Zoom, which keeps no table, calls emitEvents from its webhook receiver. The gateway runs one
 * EventsSender, which signs each attempt as it claims it and posts it with the outbox's backoff.
 */

export { EVENT_TYPES, type EventType } from '@switchboard/schemas/events'

/** The outbox's source for event deliveries. */
export const EVENTS_SOURCE = 'events'

/** A new endpoint secret: `whsec_` and 24 random bytes in base64, as Standard Webhooks providers issue them. */
export function generateEventSecret (): string {
  return `whsec_${randomBytes(24).toString('base64')}`
}

/** Whether `secret` has the whsec_<base64> shape, with at least 16 bytes of key. */
export function isEventSecret (secret: string): boolean {
  if (!secret.startsWith('whsec_')) return false
  const key = secret.slice(6)
  return /^[A-Za-z0-9+/]+={0,2}$/.test(key) && Buffer.from(key, 'base64').length >= 16
}

/** The Standard Webhooks signature header value for one message. */
export function signEvent (secret: string, id: string, timestamp: string, body: string | Buffer): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64')
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64')
  return `v1,${mac}`
}

export interface EventToEmit {
  type: EventType
  data: Record<string, unknown>
  /** When it happened; default now. */
  timestamp?: string
}

const emitters = new WeakMap<OutboxStore, (events: EventToEmit[]) => Promise<void>>()

/**
 * Emits events from application code (Zoom's meetings, which have no table): one outbox row per
 * enabled endpoint that wants the type, none when there is none. Calls made together go to the
 * database together (one fan_out_events per batch: every Zoom meeting that starts is a call).
 * Errors are the caller's to log: an event lost here never blocks the request.
 */
export async function emitEvents (store: OutboxStore, events: EventToEmit[]): Promise<void> {
  if (events.length === 0) return
  let emit = emitters.get(store)
  if (emit === undefined) {
    emit = batcher<EventToEmit[], void>(async batches => {
      const payload = batches.flat().map(e => ({ type: e.type, timestamp: e.timestamp ?? new Date().toISOString(), data: e.data }))
      await store.rpc<number>('fan_out_events', { p_events: payload }, { flush: false })
      return batches.map(() => undefined)
    })
    emitters.set(store, emit)
  }
  await emit(events)
}

interface ClaimedRow { id: string, label: string, headers: Record<string, string>, body: string, body_encoding: string }

export interface EventsSenderOptions extends Omit<WebhookSenderOptions, 'source' | 'urlSecrets' | 'retryDelaysMs'> {
  /** Now, in ms (tests). */
  now?: () => number
}

/**
 * Delivers the outbox's event rows. The webhook outbox (webhook-sender.ts) does the durable part:
 * claims under a lease, backoff from the row's own delays, taken up after a restart. The one thing
 * events add is a signature made at attempt time (Standard Webhooks receivers refuse timestamps
 * more than 5 minutes old, and a row may wait longer than that across a restart): rows are signed
 * as the sender claims them, through the store it reads them with, with the endpoint's secret,
 * which is read from the database here and written into no row.
 */
export class EventsSender {
  readonly sender: WebhookSender
  readonly #store: OutboxStore
  readonly #now: () => number
  #secrets = new Map<string, string>()
  #loaded: Promise<void> | undefined
  /** Rows claimed for an endpoint that is gone (deleted meanwhile): not sent. */
  orphaned = 0

  constructor (opts: EventsSenderOptions) {
    this.#store = opts.store
    this.#now = opts.now ?? Date.now
    const signingStore: OutboxStore = {
      rpc: async <T>(fn: string, args?: Record<string, unknown>, options?: { flush?: boolean }): Promise<T> => {
        const result = await this.#store.rpc<T>(fn, args, options)
        if (fn !== 'claim_due_webhooks' || !Array.isArray(result)) return result
        return await this.#sign(result as ClaimedRow[]) as T
      }
    }
    // The row's own delays (event_retry_delays_ms in the migration) schedule every retry.
    this.sender = new WebhookSender({ ...opts, store: signingStore, source: EVENTS_SOURCE })
    // A retry in this process is signed again at its own time too (the secrets are cached by the
    // claim that read its row): its first attempt's timestamp may be minutes old by then.
    this.sender.signAttempts(delivery => {
      const secret = this.#secrets.get(delivery.label.split(':')[1] ?? '')
      const id = delivery.headers['webhook-id']
      return secret === undefined || id === undefined ? undefined : this.#signedHeaders(delivery.headers, secret, id, delivery.body)
    })
  }

  #signedHeaders (headers: Record<string, string>, secret: string, id: string, body: string | Buffer): Record<string, string> {
    const timestamp = String(Math.floor(this.#now() / 1000))
    return { ...headers, 'webhook-timestamp': timestamp, 'webhook-signature': signEvent(secret, id, timestamp, body) }
  }

  /** Forgets the cached secrets (an endpoint was created or changed in this process). */
  refreshSecrets (): void {
    this.#loaded = undefined
  }

  async #secretFor (endpointId: string): Promise<string | undefined> {
    if (!this.#secrets.has(endpointId)) {
      this.#loaded ??= this.#store.rpc<Record<string, string>>('event_endpoint_secrets', {}, { flush: false }).then(all => {
        this.#secrets = new Map(Object.entries(all ?? {}))
        registerSecrets(this.#secrets.values())
      }).finally(() => { this.#loaded = undefined })
      await this.#loaded
    }
    return this.#secrets.get(endpointId)
  }

  async #sign (rows: ClaimedRow[]): Promise<ClaimedRow[]> {
    const out: ClaimedRow[] = []
    for (const row of rows) {
      const endpointId = row.label.split(':')[1] ?? ''
      const secret = await this.#secretFor(endpointId)
      const id = row.headers['webhook-id']
      if (secret === undefined || id === undefined) {
        // Its endpoint was deleted after the claim read it: delete_event_endpoint removed the row too.
        this.orphaned++
        continue
      }
      const body = row.body_encoding === 'base64' ? Buffer.from(row.body, 'base64') : row.body
      out.push({ ...row, headers: this.#signedHeaders(row.headers, secret, id, body) })
    }
    return out
  }

  get delivered (): number { return this.sender.delivered }
  get failedAttempts (): number { return this.sender.failedAttempts }
  idle (): Promise<void> { return this.sender.idle() }
  close (): Promise<void> { return this.sender.close() }
}
