// Under load many records and webhooks are stamped within the same millisecond: each millisecond
// is formatted once.
let lastMs = Number.NaN
let lastIso = ''

/** Now as an ISO-8601 string (toISOString), formatted at most once per millisecond. */
export function isoNow (): string {
  const ms = Date.now()
  if (ms !== lastMs) {
    lastMs = ms
    lastIso = new Date(ms).toISOString()
  }
  return lastIso
}
