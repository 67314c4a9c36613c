/**
 * Zoom takes start_time either in UTC ("2023-11-14T22:13:20Z") or as local time
 * ("2023-11-14T22:13:20") read in the `timezone` given with it.
 */
const formatters = new Map<string, Intl.DateTimeFormat>()

export function isTimeZone (tz: string): boolean {
  if (tz.length > 64) return false
  try {
    formatter(tz)
    return true
  } catch {
    return false
  }
}

function formatter (tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    // A few hundred zones exist; the cache cannot grow past that.
    if (formatters.size < 1000) formatters.set(tz, f)
  }
  return f
}

/** The zone's offset from UTC at an instant, in ms (positive east of Greenwich). */
function offsetMs (utcMs: number, tz: string): number {
  const parts: Record<string, number> = {}
  for (const p of formatter(tz).formatToParts(new Date(utcMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value)
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!)
  return asUtc - Math.floor(utcMs / 1000) * 1000
}

const UTC_FORM = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/
const LOCAL_FORM = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/

/** Parses a Zoom start_time into epoch ms, or NaN when it is neither form. */
export function parseStartTime (value: string, timezone: string | undefined): number {
  if (UTC_FORM.test(value)) return Date.parse(value)
  if (!LOCAL_FORM.test(value)) return Number.NaN
  const naive = Date.parse(`${value}Z`)
  if (Number.isNaN(naive) || !timezone || timezone === 'UTC' || timezone === 'GMT') return naive
  // Local wall time → UTC: subtract the offset, then correct once across a DST change.
  const first = offsetMs(naive, timezone)
  const second = offsetMs(naive - first, timezone)
  return naive - second
}
