/**
 * JSON with object keys sorted: two values that differ only in their keys' order give the same
 * text. An idempotency key compares request bodies this way (as Stripe compares parameters), and a
 * scenario read back from the database (jsonb keeps its keys in its own order) is recognised as
 * the one already playing.
 */
export function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map(k => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}
