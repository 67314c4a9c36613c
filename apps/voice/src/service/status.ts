import { callStatusRank } from '@switchboard/activity-log'
import { CALL_STATUSES, FINAL_CALL_STATUSES, type CallStatus } from '@switchboard/schemas/voice'

const FINAL: ReadonlySet<string> = new Set(FINAL_CALL_STATUSES)

export const isFinal = (status: string) => FINAL.has(status)

/** Where a status sits in Bolna's lifecycle (the activity log's rule); final statuses share the last place. */
export const rankOf = callStatusRank

export const NON_FINAL_STATUSES: CallStatus[] = CALL_STATUSES.filter(s => !FINAL.has(s))
