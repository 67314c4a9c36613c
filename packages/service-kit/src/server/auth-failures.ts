/**
 * Failed authentication, counted per client address over a fixed window: past `max` failures an
 * address is refused (429 with Retry-After) until its window ends, whatever token it presents, so
 * a guess that happens to be right is not told apart from a wrong one. Successful requests are
 * never counted.
 *
 * In memory, per process, on purpose: it is a throttle, not a record. Losing the counts at a
 * restart only gives a guesser one more window, and a database round-trip on every refused request
 * would hand the guesser a way to load the database. The map is bounded (oldest windows evicted
 * first), so a flood from many addresses cannot grow it without end.
 */
import { BoundedMap } from './bounded-map.ts'

export interface AuthFailureLimiterOptions {
  /** Failures per window per address before refusing; 0 turns the limit off. */
  max: number
  windowMs: number
  /** How many addresses are tracked at once. */
  maxAddresses?: number
  now?: () => number
}

export class AuthFailureLimiter {
  readonly max: number
  readonly windowMs: number
  readonly #now: () => number
  // Insertion order is window-start order: a new window re-inserts its key at the end.
  readonly #windows: BoundedMap<string, { start: number, failures: number }>

  constructor (opts: AuthFailureLimiterOptions) {
    this.max = opts.max
    this.windowMs = opts.windowMs
    this.#windows = new BoundedMap(opts.maxAddresses ?? 10_000)
    this.#now = opts.now ?? Date.now
  }

  /** Seconds until `address` may try again, or 0 when it may try now. */
  retryAfter (address: string): number {
    if (this.max <= 0) return 0
    const w = this.#windows.get(address)
    if (w === undefined) return 0
    const left = w.start + this.windowMs - this.#now()
    if (left <= 0) {
      this.#windows.delete(address)
      return 0
    }
    return w.failures >= this.max ? Math.ceil(left / 1000) : 0
  }

  /** Counts one failed authentication from `address`. */
  fail (address: string): void {
    if (this.max <= 0) return
    const now = this.#now()
    const w = this.#windows.get(address)
    if (w !== undefined && now < w.start + this.windowMs) {
      w.failures++
      return
    }
    this.#windows.delete(address)
    this.#windows.set(address, { start: now, failures: 1 })
  }

  /** The sentence a refused caller reads. */
  message (retryAfterSeconds: number): string {
    return `Too many failed authentication attempts from this address (at most ${this.max} per ${Math.round(this.windowMs / 1000)} s). Retry in ${retryAfterSeconds} s with the right token.`
  }
}
