// Formatting for people: times, durations, rates, service names.

// The services in their order with their names for people, as the server lists them: page.ts writes
// service-kit's SERVICE_NAMES into the shell's <template id="service-names">. Never spelled out here.
const serviceTemplate = /** @type {HTMLTemplateElement} */ (document.getElementById('service-names'))
const serviceNames = [...serviceTemplate.content.querySelectorAll('option')]
export const ORDER = serviceNames.map(o => o.value)
/** @type {Record<string, string>} */
export const LABELS = Object.fromEntries(serviceNames.map(o => [o.value, o.textContent ?? o.value]))
export const label = (service) => LABELS[service] ?? service
export const byOrder = (a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b)

export const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' })
export const minuteFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const relFmt = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })

export function when (iso) {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return String(iso ?? '')
  return d.toDateString() === new Date().toDateString() ? timeFmt.format(d) : dateTimeFmt.format(d)
}
/**
 * When an item last changed, to tell a change from the version shown: its changed_at (real time,
 * one per change) — not updated_at, which is on the test clock and stays the same for every move
 * made while the clock is frozen.
 */
export function changeMark (item) { return String(item?.changed_at ?? item?.updated_at ?? '') }

export function ago (iso) {
  const sec = Math.round((new Date(iso).getTime() - Date.now()) / 1000)
  if (!Number.isFinite(sec)) return ''
  if (Math.abs(sec) < 60) return relFmt.format(sec, 'second')
  if (Math.abs(sec) < 3600) return relFmt.format(Math.round(sec / 60), 'minute')
  if (Math.abs(sec) < 86400) return relFmt.format(Math.round(sec / 3600), 'hour')
  return relFmt.format(Math.round(sec / 86400), 'day')
}
/** A span of time for people: "45 s", "12 min 30 s", "3 h 5 min", "1 day 2 h" (the two largest units). */
export function duration (milliseconds) {
  const s = Math.round(Math.abs(Number(milliseconds)) / 1000)
  if (!Number.isFinite(s)) return ''
  const two = (big, bigUnit, small, smallUnit) => `${big} ${bigUnit}${small ? ` ${small} ${smallUnit}` : ''}`
  if (s < 60) return `${s} s`
  if (s < 3600) return two(Math.floor(s / 60), 'min', s % 60, 's')
  if (s < 86400 - 30) { const m = Math.round(s / 60); return two(Math.floor(m / 60), 'h', m % 60, 'min') }
  const hours = Math.round(s / 3600)
  const days = Math.floor(hours / 24)
  return two(days, days === 1 ? 'day' : 'days', hours % 24, 'h')
}

export function ms (value) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return '—'
  const n = Number(value)
  return n >= 1000 ? `${(n / 1000).toFixed(n >= 10000 ? 0 : 1)} s` : `${Math.round(n)} ms`
}
export function pct (rate) {
  if (rate === null || rate === undefined || !Number.isFinite(Number(rate))) return '—'
  const p = Number(rate) * 100
  return `${p === 100 || p === 0 ? p : p.toFixed(1)} %`
}
export function show (value) {
  if (value === null || value === undefined) return 'none'
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/** The colour of a status: good, pending or bad (a failure or an outcome other than success). */
export function statusClass (status) {
  const st = String(status ?? '').toLowerCase()
  if (/(fail|bounce|drop|error|reject|spam|expired|cancel|busy|no.?answer|undeliver|declin|unreachable|^[45]\d\d$|http [45]\d\d|no answer)/.test(st)) return 'bad'
  if (/(pending|queued|sent|processing|accepted|initiated|ringing|scheduled|deferred|started|created|waiting|opened)/.test(st)) return 'pending'
  return 'good'
}
