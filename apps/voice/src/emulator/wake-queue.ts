import type { ClockTimer, TimerClock } from '@switchboard/service-kit/clock'

/** What the queue keeps on each entry: when it is due, and its place in the heap (-1: not queued). */
export interface Due {
  dueAt: number
  heapIndex: number
}

/**
 * Entries waiting for their time, in one binary min-heap by due time under a single timer, so ten
 * thousand waiting entries cost one timer, not ten thousand; the entries that fall due together
 * are handed to `onDue` in one tick, earliest first. The heap is intrusive (each entry carries its
 * own index), so moving or removing one is O(log n) with no lookup.
 */
export class WakeQueue<T extends Due> {
  readonly #heap: T[] = []
  readonly #clock: TimerClock
  readonly #onDue: (entry: T) => void
  #timer: ClockTimer | undefined
  #armedAt = Infinity
  #closed = false

  constructor (clock: TimerClock, onDue: (entry: T) => void) {
    this.#clock = clock
    this.#onDue = onDue
  }

  get size (): number {
    return this.#heap.length
  }

  /** Closed: nothing is queued or handed over any more. */
  get closed (): boolean {
    return this.#closed
  }

  /** Queues the entry for `at` (moving it if it was queued already). Ignored once closed. */
  add (entry: T, at: number): void {
    if (this.#closed) return
    this.remove(entry)
    entry.dueAt = at
    entry.heapIndex = this.#heap.length
    this.#heap.push(entry)
    this.#up(entry.heapIndex)
    this.#arm()
  }

  /** Takes the entry out, if queued. */
  remove (entry: T): void {
    const i = entry.heapIndex
    if (i < 0) return
    const heap = this.#heap
    const last = heap.pop()!
    entry.heapIndex = -1
    if (last !== entry) {
      heap[i] = last
      last.heapIndex = i
      this.#down(i)
      this.#up(last.heapIndex)
    }
  }

  /** Empties the queue (the timer too). */
  clear (): void {
    for (const entry of this.#heap) entry.heapIndex = -1
    this.#heap.length = 0
    this.#timer?.cancel()
    this.#timer = undefined
    this.#armedAt = Infinity
  }

  /** Empties the queue for good. */
  close (): void {
    this.#closed = true
    this.clear()
  }

  /** One timer, set for the earliest wake-up; moved only when an earlier one arrives. */
  #arm (): void {
    const first = this.#heap[0]
    if (!first) return
    if (this.#timer !== undefined && first.dueAt >= this.#armedAt) return
    this.#timer?.cancel()
    this.#armedAt = first.dueAt
    this.#timer = this.#clock.at(first.dueAt, () => this.#tick())
  }

  #tick (): void {
    this.#timer = undefined
    this.#armedAt = Infinity
    const heap = this.#heap
    // A timer may fire a little before the wall clock reaches its time (the loop's clock lags):
    // a millisecond early still counts as due, rather than setting the timer again.
    const at = this.#clock.now() + 1
    while (heap.length > 0 && heap[0]!.dueAt <= at && !this.#closed) {
      const entry = heap[0]!
      this.remove(entry)
      this.#onDue(entry)
    }
    this.#arm()
  }

  #up (i: number): void {
    const heap = this.#heap
    const entry = heap[i]!
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = heap[parent]!
      if (p.dueAt <= entry.dueAt) break
      heap[i] = p
      p.heapIndex = i
      i = parent
    }
    heap[i] = entry
    entry.heapIndex = i
  }

  #down (i: number): void {
    const heap = this.#heap
    const n = heap.length
    const entry = heap[i]!
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && heap[r]!.dueAt < heap[l]!.dueAt ? r : l
      const child = heap[c]!
      if (child.dueAt >= entry.dueAt) break
      heap[i] = child
      child.heapIndex = i
      i = c
    }
    heap[i] = entry
    entry.heapIndex = i
  }
}
