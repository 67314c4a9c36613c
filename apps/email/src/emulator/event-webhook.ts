import { createECDH, createHmac, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { loadOrCreateSecret } from '@switchboard/service-kit/hmac'
import { publicKeyBase64 } from '../sendgrid-webhooks.ts'

/**
 * The emulated account's Event Webhook signing keys (which key signs which webhook). How a post is
 * signed, and what goes over the wire, is sendgrid-webhooks.ts.
 */
export const KEY_FILE = 'sendgrid-event-webhook-key.pem'

/**
 * The Event Webhook's ECDSA P-256 key pair. Kept in the data folder so the public key a receiver
 * was configured with stays valid across restarts; in memory when there is no data folder; derived
 * from `derivedFrom` (INTERNAL_TOKEN from the environment) when given, so instances with folders of
 * their own sign alike.
 */
export function loadSigningKey (dataDir?: string, derivedFrom?: string): SigningKey {
  const pem = loadOrCreateSecret(dataDir, KEY_FILE, {
    generate: seed => (seed ? keyFromSeed(seed, 'account') : newPrivateKey()).export({ type: 'pkcs8', format: 'pem' }).toString(),
    accept: stored => Boolean(createPrivateKey(stored)), // a file that holds no key is replaced
    ...(derivedFrom ? { derivedFrom } : {})
  })
  return signingKey(createPrivateKey(pem))
}

export interface SigningKey { privateKey: KeyObject, publicKeyBase64: string }

const newPrivateKey = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey

/** A fresh key pair, for a webhook created through the settings API (each has its own). */
export const newSigningKey = (): SigningKey => signingKey(newPrivateKey())

function signingKey (privateKey: KeyObject): SigningKey {
  return { privateKey, publicKeyBase64: publicKeyBase64(privateKey) }
}

// P-256's group order: a derived private scalar must lie in [1, n - 1].
const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551')

/**
 * A webhook's own key pair, derived from the account's key (the data folder's) and the webhook's
 * id: the same on every instance that shares the data folder's key and after every restart, with
 * no private key written anywhere else (the database keeps the webhook's settings, not its key).
 */
export function deriveSigningKey (base: SigningKey, label: string): SigningKey {
  return signingKey(keyFromSeed(base.privateKey.export({ type: 'pkcs8', format: 'der' }), label))
}

/** A P-256 private key that follows from `seed` and `label` alone. */
function keyFromSeed (seed: Buffer, label: string): KeyObject {
  for (let counter = 0; ; counter++) {
    const d = createHmac('sha256', seed).update(`sendgrid-event-webhook:${label}:${counter}`).digest()
    const scalar = BigInt(`0x${d.toString('hex')}`)
    if (scalar === 0n || scalar >= P256_ORDER) continue
    const ecdh = createECDH('prime256v1')
    ecdh.setPrivateKey(d)
    const point = ecdh.getPublicKey() // 0x04 || x || y
    const jwk = { kty: 'EC', crv: 'P-256', d: d.toString('base64url'), x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33, 65).toString('base64url') }
    return createPrivateKey({ key: jwk, format: 'jwk' })
  }
}
