import { randomFillSync } from 'node:crypto'
import { v7 } from 'uuid'
import { UUID } from '@switchboard/schemas/common'

/**
 * Random bytes for ids, drawn from a pool refilled 256 ids at a time. uuid's own source asks Web
 * Crypto for 16 bytes per id, and each of those calls crosses into OpenSSL: 4–5 % of an emulator
 * route's CPU in a profile (every captured exchange and every log row takes an id).
 */
const pool = new Uint8Array(16 * 256)
let used = pool.length
function random16 (): Uint8Array {
  if (used === pool.length) {
    randomFillSync(pool)
    used = 0
  }
  used += 16
  return pool.subarray(used - 16, used)
}

/** The last id's time and counter: ids made within one millisecond keep the order they were made in. */
const last = { msecs: -Infinity, seq: 0 }

/**
 * A new row's id: a UUIDv7 (RFC 9562), whose leading bits are the real time in milliseconds and
 * which keeps increasing within a millisecond (a counter seeded from the random bits, as uuid's own
 * v7 does, RFC 9562 §6.2 method 1). Lists order by (created_at, id); on a frozen or moved test clock
 * many rows share one created_at, and their ids then keep the order they were made in, where random
 * (v4) ids shuffled them. Time-ordered ids also land at the end of the primary key's index instead
 * of all over it.
 */
export function newRowId (): string {
  const random = random16()
  const now = Date.now()
  if (now > last.msecs) {
    last.msecs = now
    last.seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!
  } else {
    // A counter that wraps moves the time on by a millisecond instead (the clock never goes back).
    last.seq = (last.seq + 1) | 0
    if (last.seq === 0) last.msecs++
  }
  return v7({ random, msecs: last.msecs, seq: last.seq })
}

/**
 * Whether `value` can be a row's id (a UUID, as PostgreSQL's uuid type reads one). Ids that come
 * back from outside (a provider's webhook carrying our row id) are checked with it: anything else
 * matches no row, and sent to the database it would fail the whole batch it was written in.
 */
export function isRowId (value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value)
}
