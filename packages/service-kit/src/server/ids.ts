import { randomFillSync } from 'node:crypto'

// Provider ids are random bytes in some encoding. One randomFillSync per id is a measurable cost
// at emulator request rates, so bytes come from a pool refilled 8 KiB at a time.
const pool = Buffer.alloc(8192)
let offset = pool.length

/** n cryptographically random bytes (a copy, safe to keep). */
export function randomBytesPooled (n: number): Buffer {
  if (n > pool.length) return randomFillSync(Buffer.alloc(n))
  if (offset + n > pool.length) {
    randomFillSync(pool)
    offset = 0
  }
  const out = Buffer.from(pool.subarray(offset, offset + n))
  offset += n
  return out
}

/** n random bytes (n ≤ 8 KiB) encoded straight out of the pool: no Buffer per id. */
export function randomEncoded (n: number, encoding: 'hex' | 'base64' | 'base64url'): string {
  if (n > pool.length) return randomFillSync(Buffer.alloc(n)).toString(encoding)
  if (offset + n > pool.length) {
    randomFillSync(pool)
    offset = 0
  }
  offset += n
  return pool.toString(encoding, offset - n, offset)
}

/** 22 URL-safe base64 characters (128 bits): SendGrid's X-Message-Id shape and similar. */
export const randomId22 = () => randomEncoded(16, 'base64url')

/** Lowercase hex of n random bytes (Instamojo's 32-hex request ids are randomHex(16)). */
export const randomHex = (n: number) => randomEncoded(n, 'hex')

/**
 * A uniform integer in [0, max), max ≤ 65,536, from the same pool (ids drawn a digit or a letter
 * at a time would otherwise cost a crypto call per character). Rejection sampling keeps it unbiased.
 */
export function randomBelow (max: number): number {
  if (!Number.isInteger(max) || max < 1 || max > 65_536) throw new RangeError(`randomBelow: max must be an integer in 1..65536, got ${max}`)
  const limit = 65_536 - (65_536 % max)
  for (;;) {
    if (offset + 2 > pool.length) {
      randomFillSync(pool)
      offset = 0
    }
    const value = pool.readUInt16LE(offset)
    offset += 2
    if (value < limit) return value % max
  }
}
