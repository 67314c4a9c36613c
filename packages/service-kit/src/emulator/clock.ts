// Under load many records and webhooks are stamped within the same millisecond: each millisecond
// is formatted once.
let lastMs = Number.NaN
let lastIso = ''

/** Now as an ISO-8601 string (toISOString), formatted at most once per millisecond. */
export function isoNow (): string {
  return isoAt(Date.now())
}

/** A time in ms as an ISO-8601 string, the last one formatted kept. */
export function isoAt (ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms
    lastIso = new Date(ms).toISOString()
  }
  return lastIso
}

/**
 * Where emulators read the time for anything scheduled (a held send, an event due later). Taken
 * as a parameter rather than Date.now() so a test clock can be handed in instead.
 */
export interface Clock {
  /** Milliseconds since the epoch, as Date.now(). */
  now (): number
}

/** A timer set on a clock: fires once the clock reads its due time. */
export interface ClockTimer {
  cancel (): void
}

/** A clock that can also wake code up at one of its instants (setTimeout measured on this clock). */
export interface TimerClock extends Clock {
  /** Calls fn once now() >= dueMs. Never holds the process open. */
  at (dueMs: number, fn: () => void): ClockTimer
}

export const systemClock: TimerClock = {
  now: () => Date.now(),
  at (dueMs, fn) {
    const t = setTimeout(fn, Math.min(Math.max(0, dueMs - Date.now()), 2_147_000_000))
    t.unref()
    return { cancel: () => clearTimeout(t) }
  }
}

/**
 * The test clock's state, as stored in the settings table (key `clock`) so every instance on one
 * database agrees. Real time: `{ frozen_at: null, offset_ms: 0 }`. Frozen: the clock reads
 * frozen_at until advanced. Running shifted (resumed after an advance): Date.now() + offset_ms.
 */
export interface ClockState {
  frozen_at: number | null
  offset_ms: number
}

export const REAL_TIME: ClockState = { frozen_at: null, offset_ms: 0 }

export type ClockMode = 'real' | 'frozen' | 'shifted'
export const clockMode = (s: ClockState): ClockMode => s.frozen_at !== null ? 'frozen' : s.offset_ms !== 0 ? 'shifted' : 'real'

/** Reads a stored value as a clock state; anything malformed is real time. */
export function parseClockState (value: unknown): ClockState {
  if (!value || typeof value !== 'object') return { ...REAL_TIME }
  const v = value as Record<string, unknown>
  const frozen = typeof v.frozen_at === 'number' && Number.isFinite(v.frozen_at) ? v.frozen_at : null
  const offset = typeof v.offset_ms === 'number' && Number.isFinite(v.offset_ms) ? v.offset_ms : 0
  return { frozen_at: frozen, offset_ms: offset }
}

/**
 * The time to stamp a new row with when the emulators' clock is not real time (a data set's
 * history loaded on a clock set back a few days, a test that froze it), so the journal shows the
 * traffic when it happened on that clock; undefined at real time (the row keeps its usual stamp).
 */
export function clockStamp (clock: Clock & { readonly mode?: ClockMode }): string | undefined {
  return clock.mode === undefined || clock.mode === 'real' ? undefined : new Date(clock.now()).toISOString()
}

interface Pending { due: number, fn: () => void, seq: number, cancelled: boolean }

/**
 * The emulators' clock, in the style of Stripe's test clocks: real time by default; it can be
 * frozen, advanced and resumed. Timers set with at() fire when this clock reaches their time: a
 * frozen clock fires none until advanced, and an advance fires every timer it passes, in due
 * order, with now() reading each timer's own due time while it runs (so a meeting that starts at
 * 10:00 is stamped 10:00, whatever the advance's target).
 */
export class TestClock implements TimerClock {
  #state: ClockState = { ...REAL_TIME }
  #pending: Pending[] = []
  #seq = 0
  #timer: NodeJS.Timeout | undefined
  #timerAt = Number.POSITIVE_INFINITY
  /** While an advance fires timers: the instant they see. */
  #stepping: number | undefined
  #listeners = new Set<(state: ClockState) => void>()

