import { createHash, createHmac, createSecretKey, hkdfSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * HMAC signing and verification for webhooks, shared by every provider that signs with a shared
 * secret (Zoom: hex HMAC-SHA256 with a "v0=" prefix; others: their own algorithm and encoding).
 */
export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512'
export type HmacEncoding = 'hex' | 'base64' | 'base64url'

export interface HmacOptions {
  algorithm?: HmacAlgorithm
  encoding?: HmacEncoding
}

// A string secret becomes a KeyObject once, not on every signature (the webhook paths sign and
// verify on every post; a cached key is measurably cheaper). Only a handful of secrets exist.
const secretKeys = new Map<string, KeyObject>()
function keyFor (secret: string | Buffer): KeyObject | Buffer {
  if (typeof secret !== 'string') return secret
  let key = secretKeys.get(secret)
  if (key === undefined) {
    if (secretKeys.size >= 64) secretKeys.clear()
    secretKeys.set(secret, key = createSecretKey(Buffer.from(secret, 'utf8')))
  }
  return key
}

/** HMAC of `data` (or of its parts, in order, without joining them) under `secret` (default SHA-256, hex). */
export function hmac (secret: string | Buffer, data: string | Buffer | ReadonlyArray<string | Buffer>, opts: HmacOptions = {}): string {
  const mac = createHmac(opts.algorithm ?? 'sha256', keyFor(secret))
  if (typeof data === 'string' || Buffer.isBuffer(data)) mac.update(data)
  else for (const part of data) mac.update(part)
  return mac.digest(opts.encoding ?? 'hex')
}

// Hashing first gives equal-length buffers, so the comparison time says nothing about either value.
const digest = (s: string) => createHash('sha256').update(s).digest()

/** Constant-time string comparison (any lengths). */
export function safeEqual (presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected))
}

/**
 * True when `signature` is the HMAC of `data` under one of `secrets` (with an optional prefix such
 * as "v0="). Every secret is checked, without an early exit.
 */
export function verifyHmac (secrets: string | ReadonlyArray<string>, data: string | Buffer | ReadonlyArray<string | Buffer>, signature: string, opts: HmacOptions & { prefix?: string } = {}): boolean {
  const presented = Buffer.from(signature)
  let ok = false
  for (const secret of typeof secrets === 'string' ? [secrets] : secrets) {
    if (!secret) continue
    // The expected signature's length is public (the algorithm's), so only equal lengths are
    // compared, in constant time; no need to hash both sides as safeEqual does for any lengths.
    const expected = Buffer.from(`${opts.prefix ?? ''}${hmac(secret, data, opts)}`)
    ok = (presented.length === expected.length && timingSafeEqual(presented, expected)) || ok
  }
  return ok
}

/** True when a unix timestamp (seconds, as sent in a header) is within maxAgeSeconds of now, either way. */
export function timestampIsFresh (timestamp: string | number | undefined, maxAgeSeconds: number, nowMs = Date.now()): boolean {
  const s = typeof timestamp === 'number' ? String(timestamp) : timestamp
  if (!s || !/^\d{1,12}$/.test(s)) return false
  return Math.abs(nowMs / 1000 - Number(s)) <= maxAgeSeconds
}

export interface SecretFileOptions {
  /** Random bytes in a generated secret (default 24). */
  bytes?: number
  /** How a generated secret is written (default base64url). */
  encoding?: 'base64url' | 'hex'
  /**
   * Makes a new secret in the file's own format instead (a PEM key, say), from `seed` when the
   * secret is derived (`derivedFrom`): the same seed must give the same secret.
   */
  generate?: (seed?: Buffer) => string
  /**
   * A secret every instance of the service is given (INTERNAL_TOKEN from the environment): the
   * secret is derived from it and this file's name, and nothing is written. Instances with data
   * folders of their own then agree on it: a payment link created on one instance and paid on
   * another is signed with the salt both verify with; a Zoom token one issued is valid on the other.
   */
  derivedFrom?: string
  /** Whether the file's text (trimmed) is a usable secret (default: any; a throw is a no); a file holding something else is replaced. */
  accept?: (stored: string) => boolean
}

/**
 * A webhook secret generated on first start and kept in the data folder, so a receiver configured
 * with it stays valid across restarts; in memory only when there is no (writable) data folder.
 * Every provider app loads its webhook secret (token, salt, signing key) with this. The file holds
 * the secret and a newline; it is read trimmed. Two processes sharing the folder agree on one: the
 * file is created exclusively, and the one that loses the race reads the winner's. Instances that
 * share no folder agree through `derivedFrom` (each app passes INTERNAL_TOKEN when it comes from
 * the environment, which such instances must share anyway).
 */
export function loadOrCreateSecret (dataDir: string | undefined, fileName: string, opts: SecretFileOptions = {}): string {
  if (opts.derivedFrom) {
    const seed = Buffer.from(hkdfSync('sha256', opts.derivedFrom, 'switchboard emulator secrets', fileName, Math.max(opts.bytes ?? 24, 32)))
    return (opts.generate ? opts.generate(seed) : seed.subarray(0, opts.bytes ?? 24).toString(opts.encoding ?? 'base64url')).trim()
  }
  const file = dataDir ? join(dataDir, fileName) : undefined
  const usable = (s: string) => {
    if (s === '') return false
    try { return opts.accept?.(s) ?? true } catch { return false }
  }
  let replace = false
  if (file) {
    try {
      const existing = readFileSync(file, 'utf8').trim()
      if (usable(existing)) {
        // A secret file left readable by others (copied in, or from an older version) is made the owner's.
        try { chmodSync(file, 0o600) } catch { /* not ours to change: it still works */ }
        return existing
      }
      // Something that is not a secret of this kind is replaced; an empty file may be another
      // process's still being written, so that one is left to it.
      replace = existing !== ''
    } catch { /* first start: generate below */ }
  }
  const secret = (opts.generate ? opts.generate() : randomBytes(opts.bytes ?? 24).toString(opts.encoding ?? 'base64url')).trim()
  if (file && dataDir) {
    try {
      mkdirSync(dataDir, { recursive: true })
      writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: replace ? 'w' : 'wx' })
    } catch (err) {
      // Another process wrote it first: use theirs. A read-only folder: this run keeps it in memory.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        try {
          const theirs = readFileSync(file, 'utf8').trim()
          if (usable(theirs)) return theirs
        } catch { /* unreadable: keep ours */ }
      }
    }
  }
  return secret
}
