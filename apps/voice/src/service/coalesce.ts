import { setTimeout as sleep } from 'node:timers/promises'

export interface CoalescingOptions {
  /** The least time between the end of one run of a key and the start of the next. */
  gapMs: number
  /** Aborted: no further run starts (one under way finishes). */
  signal: AbortSignal
  /** Receives each key's chain of runs, for the owner to wait for on close and log failures of. */
  track: (work: Promise<unknown>) => void
}

/**
 * Asks for `run(key)`, coalescing: at most one run per key at a time, at most one every gapMs;
 * asks that arrive while a key runs (or waits out its gap) become one more run after it. A key
 * nobody asks for again is forgotten once its last run ends.
 */
export function coalescing (run: (key: string) => Promise<void>, opts: CoalescingOptions): (key: string) => void {
  const states = new Map<string, { pending: boolean, running: boolean }>()
  return (key: string): void => {
    let state = states.get(key)
    if (!state) states.set(key, state = { pending: false, running: false })
    state.pending = true
    if (state.running) return
    state.running = true
    const s = state
    opts.track((async () => {
      try {
        while (s.pending && !opts.signal.aborted) {
          s.pending = false
          await run(key)
          if (s.pending) await sleep(opts.gapMs, undefined, { signal: opts.signal }).catch(() => {})
        }
      } finally {
        s.running = false
        if (!s.pending) states.delete(key)
      }
    })())
  }
}
