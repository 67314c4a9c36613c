import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import { BoundedMap } from '@switchboard/service-kit/bounded-map'
import { safeEqual } from '@switchboard/service-kit/hmac'

/** The scopes a Server-to-Server OAuth app with the meeting and recording scopes is granted. */
export const S2S_SCOPES = [
  'meeting:read:meeting:admin', 'meeting:write:meeting:admin', 'meeting:update:meeting:admin', 'meeting:delete:meeting:admin',
  'meeting:read:list_meetings:admin', 'meeting:update:status:admin', 'cloud_recording:read:list_recording_files:admin',
  'cloud_recording:read:recording:admin', 'user:read:user:admin'
].join(' ')

export type TokenCheck = { ok: true, claims: Claims } | { ok: false, reason: 'invalid' | 'expired' }

interface Claims {
  /** 'api' for access tokens, 'download' for recording download tokens. */
  typ: 'api' | 'download'
  aid: string
  cid?: string
  /** The meeting uuid a download token is good for. */
  mid?: string
  iat: number
  exp: number
  jti: string
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const HEADER = b64({ alg: 'HS256', v: '2.0', kid: 'switchboard-emulator' })

/**
 * Issues and checks the emulator's tokens. They are JWT-shaped and signed with a key (derived from
 * the app's Secret Token), so no token is stored (a million of them cost nothing), an expired one
 * is told apart from a forged one, and a token outlives a restart as Zoom's outlive a deploy.
 */
export class TokenIssuer {
  readonly #key: Buffer
  readonly #ttlSeconds: () => number
  readonly #now: () => number
  issued = 0

  /**
   * A fixed key keeps tokens valid across restarts and instances; without one, a key made at start.
   * `now` is the emulators' clock: an advanced test clock expires tokens as the hours passing would.
   */
  constructor (ttlSeconds: () => number, key: Buffer = randomBytes(32), now: () => number = Date.now) {
    this.#ttlSeconds = ttlSeconds
    this.#key = key
    this.#now = now
  }

  #sign (claims: Claims): string {
    const body = `${HEADER}.${b64(claims)}`
    return `${body}.${createHmac('sha256', this.#key).update(body).digest('base64url')}`
  }

  accessToken (accountId: string, clientId: string): { token: string, expiresIn: number } {
    const expiresIn = this.#ttlSeconds()
    const now = Math.floor(this.#now() / 1000)
    this.issued++
    return { token: this.#sign({ typ: 'api', aid: accountId, cid: clientId, iat: now, exp: now + expiresIn, jti: randomUUID() }), expiresIn }
  }

  /** Zoom's recording download token (the webhook's download_token), good for 24 hours. */
  downloadToken (accountId: string, meetingUuid: string, ttlSeconds = 86_400): string {
    const now = Math.floor(this.#now() / 1000)
    return this.#sign({ typ: 'download', aid: accountId, mid: meetingUuid, iat: now, exp: now + ttlSeconds, jti: randomUUID() })
  }

  /** Recently verified tokens (clients reuse one for an hour): an HMAC per request is not free. */
  readonly #verified = new BoundedMap<string, Claims>(256)

  check (token: string): TokenCheck {
    const known = this.#verified.get(token)
    if (known) return known.exp * 1000 <= this.#now() ? { ok: false, reason: 'expired' } : { ok: true, claims: known }
    const result = this.#verify(token)
    if (result.ok) this.#verified.set(token, result.claims)
    return result
  }

  #verify (token: string): TokenCheck {
    const parts = token.split('.')
    if (parts.length !== 3) return { ok: false, reason: 'invalid' }
    const [header, payload, signature] = parts as [string, string, string]
    const expected = createHmac('sha256', this.#key).update(`${header}.${payload}`).digest('base64url')
    if (!safeEqual(signature, expected)) return { ok: false, reason: 'invalid' }
    let claims: Claims
    try { claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Claims } catch { return { ok: false, reason: 'invalid' } }
    if (claims.exp * 1000 <= this.#now()) return { ok: false, reason: 'expired' }
    return { ok: true, claims }
  }
}

/** Reads `Authorization: Basic base64(client_id:client_secret)`. */
export function basicCredentials (header: string | undefined): { clientId: string, clientSecret: string } | undefined {
  if (!header || !/^basic /i.test(header)) return undefined
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon <= 0 || colon === decoded.length - 1) return undefined
  return { clientId: decoded.slice(0, colon), clientSecret: decoded.slice(colon + 1) }
}
