import { hmac, timestampIsFresh, verifyHmac } from '@switchboard/service-kit/hmac'

/**
 * Bolna signs nothing: its webhooks are trusted by source address (13.203.39.153). The emulator
 * posts from wherever it runs, so its posts carry our own scheme instead, documented as ours:
 * HMAC-SHA256 (hex) under a secret kept in the data folder, over "<timestamp>.<raw body>".
 */
export const SIGNATURE_HEADER = 'x-switchboard-signature'
export const TIMESTAMP_HEADER = 'x-switchboard-timestamp'
export const SECRET_FILE = 'bolna-emulator-webhook-secret'

export function signWebhook (secret: string, timestamp: string, body: string): string {
  return hmac(secret, `${timestamp}.${body}`)
}

export function verifyWebhook (secret: string, timestamp: string, rawBody: Buffer, signature: string, maxAgeSeconds: number): boolean {
  if (!timestampIsFresh(timestamp, maxAgeSeconds)) return false
  return verifyHmac(secret, Buffer.concat([Buffer.from(`${timestamp}.`), rawBody]), signature)
}
