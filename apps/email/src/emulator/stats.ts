/** Per-day counters behind GET /v3/stats, so memory stays flat however many mails arrive. */
export const METRICS = ['blocks', 'bounce_drops', 'bounces', 'clicks', 'deferred', 'delivered', 'invalid_emails', 'opens', 'processed', 'requests', 'spam_report_drops', 'spam_reports', 'unique_clicks', 'unique_opens', 'unsubscribe_drops', 'unsubscribes'] as const
export type Metric = typeof METRICS[number]
export type Metrics = Record<Metric, number>

const zero = (): Metrics => Object.fromEntries(METRICS.map(m => [m, 0])) as Metrics
export const day = (d: Date) => d.toISOString().slice(0, 10)

const DAY_MS = 86_400_000

export class MailStats {
  readonly #days = new Map<string, Metrics>()
  /** Counters kept elsewhere: other instances' (and this one's from before a restart), by stored id. */
  readonly #others = new Map<string, { day: string, metrics: Metrics }>()
  // Every message adds several counters; today's bucket is looked up once per UTC day, not per add.
  #today: { until: number, key: string, metrics: Metrics } | undefined
  readonly #changed: ((day: string, metrics: Metrics) => void) | undefined
  readonly #dirty = new Set<string>()
  readonly #now: () => number

  /** `changed` hears of each day whose counters moved, once per turn of the event loop; `now`: the emulators' clock. */
  constructor (changed?: (day: string, metrics: Metrics) => void, now: () => number = Date.now) {
    this.#changed = changed
    this.#now = now
  }

  add (metric: Metric, n = 1, at?: Date): void {
    this.#bucket(at)[metric] += n
  }

  #report (): void {
    for (const key of this.#dirty) {
      const m = this.#days.get(key)
      if (m) this.#changed!(key, m)
    }
    this.#dirty.clear()
  }

  /** Counters kept elsewhere (another instance's row, or this one's before a restart); the latest wins. */
  setOther (id: string, day: string, metrics: Metrics): void {
    this.#others.set(id, { day, metrics })
  }

  #bucket (at: Date | undefined): Metrics {
    const now = at === undefined ? this.#now() : at.getTime()
    const today = this.#today
    if (at === undefined && today !== undefined && now < today.until && now >= today.until - DAY_MS) {
      this.#touch(today.key)
      return today.metrics
    }
    const key = day(new Date(now))
    let m = this.#days.get(key)
    if (!m) this.#days.set(key, m = zero())
    if (at === undefined) this.#today = { until: Date.parse(`${key}T00:00:00Z`) + DAY_MS, key, metrics: m }
    this.#touch(key)
    return m
  }

  #touch (key: string): void {
    if (this.#changed === undefined || this.#dirty.has(key)) return
    if (this.#dirty.size === 0) queueMicrotask(() => this.#report())
    this.#dirty.add(key)
  }

  reset (): void {
    this.#days.clear()
    this.#others.clear()
    this.#dirty.clear()
    this.#today = undefined
  }

  /** The /v3/stats body: one entry per day (or week/month start) from start to end, inclusive. */
  query (start: string, end: string, aggregatedBy: 'day' | 'week' | 'month' | undefined): Array<{ date: string, stats: Array<{ metrics: Metrics }> }> {
    const buckets = new Map<string, Metrics>()
    for (let d = new Date(`${start}T00:00:00Z`); day(d) <= end; d.setUTCDate(d.getUTCDate() + 1)) {
      const key = bucket(d, aggregatedBy)
      const acc = buckets.get(key) ?? zero()
      const m = this.#days.get(day(d))
      if (m) for (const k of METRICS) acc[k] += m[k]
      buckets.set(key, acc)
    }
    for (const o of this.#others.values()) {
      if (o.day < start || o.day > end) continue
      const acc = buckets.get(bucket(new Date(`${o.day}T00:00:00Z`), aggregatedBy))
      if (acc) for (const k of METRICS) acc[k] += Number(o.metrics[k]) || 0
    }
    return [...buckets].map(([date, metrics]) => ({ date, stats: [{ metrics }] }))
  }
}

function bucket (d: Date, by: 'day' | 'week' | 'month' | undefined): string {
  if (by === 'month') return `${day(d).slice(0, 7)}-01`
  if (by === 'week') {
    const monday = new Date(d)
    monday.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7))
    return day(monday)
  }
  return day(d)
}
