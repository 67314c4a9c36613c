import { createHash, randomBytes } from 'node:crypto'
import { loadOrCreateSecret, safeEqual } from '../outbound/hmac.ts'
import { registerSecrets } from '../server/redact.ts'

/**
 * How an emulator's provider-faithful routes check the provider's credentials:
 * - `any`: any credential of the provider's shape (an `SG.x.y` key, a `bn-…` key), as stripe-mock
 *   and LocalStack do: the first hour needs no key at all.
 * - `issued`: only this stack's own fake account, as the provider would. On a shared box this keeps
 *   other local users from reading or changing what was created through the emulators (buyers'
 *   payment requests, call transcripts, webhook targets). The service's own mock client always
 *   presents the issued credentials, so the gateway paths work the same in both.
 */
export const EMULATOR_AUTH_MODES = ['any', 'issued'] as const
export type EmulatorAuth = typeof EMULATOR_AUTH_MODES[number]

/** Makes one credential of the account from 64 random (or derived) bytes. */
export type CredentialMaker = (bytes: Buffer) => string

export interface EmulatorAccount<F extends string> {
  readonly auth: EmulatorAuth
  /** The account's credentials: what the service's mock client presents, and all an `issued` emulator takes. */
  readonly credentials: Readonly<Record<F, string>>
  /**
   * Whether a presented credential passes: in `any` mode every value does (the emulator's own
   * shape check, with the provider's wording, is the only one); in `issued` mode only the issued
   * value, compared in constant time.
   */
  accepts: (field: F, presented: unknown) => boolean
}

export interface EmulatorAccountOptions<F extends string> {
  /** Names the file in the data folder (`<provider>-emulator-account`). */
  provider: string
  auth: EmulatorAuth
  /** The account's credentials, each made from bytes of its own. */
  credentials: Record<F, CredentialMaker>
  dataDir?: string | undefined
  /** INTERNAL_TOKEN from the environment: instances without a shared folder derive the same account. */
  derivedFrom?: string | undefined
}

/**
 * The fake provider account of this stack: generated on first start into the data folder (owner
 * only, like the emulators' webhook secrets), the same across restarts and for every instance that
 * shares the folder or INTERNAL_TOKEN. Its values are registered as secrets, so they are redacted
 * from logs and stored rows wherever they appear.
 */
export function emulatorAccount<F extends string> (opts: EmulatorAccountOptions<F>): EmulatorAccount<F> {
  const fields = Object.keys(opts.credentials) as F[]
  const make = (seed?: Buffer) => JSON.stringify(Object.fromEntries(fields.map(field => [
    field,
    opts.credentials[field](seed ? createHash('sha512').update(seed).update(field).digest() : randomBytes(64))
  ])))
  const text = loadOrCreateSecret(opts.dataDir, `${opts.provider}-emulator-account`, {
    derivedFrom: opts.derivedFrom,
    generate: make,
    // A file from an older account shape (a field added since) is made anew.
    accept: stored => {
      const parsed = JSON.parse(stored) as Record<string, unknown>
      return fields.every(field => typeof parsed[field] === 'string' && parsed[field] !== '')
    }
  })
  const credentials = JSON.parse(text) as Record<F, string>
  registerSecrets(Object.values(credentials))
  return {
    auth: opts.auth,
    credentials,
    accepts: (field, presented) => opts.auth === 'any' || (typeof presented === 'string' && safeEqual(presented, credentials[field]))
  }
}

/** Letters and digits, one from each byte (for providers whose ids have no `-` or `_`); at most `bytes.length` of them. */
export function alphanumeric (bytes: Buffer, length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  let out = ''
  // A byte modulo 62 leans slightly towards the first letters: still about 5.9 bits each.
  for (const byte of bytes.subarray(0, length)) out += alphabet[byte % alphabet.length]
  return out
}
