/**
 * "A status only moves forward", for every table that has one, in one place. Webhooks arrive late,
 * twice and out of order; a status write names the status it moves a row to, and the activity log
 * turns it into `UPDATE … WHERE status IN (the statuses it may move from)`, so a late or repeated
 * event changes nothing. The same rules decide when two writes to one row can be coalesced.
 */
import { CALL_STATUSES, FINAL_CALL_STATUSES } from '@switchboard/schemas/voice'
import type { Table } from './types.ts'

export type StatusTable = 'email_logs' | 'whatsapp_logs' | 'crm_messages' | 'call_logs' | 'payments'

/** The columns a status write may name its rows by. */
export interface StatusKeys {
  email_logs: 'id'
  whatsapp_logs: 'id' | 'provider_message_id'
  crm_messages: 'id' | 'provider_message_id'
  call_logs: 'id' | 'execution_id'
  payments: 'id'
}

type Rules = Readonly<Record<string, readonly string[]>>

// SendGrid's events: delivery, then engagement; a failure only before delivery.
const EMAIL_PRE_DELIVERY = ['queued', 'sent', 'processed', 'deferred']
const EMAIL: Rules = {
  processed: ['queued', 'sent'],
  deferred: ['queued', 'sent', 'processed'],
  delivered: EMAIL_PRE_DELIVERY,
  bounced: EMAIL_PRE_DELIVERY,
  dropped: EMAIL_PRE_DELIVERY,
  opened: [...EMAIL_PRE_DELIVERY, 'delivered'],
  clicked: [...EMAIL_PRE_DELIVERY, 'delivered', 'opened'],
  spam_report: [...EMAIL_PRE_DELIVERY, 'delivered', 'opened', 'clicked'],
  unsubscribed: [...EMAIL_PRE_DELIVERY, 'delivered', 'opened', 'clicked']
}

/** Every status an email row can have: the service's own (queued, sent, failed) and SendGrid's events'. */
export const EMAIL_STATUSES: readonly string[] = [...new Set(['queued', 'sent', 'failed', ...Object.keys(EMAIL), ...Object.values(EMAIL).flat()])]

// AiSensy's message statuses: failed only before delivery; read after failed leaves it failed.
const WHATSAPP: Rules = {
  sent: ['submitted'],
  delivered: ['submitted', 'sent'],
  read: ['submitted', 'sent', 'delivered'],
  failed: ['submitted', 'sent']
}

// Bolna's execution lifecycle; the final statuses share the last place, so none replaces another.
const FINAL: ReadonlySet<string> = new Set(FINAL_CALL_STATUSES)
const CALL_RANK: Readonly<Record<string, number>> = {
  scheduled: 0, rescheduled: 1, queued: 1, initiated: 2, ringing: 3, 'in-progress': 4, 'call-disconnected': 5
}
/** Where a call status sits in Bolna's lifecycle; undefined for a status Bolna does not have. */
export function callStatusRank (status: string): number | undefined {
  return FINAL.has(status) ? 6 : CALL_RANK[status]
}
const CALL: Rules = Object.fromEntries(CALL_STATUSES.map(status => {
  const rank = callStatusRank(status)!
  return [status, CALL_STATUSES.filter(s => (callStatusRank(s) ?? 99) < rank)]
}))

// Instamojo: a failed payment may be retried and paid; paid is final.
const PAYMENTS: Rules = {
  paid: ['pending', 'failed'],
  failed: ['pending']
}

const RULES: Readonly<Record<StatusTable, Rules>> = {
  email_logs: EMAIL,
  whatsapp_logs: WHATSAPP,
  crm_messages: WHATSAPP,
  call_logs: CALL,
  payments: PAYMENTS
}

export function isStatusTable (table: Table): table is StatusTable {
  return Object.hasOwn(RULES, table)
}

/** The statuses a row of `table` may move from to reach `status`; undefined when it is not a status of the table. */
export function movesFrom (table: StatusTable, status: string): readonly string[] | undefined {
  return Object.hasOwn(RULES[table], status) ? RULES[table][status] : undefined
}

const universe = new Map<StatusTable, string[]>()
function statusesOf (table: StatusTable): string[] {
  let all = universe.get(table)
  if (!all) universe.set(table, all = [...new Set(Object.entries(RULES[table]).flatMap(([to, from]) => [to, ...from]))])
  return all
}

const composed = new Map<string, string | null>()

/**
 * The one status that takes every row where `earlier` and then `later` would, or undefined when
 * there is none (whatsapp: read after failed leaves a failed row failed but moves a delivered
 * one). Worked out from the rules themselves, so a new status needs no new coalescing code.
 */
export function composeStatus (table: StatusTable, earlier: string, later: string): string | undefined {
  const key = `${table}\u0000${earlier}\u0000${later}`
  let result = composed.get(key)
  if (result === undefined) {
    const step = (to: string, s: string) => movesFrom(table, to)?.includes(s) ? to : s
    const both = (s: string) => step(later, step(earlier, s))
    result = [later, earlier].find(c => statusesOf(table).every(s => both(s) === step(c, s))) ?? null
    composed.set(key, result)
  }
  return result ?? undefined
}
