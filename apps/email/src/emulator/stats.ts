/** Per-day counters behind GET /v3/stats, so memory stays flat however many mails arrive. */
export const METRICS = ['blocks', 'bounce_drops', 'bounces', 'clicks', 'deferred', 'delivered', 'invalid_emails', 'opens', 'processed', 'requests', 'spam_report_drops', 'spam_reports', 'unique_clicks', 'unique_opens', 'unsubscribe_drops', 'unsubscribes'] as const
export type Metric = typeof METRICS[number]
export type Metrics = Record<Metric, number>

const zero = (): Metrics => Object.fromEntries(METRICS.map(m => [m, 0])) as Metrics
export const day = (d: Date) => d.toISOString().slice(0, 10)

export class MailStats {
  readonly #days = new Map<string, Metrics>()

  add (metric: Metric, n = 1, at = new Date()): void {
    const key = day(at)
    let m = this.#days.get(key)
    if (!m) this.#days.set(key, m = zero())
    m[metric] += n
  }

  reset (): void {
    this.#days.clear()
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
