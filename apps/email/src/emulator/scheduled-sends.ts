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

/** A message held until its send_at; `data` is what plays it (the emulator's). */
export interface Held {
  id: string
  sendAtMs: number
  batchId: string | undefined
  data: unknown
}

/**
 * Where batches and held messages are kept beyond memory (persist.ts): each change handed over as
 * it happens, a batch this instance does not know looked up, and a held message's release claimed
 * so that one instance plays it.
 */
export interface ScheduledPersistence {
  batch: (id: string, status: BatchStatus | null) => void
  held: (h: Held) => void
  /** Released or discarded: gone. */
  done: (h: Held) => void
  claim: (h: Held) => Promise<boolean>
  lookup: (batchId: string) => Promise<BatchStatus | null | undefined>
}

export class ScheduledSends {
  readonly #clock: Clock
  readonly #release: (data: unknown, at: number) => void
  readonly #persistence: ScheduledPersistence | undefined
  /** Every batch id created, with its cancel/pause status once one is set. */
  readonly #batches = new Map<string, BatchStatus | null>()
  readonly #held = new Map<string, Held>()
  /** When each batch's pause was removed: its held messages go out then, not at their send_at. */
  readonly #resumedAt = new Map<string, number>()
  /** Messages discarded by a cancel or an expired pause (for the tests and the logs). */
  discarded = 0

  /** `release` plays a message as sent at `at`: its send_at, or when its batch's pause was removed (on the clock). */
  constructor (clock: Clock, release: (data: unknown, at: number) => void, persistence?: ScheduledPersistence) {
    this.#clock = clock
    this.#release = release
    this.#persistence = persistence
  }

  createBatch (): string {
    const id = newBatchId()
    this.#batches.set(id, null)
    this.#persistence?.batch(id, null)
    return id
  }

  exists (batchId: string): boolean {
    return this.#batches.has(batchId)
  }

  /** Whether the batch exists, here or (created through another instance) in the database. */
  async known (batchId: string): Promise<boolean> {
    if (this.#batches.has(batchId)) return true
    const stored = await this.#persistence?.lookup(batchId)
    if (stored === undefined) return false
    if (!this.#batches.has(batchId)) this.#batches.set(batchId, stored)
    return true
  }

  /** A batch as another instance left it (sync, or loaded at start). */
  applyBatch (batchId: string, status: BatchStatus | null): void {
    this.#batches.set(batchId, status)
  }

  /** A held message another instance accepted (sync, or loaded at start). */
  applyHeld (h: Held): void {
    if (!this.#held.has(h.id)) this.#held.set(h.id, h)
  }

  /** A held message released or discarded elsewhere. */
  forgetHeld (id: string): void {
    this.#held.delete(id)
  }

  status (batchId: string): BatchStatus | null | undefined {
    return this.#batches.get(batchId)
  }

  /** Sets or changes a batch's status; the caller has checked that the batch exists. */
  setStatus (batchId: string, status: BatchStatus): void {
    this.#batches.set(batchId, status)
    this.#persistence?.batch(batchId, status)
    this.releaseDue()
  }

  /** Removes a batch's pause or cancel: its messages go out at their send_at (or now, if past). */
  clearStatus (batchId: string): void {
    if (this.#batches.get(batchId) === 'pause') this.#resumedAt.set(batchId, this.#clock.now())
    this.#batches.set(batchId, null)
    this.#persistence?.batch(batchId, null)
    this.releaseDue()
  }

  /** Every batch with a status, as GET /v3/user/scheduled_sends lists them. */
  list (): Array<{ batch_id: string, status: BatchStatus }> {
    const out: Array<{ batch_id: string, status: BatchStatus }> = []
    for (const [batch_id, status] of this.#batches) if (status) out.push({ batch_id, status })
    return out
  }

  /** Holds a message until its send_at (seconds, as SendGrid takes it); `data` is what plays it. */
  hold (sendAtSeconds: number, batchId: string | undefined, id: string, data: unknown): void {
    const h: Held = { id, sendAtMs: sendAtSeconds * 1000, batchId, data }
    this.#held.set(id, h)
    this.#persistence?.held(h)
  }

  get heldCount (): number {
    return this.#held.size
  }

  /** Releases or discards every held message whose time has come; called on each tick. */
  releaseDue (): void {
    if (!this.#held.size) return
    const now = this.#clock.now()
    const ready: Array<[Held, number]> = []
    for (const h of this.#held.values()) {
      if (h.sendAtMs > now) continue
      const status = h.batchId ? this.#batches.get(h.batchId) : null
      if (status === 'pause' && now - h.sendAtMs <= PAUSE_EXPIRY_MS) continue
      this.#held.delete(h.id)
      if (status === 'cancel' || status === 'pause') {
        this.discarded++
        this.#persistence?.done(h)
      } else {
        // Sent at its send_at, however late this tick (an advance of the test clock passes it
        // between two ticks), or when its batch's pause was removed.
        ready.push([h, Math.max(h.sendAtMs, (h.batchId && this.#resumedAt.get(h.batchId)) || 0)])
      }
    }
    const persistence = this.#persistence
    for (const [h, at] of ready) {
      if (!persistence) { this.#release(h.data, at); continue }
      // Every instance holds the message; the one whose claim wins plays it.
      void persistence.claim(h).then(won => {
        if (!won) return
        this.#release(h.data, at)
        persistence.done(h)
      }, () => { this.#held.set(h.id, h) }) // the database is away: tried again at the next tick
    }
  }

  reset (): void {
    this.#batches.clear()
    this.#held.clear()
    this.#resumedAt.clear()
    this.discarded = 0
  }
}
