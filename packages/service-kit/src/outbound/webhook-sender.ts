import { randomUUID } from 'node:crypto'
import { newRowId } from '@switchboard/activity-log'
import { bufferedRequest } from './buffered-request.ts'
import { systemClock, type ClockMode, type ClockTimer, type TimerClock } from '../emulator/clock.ts'
import { providerAgent } from './provider-client.ts'
import { maskUrlSecrets } from './url-secrets.ts'
import { webhookTargetRefusal } from './webhook-targets.ts'

// These calls read nothing a caller wrote: they need not wait behind the activity log's write queue.
const NO_FLUSH = { flush: false }

export interface WebhookDelivery {
  url: string
  body: string | Buffer
  headers: Record<string, string>
  /** For logs and the outbox row. */
  label: string
  /**
   * Deliveries with the same key go out one after the other, in the order they were sent (their
   * first attempts): a provider posts one call's or one message's changes in turn, and posted at
   * once they could arrive as busy before ringing. Retries are not held to it.
   */
  order?: string
}

/** What the sender needs from the database (the activity log has it): the outbox's SQL functions. */
/**
 * The headers to post a webhook with at a later attempt (a retry, or a row taken up after a
 * restart), or undefined to post the stored ones. See WebhookSender.signAttempts.
 */
export type AttemptSigner = (delivery: WebhookDelivery) => Record<string, string> | undefined

export interface OutboxStore {
  rpc<T = unknown> (fn: string, args?: Record<string, unknown>, options?: { flush?: boolean }): Promise<T>
}

export interface WebhookSenderOptions {
  /** Where every webhook is kept until it is acknowledged (supabase/migrations: webhook_outbox). */
  store: OutboxStore
  /** Whose webhooks these are (the service name): a sender delivers its own source's rows only. */
  source: string
  /** Delays before each retry after the first attempt fails (the provider's schedule). Default: 1 s, 5 s, 25 s. */
  retryDelaysMs?: number[]
  timeoutMs?: number
  /** How long an attempt holds its row before another sender may take it over (this one died). Default 30 s. */
  leaseMs?: number
  /** How often the outbox is read for rows due (after a restart, or left by a sender that died). Default 1 s. */
  pollMs?: number
  /** Most rows one poll claims. Default 100. */
  batchSize?: number
  /** How often delivered rows older than a day (given-up ones: a week) are deleted. Default 10 minutes; 0: never. */
  purgeIntervalMs?: number
  logger?: { warn: (obj: object, msg?: string) => void, debug: (obj: object, msg?: string) => void, error?: (obj: object, msg?: string) => void }
  /** Called once a delivery has failed every attempt. */
  onGiveUp?: (delivery: WebhookDelivery, lastError: string) => void
  /**
   * Secrets a webhook URL may carry (AiSensy's token in the path): the outbox row keeps a
   * placeholder instead, put back when the row is sent, so no secret is stored in a row.
   */
  urlSecrets?: () => string[]
  /** Hosts besides loopback deliveries may go to (WEBHOOK_ALLOWED_HOSTS); anything else is refused. */
  allowedHosts?: string[]
  /**
   * The clock retries fall due on (the emulators' test clock, app.clock): a retry is due its delay
   * after the failed attempt on this clock, so a frozen clock holds it until advanced past the
   * backoff. Leases stay in real time. Default (and a clock whose mode is 'real'): the
   * database's now() and real timers, as without one.
   */
  clock?: TimerClock & { readonly mode?: ClockMode }
}

interface OutboxRow { id: string, label: string, url: string, headers: Record<string, string>, body: string, body_encoding: 'utf8' | 'base64', attempts: number }
type Outcome = { status: 'delivered' | 'gave_up', attempts: number } | { status: 'pending', attempts: number, retry_in_ms: number } | null
/** A failed attempt's outcome as a round returns it (delivered ones are not returned). */
interface RoundOutcome { id: string, status: 'pending' | 'gave_up', attempts: number, retry_in_ms: number | null }

/** A webhook waiting for the next round to store it; `unstored`: rounds that could not store it so far. */
interface ToStore { id: string, delivery: WebhookDelivery, row: { id: string, label: string, url: string, headers: Record<string, string>, body: string, body_encoding: 'utf8' | 'base64' }, done: () => void, unstored?: number }
/** An attempt made, waiting for the next round to record its outcome. */
interface ToFinish { id: string, delivery: WebhookDelivery, attempt: number, error: string | undefined, done: () => void }

