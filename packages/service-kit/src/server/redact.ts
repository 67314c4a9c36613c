/**
 * Removes secrets from text and values that came back from a provider. A provider's error body can
 * echo what it was sent (headers, a key in a message), and that body used to reach API callers, the
 * logs and the stored rows unfiltered. Every configured secret is replaced, and so is anything
 * shaped like one of the providers' keys, configured or not.
 *
 * The set of configured secrets is process-wide on purpose: the stack runs six servers in one
 * process and an error can cross from one to another (a payments resend through the email service).
 */
export const REDACTED = '[REDACTED]'

const configured = new Set<string>()

/** Secrets shorter than this are not searched for: "test" or "1234" would blank out ordinary text. */
const MIN_SECRET_LENGTH = 8

/** Adds secrets (API keys, tokens, salts) to what redactSecrets removes. Empty values are skipped. */
export function registerSecrets (values: Iterable<string | undefined | null>): void {
  for (const v of values) if (typeof v === 'string' && v.length >= MIN_SECRET_LENGTH) configured.add(v)
}

/**
 * Key shapes: SendGrid (SG.<id>.<secret>), JWTs (AiSensy keys, Zoom tokens), Bolna (bn-…),
 * Switchboard's own tokens, Standard Webhooks secrets (whsec_…), and any credential in an Authorization-style "Bearer …"/"Basic …".
 */
const KEY_SHAPES = [
  /SG\.[\w-]{8,}\.[\w-]{8,}/g,
  // A JWT: eyJ… and two more dot-separated parts. Searched once per run of [\w-] characters, from
  // its first eyJ (the lookahead is atomic), not from every eyJ in it: tried at each of them, a run
  // of "eyJeyJeyJ…" with no dot made the search quadratic (an email's 1 MB content held the event
  // loop every server of the stack shares for minutes). The text before that eyJ stays.
  /(?<![\w-])(?=([\w-]*?)eyJ)\1eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]{4,}/g,
  /\bbn-[A-Za-z0-9]{16,}/g,
  /\bsb_(?:api|admin|internal)_[\w-]{16,}/g,
  /\bwhsec_[A-Za-z0-9+/=]{16,}/g,
  /\b(Bearer|Basic|Token)\s+[\w\-.~+/=:]{8,}/gi
]

const JWT_SHAPE = KEY_SHAPES[1]

/**
 * What every key shape starts with: most text has none of it, and then one test replaces five
 * searches (the capture of every emulator exchange redacts each string it stores).
 */
const ANY_SHAPE = /SG\.|eyJ|bn-|sb_|bearer|basic|token/i

/** `text` with every configured secret and key-shaped string replaced by [REDACTED]. */
export function redactText (text: string): string {
  if (text.length < MIN_SECRET_LENGTH) return text
  let out = text
  for (const secret of configured) if (out.includes(secret)) out = out.split(secret).join(REDACTED)
  if (!ANY_SHAPE.test(out)) return out
  for (const shape of KEY_SHAPES) {
    // The credential's scheme stays (Bearer [REDACTED]), and the text a JWT's shape found before it.
    out = out.replace(shape, (_match, group: unknown) => shape === JWT_SHAPE ? `${String(group)}${REDACTED}` : typeof group === 'string' ? `${group} ${REDACTED}` : REDACTED)
  }
  return out
}

/** A copy of `value` (any JSON-like value) with redactText applied to every string and key in it. */
export function redactSecrets<T> (value: T, depth = 0): T {
  if (typeof value === 'string') return redactText(value) as T
  if (value === null || typeof value !== 'object') return value
  // Deeper than any provider's body: replaced whole, never passed on unread (a provider echoing
  // our request 70 levels down gave the configured key back to the caller as it was sent).
  if (depth > 64) return REDACTED as T
  if (Array.isArray(value)) return value.map(v => redactSecrets(v, depth + 1)) as T
  if (Buffer.isBuffer(value)) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[redactText(k)] = redactSecrets(v, depth + 1)
  return out as T
}
