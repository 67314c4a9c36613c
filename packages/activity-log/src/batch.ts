/**
 * Group commit for calls that each need an answer: a call made while the previous batch is with
 * the database waits for the next batch, so N concurrent callers cost one round trip instead of N.
 * A lone caller waits for nothing: its batch starts once the current microtasks have run (callers
 * of the same tick go together). One batch at a time per batcher, so batches grow exactly when the
 * database is the bottleneck.
 */
export interface BatcherOptions<I> {
  /** Most items in one batch. Default 500. */
  max?: number
  /**
   * Items with the same key never share a batch (a later one waits for the next batch, in order):
   * for writes to one record whose outcome depends on the write before it.
   */
  key?: (item: I) => string
}

interface Waiting<I, O> { item: I, resolve: (out: O) => void, reject: (err: unknown) => void }

/**
 * Returns a function that queues one item and resolves with its own result. `run` gets the items
 * of a batch in call order and must return one result per item, in the same order; if it throws,
 * every caller of that batch gets the error.
 */
export function batcher<I, O> (run: (items: I[]) => Promise<O[]>, opts: BatcherOptions<I> = {}): (item: I) => Promise<O> {
  const max = opts.max ?? 500
  let waiting: Array<Waiting<I, O>> = []
  let active = false

  const take = (): Array<Waiting<I, O>> => {
    if (opts.key === undefined) return waiting.splice(0, max)
    const batch: Array<Waiting<I, O>> = []
    const later: Array<Waiting<I, O>> = []
    const keys = new Set<string>()
    for (const w of waiting) {
      const k = opts.key(w.item)
      // Once one item of a key waits, every later one of that key waits too: their order holds.
      if (batch.length >= max || keys.has(k)) later.push(w)
      else batch.push(w)
      keys.add(k)
    }
    waiting = later
    return batch
  }

  const drain = async () => {
    try {
      while (waiting.length > 0) {
        const batch = take()
        try {
          const out = await run(batch.map(w => w.item))
          if (out.length !== batch.length) throw new Error(`a batch of ${batch.length} got ${out.length} results`)
          batch.forEach((w, i) => w.resolve(out[i]!))
        } catch (err) {
          for (const w of batch) w.reject(err)
        }
      }
    } finally {
      active = false
    }
  }

  return item => new Promise<O>((resolve, reject) => {
    waiting.push({ item, resolve, reject })
    if (active) return
    active = true
    queueMicrotask(() => { void drain() })
  })
}