/** Most webhooks one round stores, and most outcomes it records. */
const ROUND_ROWS = 500
/**
 * How long outcomes wait for others before a round records them (when no round is running and
 * nothing waits to be stored): the posts of a burst finish one by one, and a row's lease is 30 s.
 */
const GATHER_OUTCOMES_MS = 10
/** Most webhooks held in memory while the database cannot store them; past it one attempt is all they get. */
const MAX_HELD_UNSTORED = 10_000
/** The longest wait between two tries to store a held webhook. */
const MAX_STORE_RETRY_MS = 30_000

/**
 * Posts webhooks the way providers do, durably: each is written to the outbox (a database table)
 * before its first attempt, marked delivered on a 2xx, retried with backoff on a non-2xx answer or
 * a network error, and given up after the last attempt with the reason kept in its row. Rows not
 * yet delivered outlive the process: any sender of the same source on the same database picks
 * them up (polling), at their retry time after a clean close, or once their lease runs out after
 * a crash. Rows are claimed under row locks, so several instances never send one row twice at once.
 *
 * The database work goes in rounds (group commit): one call (webhook_outbox_round) stores every
 * webhook sent since the last round and records the outcome of every attempt finished since, so
 * a burst of webhooks (the statuses that fall due in one emulator tick) costs one call to store
 * and one to record, not two or three per webhook. A round starts at the end of the event loop
 * turn that sent the first of its webhooks, or as soon as the previous round returns.
 */
export class WebhookSender {
  readonly #opts: Required<Omit<WebhookSenderOptions, 'logger' | 'onGiveUp' | 'urlSecrets' | 'allowedHosts' | 'clock'>> & WebhookSenderOptions
  readonly #owner = randomUUID()
  readonly #timers = new Set<ClockTimer>()
  readonly #clock: TimerClock
  readonly #inFlight = new Set<Promise<void>>()
  readonly #poller: NodeJS.Timeout
  readonly #purger: NodeJS.Timeout | undefined
  #polling = false
  #closed = false
  #toStore: ToStore[] = []
  #toFinish: ToFinish[] = []
  #roundRunning = false
  #roundScheduled = false
  #gatherTimer: NodeJS.Timeout | undefined
  #signer: AttemptSigner | undefined
  /** Webhooks held in memory until the database takes them, each with the wake-up of its wait. */
  readonly #held = new Map<ToStore, () => void>()
  /** The last first attempt of each order key still going (WebhookDelivery.order). */
  readonly #inOrder = new Map<string, Promise<void>>()
  delivered = 0
  failedAttempts = 0
  gaveUp = 0
  refused = 0

