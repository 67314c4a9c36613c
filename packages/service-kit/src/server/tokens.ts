import { hash, randomBytes, timingSafeEqual } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The three secrets that guard Switchboard's own surfaces:
 * - apiToken: callers of /api/automation/* and /api/zoom/* at the gateway;
 * - adminToken: /api/admin/* at the gateway, and every emulator control route (reset, webhook
 *   targets, secrets, `_switchboard/*`) at the services;
 * - internalToken: the gateway → service hop. A service refuses its own API without it.
 */
export interface Tokens {
  apiToken: string
  adminToken: string
  internalToken: string
  /** Where generated tokens are kept, when any were generated. */
  file?: string
}

/** The header every gateway → service call carries the internal credential in. */
export const INTERNAL_HEADER = 'x-switchboard-internal'

export interface TokenEnv {
  API_TOKEN?: string | undefined
  ADMIN_TOKEN?: string | undefined
  INTERNAL_TOKEN?: string | undefined
  SWITCHBOARD_DATA_DIR: string
}

/**
 * Tokens from the environment, or generated at first start and kept in the data folder
 * (tokens.json, mode 0600), so a newcomer can call the API at once and keeps the same tokens, and
 * every app of one stack that shares the data folder agrees on them. Apps that run apart (one
 * container each) share them through the environment instead.
 */
export function resolveTokens (env: TokenEnv): Tokens {
  if (env.API_TOKEN && env.ADMIN_TOKEN && env.INTERNAL_TOKEN) return { apiToken: env.API_TOKEN, adminToken: env.ADMIN_TOKEN, internalToken: env.INTERNAL_TOKEN }
  const file = join(env.SWITCHBOARD_DATA_DIR, 'tokens.json')
  let stored: Partial<Tokens> = {}
  try { stored = JSON.parse(readFileSync(file, 'utf8')) } catch { /* first start */ }
  const tokens = {
    apiToken: env.API_TOKEN || stored.apiToken || `sb_api_${randomBytes(24).toString('base64url')}`,
    adminToken: env.ADMIN_TOKEN || stored.adminToken || `sb_admin_${randomBytes(24).toString('base64url')}`,
    internalToken: env.INTERNAL_TOKEN || stored.internalToken || `sb_internal_${randomBytes(24).toString('base64url')}`
  }
  if (tokens.apiToken !== stored.apiToken || tokens.adminToken !== stored.adminToken || tokens.internalToken !== stored.internalToken) {
    mkdirSync(env.SWITCHBOARD_DATA_DIR, { recursive: true })
    writeFileSync(file, JSON.stringify(tokens, null, 2) + '\n', { mode: 0o600 })
  }
  // Owner only, whoever made the file (a mode is given only to a file being created): one copied
  // in, or written before the data folder was tightened, was left readable by everyone.
  if (existsSync(file)) chmodSync(file, 0o600)
  return { ...tokens, file }
}

// Comparing digests gives equal-length buffers, so the comparison time says nothing about the
// token. crypto.hash is the one-shot form: no Hash object per request.
export const tokenDigest = (token: string): Buffer => hash('sha256', token, 'buffer')

// The configured tokens' digests, computed once rather than on every request (a handful of tokens).
const expectedDigests = new Map<string, Buffer>()
function expectedDigest (token: string): Buffer {
  let d = expectedDigests.get(token)
  if (d === undefined) {
    if (expectedDigests.size >= 16) expectedDigests.clear()
    expectedDigests.set(token, d = tokenDigest(token))
  }
  return d
}

/** Whether a presented token's digest is one of `accepted`, compared with every one (no early exit). */
export function digestMatchesAny (presented: Buffer, accepted: string[]): boolean {
  let ok = false
  for (const token of accepted) ok = timingSafeEqual(presented, expectedDigest(token)) || ok
  return ok
}

/** Whether `presented` (a header value) is one of `accepted`; an empty or missing value never is. */
export function tokenMatches (presented: string | string[] | undefined, accepted: string[]): boolean {
  if (typeof presented !== 'string' || presented === '') return false
  return digestMatchesAny(tokenDigest(presented), accepted)
}

/** The token of an `Authorization: Bearer …` header (the scheme in any case, RFC 7235), or '' without one. */
export function bearerToken (header: string | string[] | undefined): string {
  return typeof header === 'string' && /^bearer /i.test(header) ? header.slice(7).trim() : ''
}
