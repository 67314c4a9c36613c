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

/** 22 URL-safe base64 characters (128 bits): SendGrid's X-Message-Id shape and similar. */
export const randomId22 = () => randomBytesPooled(16).toString('base64url')

/** Lowercase hex of n random bytes (Instamojo's 32-hex request ids are randomHex(16)). */
export const randomHex = (n: number) => randomBytesPooled(n).toString('hex')
