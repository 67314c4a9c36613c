import { createECDH, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { loadOrCreateSecret } from '@switchboard/service-kit/hmac'
import { randomId22 } from '@switchboard/service-kit/ids'

export const SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature'
export const TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp'

export type SendGridEvent = Record<string, unknown> & { email: string, event: string, timestamp: number, sg_event_id: string, sg_message_id: string }

export const KEY_FILE = 'sendgrid-event-webhook-key.pem'

/**
 * The Event Webhook's ECDSA P-256 key pair. Kept in the data folder so the public key a receiver
 * was configured with stays valid across restarts; in memory when there is no data folder.
 */
export function loadSigningKey (dataDir?: string): SigningKey {
  const pem = loadOrCreateSecret(dataDir, KEY_FILE, {
    generate: () => newPrivateKey().export({ type: 'pkcs8', format: 'pem' }).toString(),
    accept: stored => Boolean(createPrivateKey(stored)) // a file that holds no key is replaced
  })
  return signingKey(createPrivateKey(pem))
}

export interface SigningKey { privateKey: KeyObject, publicKeyBase64: string }

const newPrivateKey = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey

/** A fresh key pair, for a webhook created through the settings API (each has its own). */
export const newSigningKey = (): SigningKey => signingKey(newPrivateKey())

function signingKey (privateKey: KeyObject): SigningKey {
  // SendGrid publishes the key as base64 of the DER SubjectPublicKeyInfo, no PEM armour.
  const publicKeyBase64 = createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64')
  return { privateKey, publicKeyBase64 }
}

/** SendGrid's wire layout for a batch: `[{...},\r\n{...}]\r\n` (from the SDK's signed test vectors). */
export function serializeEvents (events: SendGridEvent[]): string {
  return `[${events.map(e => JSON.stringify(e)).join(',\r\n')}]\r\n`
}

/** Signs timestamp + raw body with ECDSA/SHA-256, base64 DER, as SendGrid does. */
export function signEvents (privateKey: KeyObject, timestamp: string, body: string): string {
  return sign('sha256', Buffer.from(timestamp + body), privateKey).toString('base64')
}

export const newEventId = randomId22

// P-256's group order: a derived private scalar must lie in [1, n - 1].
const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551')

/**
 * A webhook's own key pair, derived from the account's key (the data folder's) and the webhook's
 * id: the same on every instance that shares the data folder's key and after every restart, with
 * no private key written anywhere else (the database keeps the webhook's settings, not its key).
 */
export function deriveSigningKey (base: SigningKey, label: string): SigningKey {
  const secret = base.privateKey.export({ type: 'pkcs8', format: 'der' })
  for (let counter = 0; ; counter++) {
    const d = createHmac('sha256', secret).update(`sendgrid-event-webhook:${label}:${counter}`).digest()
    const scalar = BigInt(`0x${d.toString('hex')}`)
    if (scalar === 0n || scalar >= P256_ORDER) continue
    const ecdh = createECDH('prime256v1')
    ecdh.setPrivateKey(d)
    const point = ecdh.getPublicKey() // 0x04 || x || y
    const jwk = { kty: 'EC', crv: 'P-256', d: d.toString('base64url'), x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33, 65).toString('base64url') }
    return signingKey(createPrivateKey({ key: jwk, format: 'jwk' }))
  }
}
