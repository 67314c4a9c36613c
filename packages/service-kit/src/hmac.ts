import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
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

/** HMAC of `data` under `secret` (default SHA-256, hex). */
export function hmac (secret: string | Buffer, data: string | Buffer, opts: HmacOptions = {}): string {
  return createHmac(opts.algorithm ?? 'sha256', secret).update(data).digest(opts.encoding ?? 'hex')
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
export function verifyHmac (secrets: string | ReadonlyArray<string>, data: string | Buffer, signature: string, opts: HmacOptions & { prefix?: string } = {}): boolean {
  let ok = false
  for (const secret of typeof secrets === 'string' ? [secrets] : secrets) {
    if (!secret) continue
    ok = safeEqual(signature, `${opts.prefix ?? ''}${hmac(secret, data, opts)}`) || ok
  }
  return ok
}

/** True when a unix timestamp (seconds, as sent in a header) is within maxAgeSeconds of now, either way. */
export function timestampIsFresh (timestamp: string | number | undefined, maxAgeSeconds: number, nowMs = Date.now()): boolean {
  const s = typeof timestamp === 'number' ? String(timestamp) : timestamp
  if (!s || !/^\d{1,12}$/.test(s)) return false
  return Math.abs(nowMs / 1000 - Number(s)) <= maxAgeSeconds
}

/**
 * A webhook secret generated on first start and kept in the data folder, so a receiver configured
 * with it stays valid across restarts; in memory only when there is no (writable) data folder.
 */
export function loadOrCreateSecret (dataDir: string | undefined, fileName: string, bytes = 24): string {
  const file = dataDir ? join(dataDir, fileName) : undefined
  if (file) {
    try {
      const existing = readFileSync(file, 'utf8').trim()
      if (existing) return existing
    } catch { /* first start: generate below */ }
  }
  const secret = randomBytes(bytes).toString('base64url')
  if (file && dataDir) {
    try {
      mkdirSync(dataDir, { recursive: true })
      writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' })
    } catch (err) {
      // Another process wrote it first: use theirs. A read-only folder: this run keeps it in memory.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        try {
          const theirs = readFileSync(file, 'utf8').trim()
          if (theirs) return theirs
        } catch { /* unreadable: keep ours */ }
      }
    }
  }
  return secret
}
