import { hash, randomBytes, randomInt } from 'node:crypto'
import { randomEncoded } from '@switchboard/service-kit/ids'

// Every meeting uuid and every answer's tracking id is 16 random bytes, from service-kit's pool.
const random16 = (encoding: 'base64' | 'base64url' | 'hex'): string => randomEncoded(16, encoding)

/**
 * Zoom's identifiers as the reference records them (providers.md §5): a meeting id is an int64 of
 * 9-11 digits (we use 11, like 85746065432); a meeting uuid is the base64 of 16 bytes (24
 * characters ending "=="), one per meeting instance; user ids are 22 url-safe base64 characters.
 */
export const newMeetingUuid = (): string => random16('base64')

export function newMeetingId (taken: (id: number) => boolean): number {
  for (;;) {
    const id = randomInt(81_000_000_000, 99_999_999_999)
    if (!taken(id)) return id
  }
}

export const newUserId = (): string => random16('base64url')

export interface Passcodes { password: string, numeric: string, encrypted: string }

const ZAK_HEAD = 'eyJ0eXAiOiJKV1QiLCJzdiI6IjAwMDAwMSIsInptX3NrbSI6InptX28ybSIsImFsZyI6IkhTMjU2In0.'
const ALNUM = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789'

/**
 * Values Zoom generates per meeting (passcode, its numeric and encrypted forms, the host key in the
 * start URL, recording file ids) derived from the meeting's uuid with the emulator's key, so a
 * record stores none of them and they stay the same on every read.
 */
export class Derivations {
  readonly #key: string
  constructor (key: Buffer = randomBytes(32)) { this.#key = key.toString('hex') }

  /**
   * A keyed SHA-256 (key, purpose and uuid in one string). These are display values, not
   * credentials, and crypto.hash is many times cheaper than an HMAC object per value, which
   * matters when a list page renders hundreds of meetings.
   */
  bytes (uuid: string, purpose: string): Buffer {
    return hash('sha256', `${this.#key}:${purpose}:${uuid}`, 'buffer')
  }

  /**
   * The meeting's passcode (the caller's, or a generated one like Zoom's: 6 characters, mixed case
   * and digits), its numeric form for phone and H.323 participants (digits, as long as the
   * passcode, 6 to 10) and the `pwd=` value of join URLs (32 url-safe characters and ".1", like
   * Zoom's newer ones): all from one SHA-512 of the key, the uuid and the caller's passcode if any.
   */
  passcodes (uuid: string, own: string | undefined): Passcodes {
    const b = hash('sha512', own === undefined ? `${this.#key}:passcodes:${uuid}` : `${this.#key}:passcodes:${uuid}:${own}`, 'buffer')
    let password = own
    if (password === undefined) {
      password = ''
      for (let i = 0; i < 6; i++) password += ALNUM[b[i]! % ALNUM.length]
    }
    let numeric = ''
    const digits = Math.max(6, Math.min(10, password.length))
    for (let i = 0; i < digits; i++) numeric += String(b[6 + i]! % 10)
    return { password, numeric, encrypted: `${b.toString('base64url', 16, 40)}.1` }
  }

  /** The host's ZAK in start URLs: a long opaque token (a JWT header, then 86 url-safe characters). */
  zak (uuid: string): string {
    return `${ZAK_HEAD}${hash('sha512', `${this.#key}:zak:${uuid}`, 'base64url')}`
  }

  /** Recording file ids look like uuids in Zoom's answers. */
  fileId (uuid: string, fileType: string): string {
    const h = this.bytes(uuid, `file:${fileType}`).toString('hex')
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`
  }

  recordingPasscode (uuid: string): string {
    return this.bytes(uuid, 'recording-passcode').toString('base64url').replace(/[-_]/g, 'x').slice(0, 10)
  }
}

// Most times rendered under load fall in the current second (created_at, start_time of a meeting
// starting now, event times): the last one formatted is kept.
let lastSecond = Number.NaN
let lastTime = ''

/** Zoom writes times as "2023-11-14T22:13:20Z": UTC, whole seconds. */
export function zoomTime (ms: number): string {
  const second = Math.floor(Math.round(ms) / 1000)
  if (second !== lastSecond) {
    lastTime = new Date(second * 1000).toISOString().replace('.000Z', 'Z')
    lastSecond = second
  }
  return lastTime
}

/** A 32-hex tracking id like the x-zm-trackingid header Zoom puts on every answer. */
export const trackingId = (): string => `v=2.0;clid=us05;rid=WEB_${random16('hex')}`