  constructor (opts: WebhookSenderOptions) {
    this.#opts = { retryDelaysMs: [1000, 5000, 25_000], timeoutMs: 5000, leaseMs: 30_000, pollMs: 1000, batchSize: 100, purgeIntervalMs: 600_000, ...opts }
    this.#clock = opts.clock ?? systemClock
    // The first look at once: what a previous run left is delivered without waiting a period.
    setImmediate(() => this.#poll())
    this.#poller = setInterval(() => this.#poll(), this.#opts.pollMs)
    this.#poller.unref()
    if (this.#opts.purgeIntervalMs > 0) {
      this.#purger = setInterval(() => {
        this.#opts.store.rpc('purge_webhook_outbox', { p_delivered_seconds: 86_400, p_gave_up_seconds: 7 * 86_400 }, NO_FLUSH)
          .catch((err: unknown) => this.#opts.logger?.warn({ err }, 'webhook outbox: could not purge old rows'))
      }, this.#opts.purgeIntervalMs)
      this.#purger.unref()
    }
  }

  /** Stores the webhook and attempts it at once; returns without waiting (fire and forget). */
  send (delivery: WebhookDelivery): void {
    if (this.#closed) return
    const refusal = this.refusal(delivery.url)
    if (refusal !== undefined) {
      this.refused++
      this.#opts.logger?.warn({ webhook: delivery.label, url: maskUrlSecrets(delivery.url), reason: refusal }, 'webhook not sent: target not allowed')
      return
    }
    const binary = Buffer.isBuffer(delivery.body)
    const id = newRowId()
    const row = {
      id,
      label: delivery.label,
      url: this.#storedUrl(delivery.url),
      headers: delivery.headers,
      body: binary ? (delivery.body as Buffer).toString('base64') : delivery.body as string,
      body_encoding: binary ? 'base64' as const : 'utf8' as const
    }
    let done!: () => void
    this.#track(new Promise<void>(resolve => { done = resolve }))
    this.#toStore.push({ id, delivery, row, done })
    this.#scheduleRound()
  }

  /**
   * Signs each later attempt anew. A provider's signature covers the time of the post, and
   * receivers refuse old ones (Zoom's 300 s, SendGrid's SENDGRID_WEBHOOK_MAX_AGE_S, the
   * emulators' own): a retry minutes later, or a row replayed after a restart, still signed with
   * its first attempt's time would be refused however right its body. The first attempt, made at
   * once, posts the headers given to send().
   */
  signAttempts (signer: AttemptSigner): void {
    this.#signer = signer
  }

  /** Why a webhook to `url` would be refused, or undefined when it may be sent. */
  refusal (url: string): string | undefined {
    return webhookTargetRefusal(url, this.#opts.allowedHosts ?? [])
  }

  /** Resolves when every attempt started so far has finished and is recorded (retries scheduled later excluded). */
  async idle (): Promise<void> {
    while (this.#inFlight.size) await Promise.allSettled([...this.#inFlight])
  }

  /**
   * Stops sending; rows waiting for a retry are let go so the next start (or another instance)
   * takes them at their retry time. Never waits for a retry: shutdown is not held up by a dead receiver.
   */
  async close (): Promise<void> {
    this.#closed = true
    clearInterval(this.#poller)
    clearInterval(this.#purger)
    for (const t of this.#timers) t.cancel()
    this.#timers.clear()
    // Held ones cannot be stored now either: they are given up (said in the log), not waited for.
    for (const wake of this.#held.values()) wake()
    await this.idle()
    await this.#opts.store.rpc('release_webhooks', { p_owner: this.#owner }, NO_FLUSH)
      .catch((err: unknown) => this.#opts.logger?.warn({ err }, 'webhook outbox: could not release held rows; they are taken up after their lease'))
  }

  /** The clock's time for the outbox functions (p_now), or null at real time: the database's now(). */
  #now (): string | null {
    const clock = this.#opts.clock
    return clock === undefined || clock.mode === 'real' ? null : new Date(clock.now()).toISOString()
  }

  #storedUrl (url: string): string {
    return (this.#opts.urlSecrets?.() ?? []).reduce((u, secret, i) => secret ? u.replaceAll(secret, `{{secret:${i}}}`) : u, url)
  }

  #sentUrl (stored: string): string {
    const secrets = this.#opts.urlSecrets?.() ?? []
    return stored.replace(/\{\{secret:(\d+)\}\}/g, (whole, i: string) => secrets[Number(i)] ?? whole)
  }

  #track (p: Promise<void>): void {
    const tracked = p.catch((err: unknown) => this.#opts.logger?.warn({ err }, 'webhook outbox: unexpected failure')).finally(() => this.#inFlight.delete(tracked))
    this.#inFlight.add(tracked)
  }

  /**
   * A round at the end of this turn of the event loop (`gather`: a few milliseconds later, for
   * outcomes only), unless one is running: it takes what waits when it returns.
   */
  #scheduleRound (gather = false): void {
    if (this.#roundRunning || this.#roundScheduled) return
    if (gather) {
      this.#gatherTimer ??= setTimeout(() => {
        this.#gatherTimer = undefined
        void this.#rounds()
      }, GATHER_OUTCOMES_MS)
      return
    }
    clearTimeout(this.#gatherTimer)
    this.#gatherTimer = undefined
    this.#roundScheduled = true
    setImmediate(() => {
      this.#roundScheduled = false
      void this.#rounds()
    })
  }

  /** Rounds until nothing waits: each stores what was sent and records what was attempted meanwhile. */
  async #rounds (): Promise<void> {
    if (this.#roundRunning) return
    clearTimeout(this.#gatherTimer)
    this.#gatherTimer = undefined
    this.#roundRunning = true
    try {
      while (this.#toStore.length > 0 || this.#toFinish.length > 0) {
        const stored = this.#toStore.splice(0, ROUND_ROWS)
        const finished = this.#toFinish.splice(0, ROUND_ROWS)
        let outcomes: RoundOutcome[]
        try {
          outcomes = await this.#opts.store.rpc<RoundOutcome[]>('webhook_outbox_round', {
            p_source: this.#opts.source,
            p_owner: this.#owner,
            p_lease_ms: this.#opts.leaseMs,
            p_retry_delays_ms: this.#opts.retryDelaysMs,
            p_new: stored.map(s => s.row),
            p_finished: finished.map(f => ({ id: f.id, error: f.error ?? null })),
            p_now: this.#now()
          }, NO_FLUSH) ?? []
        } catch (err) {
          for (const s of stored) void this.#unstored(s, err)
          // The rows stay claimed; once the lease is over, a poll takes them up again (maybe sending one twice: webhooks are at least once).
          if (finished.length > 0) this.#opts.logger?.warn({ err, webhooks: finished.length }, 'webhook outbox: could not record attempts')
          for (const f of finished) {
            if (f.error === undefined) this.delivered++
            else this.failedAttempts++
            f.done()
          }
          continue
        }
        // A webhook held while the database was away is signed anew: its first signature may be stale by now.
        for (const s of stored) this.#firstAttempt(s, s.unstored !== undefined)
        if (finished.length > 0) this.#settle(finished, outcomes)
      }
    } finally {
      this.#roundRunning = false
    }
  }

  /**
   * A webhook the database could not store (it is away): attempted at once all the same, and, if
   * that fails, held in memory and stored again once the database answers (waits of 1 s, 2 s, 4 s …
   * up to 30 s between tries), after which the outbox retries it on the provider's schedule. Before,
   * it had one attempt: an event post our own receiver refused with 503 while the same database
   * was away was lost for good. Bounded (MAX_HELD_UNSTORED), and given up at close: memory is not
   * durable, and says so in the log.
   */
  async #unstored (s: ToStore, err: unknown): Promise<void> {
    const tries = (s.unstored ?? 0) + 1
    s.unstored = tries
    let requeued = false
    try {
      if (tries === 1) {
        this.#opts.logger?.error?.({ err, webhook: s.delivery.label }, 'webhook outbox: could not store a webhook; it is attempted now and stored once the database answers')
        const error = await this.#post(s.delivery)
        if (!error) {
          this.delivered++
          return
        }
        this.failedAttempts++
        if (this.#held.size >= MAX_HELD_UNSTORED) return this.#giveUp(s.delivery, 1, `${error}; not stored (the database is away and ${MAX_HELD_UNSTORED} webhooks already wait in memory)`)
      }
      if (this.#closed) return this.#giveUp(s.delivery, 1, 'not stored: the database was away until the sender closed')
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, Math.min(MAX_STORE_RETRY_MS, 1000 * 2 ** (tries - 1)))
        timer.unref()
        this.#held.set(s, () => { clearTimeout(timer); resolve() })
      })
      this.#held.delete(s)
      if (this.#closed) return this.#giveUp(s.delivery, 1, 'not stored: the database was away until the sender closed')
      // Back in line to be stored: the round that stores it attempts it and calls done.
      requeued = true
      this.#toStore.push(s)
      this.#scheduleRound()
    } finally {
      if (!requeued) s.done()
    }
  }

  #giveUp (delivery: WebhookDelivery, attempts: number, error: string): void {
    this.gaveUp++
    this.#opts.logger?.warn({ webhook: delivery.label, url: maskUrlSecrets(delivery.url), attempts, error }, 'webhook delivery gave up')
    this.#opts.onGiveUp?.(delivery, error)
  }

  /** A stored webhook's first attempt: at once, or after the one before it with the same order key. */
  #firstAttempt (s: ToStore, signAnew: boolean): void {
    const key = s.delivery.order
    if (key === undefined) {
      void this.#attempt(s.id, s.delivery, 1, s.done, signAnew)
      return
    }
    const next = (this.#inOrder.get(key) ?? Promise.resolve()).then(() => this.#attempt(s.id, s.delivery, 1, s.done, signAnew))
    this.#inOrder.set(key, next)
    void next.finally(() => { if (this.#inOrder.get(key) === next) this.#inOrder.delete(key) })
  }

  /** Posts a row this sender holds; its outcome is recorded by the next round. */
  async #attempt (id: string, delivery: WebhookDelivery, attempt: number, done: () => void, signAnew = true): Promise<void> {
    const error = await this.#post(signAnew ? this.#signed(delivery) : delivery)
    this.#toFinish.push({ id, delivery, attempt, error, done })
    this.#scheduleRound(true)
  }

  /** What a round recorded: counts, retries scheduled, give-ups reported. */
  #settle (finished: ToFinish[], outcomes: RoundOutcome[]): void {
    const byId = new Map<string, RoundOutcome>()
    for (const o of outcomes) byId.set(o.id, o)
    for (const f of finished) {
      try {
        if (f.error === undefined) {
          this.delivered++
          continue
        }
        this.failedAttempts++
        const raw = byId.get(f.id)
        // Not returned: another sender took the row over (this one outlived its lease).
        const outcome: Outcome = raw === undefined ? null : raw.status === 'pending' && raw.retry_in_ms !== null ? { status: 'pending', attempts: raw.attempts, retry_in_ms: raw.retry_in_ms } : { status: 'gave_up', attempts: raw.attempts }
        this.#afterFailure(f, outcome)
      } finally {
        f.done()
      }
    }
  }

  #afterFailure (f: ToFinish, outcome: Outcome): void {
    const { id, delivery, attempt, error } = f
    if (outcome === null || error === undefined) return
    if (outcome.status === 'gave_up') return this.#giveUp(delivery, outcome.attempts, error)
    if (outcome.status !== 'pending') return
    this.#opts.logger?.debug({ webhook: delivery.label, attempt, error, retryInMs: outcome.retry_in_ms }, 'webhook delivery failed; will retry')
    if (this.#closed) return
    // On the clock: a frozen test clock fires it when advanced past the backoff (never holds the process open).
    const timer = this.#clock.at(this.#clock.now() + outcome.retry_in_ms, () => {
      this.#timers.delete(timer)
      this.#track(this.#retry(id, delivery, attempt + 1))
    })
    this.#timers.add(timer)
  }

  async #retry (id: string, delivery: WebhookDelivery, attempt: number): Promise<void> {
    if (this.#closed) return
    const started = await this.#opts.store.rpc<boolean>('start_webhook_attempt', { p_id: id, p_owner: this.#owner, p_lease_ms: this.#opts.leaseMs }, NO_FLUSH)
    if (started) await new Promise<void>(resolve => { void this.#attempt(id, delivery, attempt, resolve) })
  }

  /** Takes up rows due: left by a previous run or by a sender that died. */
  #poll (): void {
    if (this.#closed || this.#polling) return
    this.#polling = true
    const p = this.#opts.store.rpc<OutboxRow[]>('claim_due_webhooks', { p_source: this.#opts.source, p_owner: this.#owner, p_limit: this.#opts.batchSize, p_lease_ms: this.#opts.leaseMs, p_now: this.#now() }, NO_FLUSH)
      .then(rows => {
        for (const row of rows ?? []) {
          const delivery = { url: this.#sentUrl(row.url), headers: row.headers, label: row.label, body: row.body_encoding === 'base64' ? Buffer.from(row.body, 'base64') : row.body }
          this.#track(new Promise<void>(resolve => { void this.#attempt(row.id, delivery, row.attempts, resolve) }))
        }
      }, (err: unknown) => this.#opts.logger?.debug({ err }, 'webhook outbox: could not read due rows; will try again'))
      .finally(() => { this.#polling = false })
    this.#track(p)
  }

  /** The delivery with its signature made now (signAttempts), or as it was stored. */
  #signed (delivery: WebhookDelivery): WebhookDelivery {
    if (this.#signer === undefined) return delivery
    try {
      const headers = this.#signer(delivery)
      return headers === undefined ? delivery : { ...delivery, headers }
    } catch (err) {
      this.#opts.logger?.warn({ err, webhook: delivery.label }, 'webhook outbox: could not sign an attempt anew; it is posted as stored')
      return delivery
    }
  }

  async #post (delivery: WebhookDelivery): Promise<string | undefined> {
    try {
      const url = new URL(delivery.url)
      const res = await bufferedRequest(providerAgent(), {
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'POST',
        headers: delivery.headers,
        body: delivery.body,
        headersTimeout: this.#opts.timeoutMs,
        bodyTimeout: this.#opts.timeoutMs
      }, { keepBody: false }) // a receiver's answer counts by its status only
      return res.statusCode >= 200 && res.statusCode < 300 ? undefined : `HTTP ${res.statusCode}`
    } catch (err) {
      return (err as NodeJS.ErrnoException).code ?? (err as Error).message
    }
  }
}
