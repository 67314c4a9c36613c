import { bufferedRequest } from './buffered-request.ts'
import { providerAgent } from './provider-client.ts'
import { webhookTargetRefusal } from './webhook-targets.ts'

export interface WebhookDelivery {
  url: string
  body: string | Buffer
  headers: Record<string, string>
  /** For logs and the journal. */
  label: string
}

export interface WebhookSenderOptions {
  /** Delays before each retry after the first attempt fails. Default: 1 s, 5 s, 25 s. */
  retryDelaysMs?: number[]
  timeoutMs?: number
  logger?: { warn: (obj: object, msg?: string) => void, debug: (obj: object, msg?: string) => void }
  /** Called once a delivery has failed every attempt. */
  onGiveUp?: (delivery: WebhookDelivery, lastError: string) => void
  /** Hosts besides loopback deliveries may go to (WEBHOOK_ALLOWED_HOSTS); anything else is refused. */
  allowedHosts?: string[]
}

/**
 * Posts webhooks the way providers do: fire and forget from the caller's view, retried with
 * backoff on a non-2xx answer or a network error, then given up and reported. Pending retries are
 * cancelled on close so shutdown is never held up by a dead receiver.
 */
export class WebhookSender {
  readonly #opts: Required<Omit<WebhookSenderOptions, 'logger' | 'onGiveUp' | 'allowedHosts'>> & WebhookSenderOptions
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #inFlight = new Set<Promise<void>>()
  #closed = false
  delivered = 0
  failedAttempts = 0
  gaveUp = 0
  refused = 0

  constructor (opts: WebhookSenderOptions = {}) {
    this.#opts = { retryDelaysMs: [1000, 5000, 25_000], timeoutMs: 5000, ...opts }
  }

  send (delivery: WebhookDelivery): void {
    const refusal = this.refusal(delivery.url)
    if (refusal !== undefined) {
      this.refused++
      this.#opts.logger?.warn({ webhook: delivery.label, url: delivery.url, reason: refusal }, 'webhook not sent: target not allowed')
      return
    }
    this.#attempt(delivery, 0)
  }

  /** Why a webhook to `url` would be refused, or undefined when it may be sent. */
  refusal (url: string): string | undefined {
    return webhookTargetRefusal(url, this.#opts.allowedHosts ?? [])
  }

  /** Resolves when every attempt started so far has finished (retries scheduled later excluded). */
  async idle (): Promise<void> {
    while (this.#inFlight.size) await Promise.allSettled([...this.#inFlight])
  }

  async close (): Promise<void> {
    this.#closed = true
    for (const t of this.#timers) clearTimeout(t)
    this.#timers.clear()
    await this.idle()
  }

  #attempt (delivery: WebhookDelivery, attempt: number): void {
    if (this.#closed) return
    const p = this.#post(delivery).then(error => {
      if (!error) {
        this.delivered++
        return
      }
      this.failedAttempts++
      const delay = this.#opts.retryDelaysMs[attempt]
      if (delay === undefined || this.#closed) {
        this.gaveUp++
        this.#opts.logger?.warn({ webhook: delivery.label, url: delivery.url, attempts: attempt + 1, error }, 'webhook delivery gave up')
        this.#opts.onGiveUp?.(delivery, error)
        return
      }
      this.#opts.logger?.debug({ webhook: delivery.label, attempt: attempt + 1, error, retryInMs: delay }, 'webhook delivery failed; will retry')
      const timer = setTimeout(() => {
        this.#timers.delete(timer)
        this.#attempt(delivery, attempt + 1)
      }, delay)
      timer.unref()
      this.#timers.add(timer)
    }).finally(() => this.#inFlight.delete(p))
    this.#inFlight.add(p)
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