  now (): number {
    if (this.#stepping !== undefined) return this.#stepping
    return this.#state.frozen_at ?? Date.now() + this.#state.offset_ms
  }

  get state (): ClockState { return { ...this.#state } }
  get mode (): ClockMode { return clockMode(this.#state) }
  /** Timers waiting (for tests and the status). */
  get pending (): number { return this.#pending.filter(p => !p.cancelled).length }

  at (dueMs: number, fn: () => void): ClockTimer {
    const p: Pending = { due: dueMs, fn, seq: ++this.#seq, cancelled: false }
    this.#pending.push(p)
    if (dueMs <= this.now()) this.#arm(0)
    else this.#rearm()
    return { cancel: () => { p.cancelled = true; this.#remove(p) } }
  }

  /** Called with the new state after every change (interval-driven emulators look at once). */
  onChange (listener: (state: ClockState) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * Moves the clock to a new state. When it moves forward, every timer it passes fires first, in
   * due order, each seeing its own due time; then the new state applies.
   */
  apply (next: ClockState): void {
    if (next.frozen_at === this.#state.frozen_at && next.offset_ms === this.#state.offset_ms) return
    const before = this.now()
    const target = next.frozen_at ?? Date.now() + next.offset_ms
    if (target > before) this.#fireThrough(target)
    this.#state = { frozen_at: next.frozen_at, offset_ms: next.offset_ms }
    this.#rearm()
    for (const l of this.#listeners) {
      try { l(this.state) } catch { /* a listener's failure is its own */ }
    }
  }

  /** Stops every timer (process close). */
  close (): void {
    clearTimeout(this.#timer)
    this.#pending = []
  }

  #fireThrough (target: number): void {
    // A timer may set another within the window: keep going until nothing is due by the target.
    for (let guard = 0; guard < 1_000_000; guard++) {
      const next = this.#nextDue()
      if (!next || next.due > target) break
      this.#stepping = Math.max(next.due, this.#stepping ?? Number.NEGATIVE_INFINITY)
      this.#remove(next)
      this.#run(next)
    }
    this.#stepping = undefined
  }

  #nextDue (): Pending | undefined {
    let best: Pending | undefined
    for (const p of this.#pending) {
      if (p.cancelled) continue
      if (!best || p.due < best.due || (p.due === best.due && p.seq < best.seq)) best = p
    }
    return best
  }

  #remove (p: Pending): void {
    const i = this.#pending.indexOf(p)
    if (i >= 0) this.#pending.splice(i, 1)
  }

  #run (p: Pending): void {
    try { p.fn() } catch (err) { queueMicrotask(() => { throw err }) }
  }

  #tick (): void {
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
    const now = this.now()
    this.#pending = this.#pending.filter(p => !p.cancelled)
    const due = this.#pending.filter(p => p.due <= now).sort((a, b) => a.due - b.due || a.seq - b.seq)
    this.#pending = this.#pending.filter(p => p.due > now)
    for (const p of due) if (!p.cancelled) this.#run(p)
    this.#rearm()
  }

  #rearm (): void {
    const next = this.#nextDue()
    if (!next) {
      clearTimeout(this.#timer)
      this.#timer = undefined
      this.#timerAt = Number.POSITIVE_INFINITY
      return
    }
    if (this.#state.frozen_at !== null) {
      // Frozen: only what is already due fires (a timer set for "now").
      if (next.due <= this.#state.frozen_at) this.#arm(0)
      else { clearTimeout(this.#timer); this.#timer = undefined; this.#timerAt = Number.POSITIVE_INFINITY }
      return
    }
    this.#arm(Math.max(0, next.due - this.now()))
  }

  #arm (delay: number): void {
    const at = Date.now() + delay
    if (this.#timer && this.#timerAt <= at) return
    clearTimeout(this.#timer)
    this.#timerAt = at
    this.#timer = setTimeout(() => this.#tick(), Math.min(delay, 2_147_000_000))
    this.#timer.unref()
  }
}
