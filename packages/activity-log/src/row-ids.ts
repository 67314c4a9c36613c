import { v7 } from 'uuid'

/**
 * A new row's id: a UUIDv7 (RFC 9562), whose leading bits are the real time in milliseconds and
 * which uuid keeps increasing within a millisecond. Lists order by (created_at, id); on a frozen or
 * moved test clock many rows share one created_at, and their ids then keep the order they were
 * made in, where random (v4) ids shuffled them. Time-ordered ids also land at the end of the
 * primary key's index instead of all over it.
 */
export const newRowId = (): string => v7()
