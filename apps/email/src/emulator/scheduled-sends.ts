import { randomBytes } from 'node:crypto'
import type { Clock } from '@switchboard/service-kit/clock'

/**
 * SendGrid's batches and scheduled sends, as the Scheduled Sends API (tsg_scheduled_sends_v3) and
 * the Mail API's batch operations (tsg_mail_v3) describe them:
 * - a batch id is created first (POST /v3/mail/batch) and then named in mail/send requests;
 * - a message with `send_at` waits in the queue until then;
 * - a batch set to `cancel` keeps its messages queued and discards them when their send_at comes;
 * - a batch set to `pause` keeps them queued past send_at; removing the pause (DELETE) releases
 *   them, and a paused message more than 72 hours past its send_at is discarded as expired.
 */
export type BatchStatus = 'pause' | 'cancel'
export const BATCH_STATUSES: BatchStatus[] = ['pause', 'cancel']

/** Paused messages older than this past their send_at are discarded (the spec's "Expired"). */
export const PAUSE_EXPIRY_MS = 72 * 3600_000

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** 32 letters and digits, the length and alphabet of the spec's examples (HkJ5yLYULb7Rj8GKSx7u025ouWVlMgAi). */
function newBatchId (): string {
  const bytes = randomBytes(32)
  let id = ''
  for (const b of bytes) id += ALPHABET[b % ALPHABET.length]
  return id
}

interface Held {
  sendAtMs: number
  batchId: string | undefined
  release: () => void
}

export class ScheduledSends {
  readonly #clock: Clock
  /** Every batch id created, with its cancel/pause status once one is set. */
  readonly #batches = new Map<string, BatchStatus | null>()
  #held: Held[] = []
  /** Messages discarded by a cancel or an expired pause (for the tests and the logs). */
  discarded = 0

  constructor (clock: Clock) {
    this.#clock = clock
  }

  createBatch (): string {
    const id = newBatchId()
    this.#batches.set(id, null)
    return id
  }

  exists (batchId: string): boolean {
    return this.#batches.has(batchId)
  }

  status (batchId: string): BatchStatus | null | undefined {
    return this.#batches.get(batchId)
  }

  /** Sets or changes a batch's status; the caller has checked that the batch exists. */
  setStatus (batchId: string, status: BatchStatus): void {
    this.#batches.set(batchId, status)
    this.releaseDue()
  }

  /** Removes a batch's pause or cancel: its messages go out at their send_at (or now, if past). */
  clearStatus (batchId: string): void {
    this.#batches.set(batchId, null)
    this.releaseDue()
  }

  /** Every batch with a status, as GET /v3/user/scheduled_sends lists them. */
  list (): Array<{ batch_id: string, status: BatchStatus }> {
    const out: Array<{ batch_id: string, status: BatchStatus }> = []
    for (const [batch_id, status] of this.#batches) if (status) out.push({ batch_id, status })
    return out
  }

  /** Holds a message until its send_at (seconds, as SendGrid takes it); `release` plays it. */
  hold (sendAtSeconds: number, batchId: string | undefined, release: () => void): void {
    this.#held.push({ sendAtMs: sendAtSeconds * 1000, batchId, release })
  }

  get heldCount (): number {
    return this.#held.length
  }

  /** Releases or discards every held message whose time has come; called on each tick. */
  releaseDue (): void {
    if (!this.#held.length) return
    const now = this.#clock.now()
    const keep: Held[] = []
    const ready: Held[] = []
    for (const h of this.#held) {
      if (h.sendAtMs > now) { keep.push(h); continue }
      const status = h.batchId ? this.#batches.get(h.batchId) : null
      if (status === 'cancel') this.discarded++
      else if (status === 'pause') {
        if (now - h.sendAtMs > PAUSE_EXPIRY_MS) this.discarded++
        else keep.push(h)
      } else ready.push(h)
    }
    this.#held = keep
    for (const h of ready) h.release()
  }

  reset (): void {
    this.#batches.clear()
    this.#held = []
    this.discarded = 0
  }
}
