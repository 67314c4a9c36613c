import { CALL_STATUSES, FINAL_CALL_STATUSES, type CallStatus } from '@switchboard/schemas/voice'

const FINAL: ReadonlySet<string> = new Set(FINAL_CALL_STATUSES)
const BEFORE_FINAL: Record<string, number> = {
  scheduled: 0,
  rescheduled: 1,
  queued: 1,
  initiated: 2,
  ringing: 3,
  'in-progress': 4,
  'call-disconnected': 5
}

export const isFinal = (status: string) => FINAL.has(status)

/** Where a status sits in Bolna's lifecycle; final statuses share the last place. */
export function rankOf (status: string): number | undefined {
  return FINAL.has(status) ? 6 : BEFORE_FINAL[status]
}

export const NON_FINAL_STATUSES: CallStatus[] = CALL_STATUSES.filter(s => !FINAL.has(s))

/**
 * The statuses a row may move from to reach `status`: only earlier ones, so a late or repeated
 * webhook never moves a call backwards and a final status never changes. Undefined for a status
 * Bolna does not have.
 */
export function earlierStatuses (status: string): readonly CallStatus[] | undefined {
  return EARLIER.get(status)
}

// Worked out once per status: every webhook asks.
const EARLIER: ReadonlyMap<string, readonly CallStatus[]> = new Map(CALL_STATUSES.map(status => {
  const rank = rankOf(status)!
  return [status, CALL_STATUSES.filter(s => (rankOf(s) ?? 99) < rank)]
}))
