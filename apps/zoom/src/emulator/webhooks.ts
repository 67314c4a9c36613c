import { hmac, verifyHmac } from '@switchboard/service-kit/hmac'

export const SIGNATURE_HEADER = 'x-zm-signature'
export const TIMESTAMP_HEADER = 'x-zm-request-timestamp'

/**
 * Zoom's webhook signature (providers.md §5): "v0=" + hex HMAC-SHA256 under the app's secret token
 * of "v0:" + x-zm-request-timestamp + ":" + the raw body. Bodies are sent as compact
 * JSON.stringify output so a receiver that re-serialises the parsed body (as Rivet does) computes
 * the same bytes.
 */
export function signZoomWebhook (secret: string, timestamp: string, body: string | Buffer): string {
  return `v0=${hmac(secret, Buffer.concat([Buffer.from(`v0:${timestamp}:`), Buffer.from(body)]))}`
}

export function verifyZoomWebhook (secrets: ReadonlyArray<string>, timestamp: string, rawBody: Buffer, signature: string): boolean {
  return verifyHmac(secrets, Buffer.concat([Buffer.from(`v0:${timestamp}:`), rawBody]), signature, { prefix: 'v0=' })
}

/** The answer to Zoom's endpoint.url_validation challenge. */
export function urlValidationAnswer (secret: string, plainToken: string): { plainToken: string, encryptedToken: string } {
  return { plainToken, encryptedToken: hmac(secret, plainToken) }
}

export interface ZoomEvent {
  event: string
  event_ts: number
  payload: Record<string, unknown>
  download_token?: string
}
