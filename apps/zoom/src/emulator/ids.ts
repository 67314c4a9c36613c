import { hash, randomBytes, randomInt } from 'node:crypto'

/**
 * Zoom's identifiers as the reference records them (providers.md §5): a meeting id is an int64 of
 * 9-11 digits (we use 11, like 85746065432); a meeting uuid is the base64 of 16 bytes (24
 * characters ending "=="), one per meeting instance; user ids are 22 url-safe base64 characters.
 */
export const newMeetingUuid = (): string => randomBytes(16).toString('base64')

export function newMeetingId (taken: (id: number) => boolean): number {
  for (;;) {
    const id = randomInt(81_000_000_000, 99_999_999_999)
    if (!taken(id)) return id
  }
}

export const newUserId = (): string => randomBytes(16).toString('base64url').slice(0, 22)

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

  /** A 6-character passcode, like Zoom's generated ones (mixed case and digits). */
  password (uuid: string): string {
    const b = this.bytes(uuid, 'password')
    let out = ''
    for (let i = 0; i < 6; i++) out += ALNUM[b[i]! % ALNUM.length]
    return out
  }

  /** Zoom's numeric passcode for phone and H.323 participants (same length as the passcode, digits only). */
  numericPassword (uuid: string, password: string): string {
    const b = this.bytes(uuid, `numeric:${password}`)
    let out = ''
    for (let i = 0; i < Math.max(6, Math.min(10, password.length)); i++) out += String(b[i]! % 10)
    return out
  }

  /** The `pwd=` value of join URLs (Zoom's newer ones end in ".1"). */
  encryptedPassword (uuid: string, password: string): string {
    return `${this.bytes(uuid, `encrypted:${password}`).toString('base64url').slice(0, 32)}.1`
  }

  /** The host's ZAK in start URLs: a long opaque token. */
  zak (uuid: string): string {
    return `eyJ0eXAiOiJKV1QiLCJzdiI6IjAwMDAwMSIsInptX3NrbSI6InptX28ybSIsImFsZyI6IkhTMjU2In0.${this.bytes(uuid, 'zak').toString('base64url')}${this.bytes(uuid, 'zak2').toString('base64url')}`
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

/** Zoom writes times as "2023-11-14T22:13:20Z": UTC, whole seconds. */
export const zoomTime = (ms: number): string => new Date(Math.floor(Math.round(ms) / 1000) * 1000).toISOString().replace('.000Z', 'Z')

/** A 32-hex tracking id like the x-zm-trackingid header Zoom puts on every answer. */
export const trackingId = (): string => `v=2.0;clid=us05;rid=WEB_${randomBytes(16).toString('hex')}`
