import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Tokens {
  apiToken: string
  adminToken: string
  /** Where generated tokens are kept, when any were generated. */
  file?: string
}

/**
 * API_TOKEN and ADMIN_TOKEN from the environment, or tokens generated at first start and kept in
 * the data folder (mode 0600), so a newcomer can call the API at once and keeps the same tokens.
 */
export function resolveTokens (env: { API_TOKEN?: string | undefined, ADMIN_TOKEN?: string | undefined, SWITCHBOARD_DATA_DIR: string }): Tokens {
  if (env.API_TOKEN && env.ADMIN_TOKEN) return { apiToken: env.API_TOKEN, adminToken: env.ADMIN_TOKEN }
  const file = join(env.SWITCHBOARD_DATA_DIR, 'tokens.json')
  let stored: Partial<Tokens> = {}
  try { stored = JSON.parse(readFileSync(file, 'utf8')) } catch { /* first start */ }
  const tokens = {
    apiToken: env.API_TOKEN ?? stored.apiToken ?? `sb_api_${randomBytes(24).toString('base64url')}`,
    adminToken: env.ADMIN_TOKEN ?? stored.adminToken ?? `sb_admin_${randomBytes(24).toString('base64url')}`
  }
  if (tokens.apiToken !== stored.apiToken || tokens.adminToken !== stored.adminToken) {
    mkdirSync(env.SWITCHBOARD_DATA_DIR, { recursive: true })
    writeFileSync(file, JSON.stringify(tokens, null, 2) + '\n', { mode: 0o600 })
  }
  return { ...tokens, file }
}
