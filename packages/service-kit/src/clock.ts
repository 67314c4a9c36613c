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

/**
 * Where emulators read the time for anything scheduled (a held send, an event due later). Taken
 * as a parameter rather than Date.now() so a test clock can be handed in instead.
 */
export interface Clock {
  /** Milliseconds since the epoch, as Date.now(). */
  now (): number
}

export const systemClock: Clock = { now: () => Date.now() }
