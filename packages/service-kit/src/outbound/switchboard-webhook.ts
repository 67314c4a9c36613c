import { hmac, timestampIsFresh, verifyHmac } from './hmac.ts'

/**
 * Switchboard's own webhook signature, for emulated providers that publish no signing scheme of
 * their own (AiSensy, Bolna.ai) and say so in the README: a unix timestamp header, and a hex
 * HMAC-SHA256 under a shared secret of "<timestamp>.<raw body>". The timestamp is inside the
 * signed bytes, so an old post cannot be passed off as new; receivers refuse stale ones.
 *
 *   x-switchboard-timestamp: 1763900000
 *   x-switchboard-signature: hex(HMAC-SHA256(secret, "1763900000." + body))
 */
export const SIGNATURE_HEADER = 'x-switchboard-signature'
export const TIMESTAMP_HEADER = 'x-switchboard-timestamp'

// "<timestamp>." then the body, fed to the HMAC as two parts rather than copied into one buffer.
const signedBytes = (timestamp: string, body: string | Buffer): [string, string | Buffer] => [`${timestamp}.`, body]

export function signSwitchboardWebhook (secret: string, timestamp: string, body: string | Buffer): string {
  return hmac(secret, signedBytes(timestamp, body))
}

/** The two signature headers for a post made now (merge them into the post's own headers). */
export function switchboardWebhookHeaders (secret: string, body: string | Buffer, nowMs = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000))
  return { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signSwitchboardWebhook(secret, timestamp, body) }
}

export type SwitchboardWebhookVerdict = { ok: true } | { ok: false, reason: 'missing' | 'stale' | 'mismatch' }

/**
 * Checks a received post against one or more secrets: both headers present, the timestamp within
 * maxAgeSeconds of now, the signature over the exact bytes (constant-time comparison).
 */
export function verifySwitchboardWebhook (secrets: string | ReadonlyArray<string>, headers: { signature?: unknown, timestamp?: unknown }, rawBody: Buffer, maxAgeSeconds: number, nowMs = Date.now()): SwitchboardWebhookVerdict {
  const { signature, timestamp } = headers
  if (typeof signature !== 'string' || typeof timestamp !== 'string' || signature === '') return { ok: false, reason: 'missing' }
  if (!timestampIsFresh(timestamp, maxAgeSeconds, nowMs)) return { ok: false, reason: 'stale' }
  return verifyHmac(secrets, signedBytes(timestamp, rawBody), signature) ? { ok: true } : { ok: false, reason: 'mismatch' }
}
