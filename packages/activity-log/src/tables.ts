import type { Table } from './types.ts'

export const TABLES: ReadonlySet<string> = new Set<Table>([
  'email_logs',
  'whatsapp_logs',
  'crm_messages',
  'payments',
  'call_logs',
  'whatsapp_campaigns',
  'call_campaigns',
  'settings',
  'settings_changes',
  'idempotency_keys',
  'webhook_outbox',
  'jobs',
  'job_items',
  'event_endpoints',
  'activity_exchanges',
  'zoom_emulator_state',
  'instamojo_emulator_state',
  'bolna_emulator_state',
  'sendgrid_emulator_state',
  'aisensy_emulator_state'
])

/**
 * The tables whose rows carry changed_at, the live stream's cursor in real time
 * (supabase/migrations/20261209120000_activity_stream_change_cursor.sql): the SQL backends set it
 * in every update of them, so the migration's trigger (for other writers) is not called per row.
 */
export const CHANGE_TRACKED: ReadonlySet<string> = new Set<Table>(['email_logs', 'whatsapp_logs', 'payments', 'call_logs', 'activity_exchanges'])

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/

/** An error carrying a SQLSTATE code, so callers (the writer's retry logic) treat it like the database's own. */
export function sqlError (message: string, code: string): Error {
  return Object.assign(new Error(message), { code })
}

/** Tables and columns end up inside SQL text and URLs: only plain lower-case names get there. */
export function checkTable (table: string): Table {
  if (!TABLES.has(table)) throw sqlError(`unknown table ${JSON.stringify(table)}`, '42P01')
  return table as Table
}

export function checkIdentifier (name: string): string {
  if (!IDENTIFIER.test(name)) throw sqlError(`invalid identifier ${JSON.stringify(name)}`, '42602')
  return name
}

/**
 * PostgreSQL text and jsonb cannot hold U+0000: one NUL in a value fails the whole statement
 * (22021, 22P05), which loses a buffered write and fails a read. Values bound for the database
 * have it replaced by U+FFFD (the replacement character), in nested JSON too, so such a row is
 * stored and such a filter simply matches nothing. A lone UTF-16 surrogate ("\ud800", valid in a
 * JS string and in JSON.stringify's output) becomes U+FFFD too: PostgreSQL's JSON parser refuses
 * it (22P05), and in a text parameter the UTF-8 encoder replaced it anyway.
 */
export function storable<T> (value: T): T {
  if (typeof value === 'string') {
    const text = value.isWellFormed() ? value : value.toWellFormed()
    return (text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text) as T
  }
  if (Array.isArray(value)) return value.map(storable) as T
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[storable(k)] = storable(v)
    return out as T
  }
  return value
}

/**
 * JSON.stringify(storable(value)) in one pass over the value instead of two: JSON.stringify writes
 * U+0000 as the escape `\u0000` and a lone surrogate as `\udXXX` (a whole pair it writes as it is),
 * so those escapes are replaced in the text by `\ufffd`. An escape preceded by an escaped backslash
 * (the six characters `\u0000` typed in a value, written `\\u0000`) is text, and stays. The
 * activity log's batches (a voice call's documents are 11 KB) went through storable's copy first.
 */
export function storableJson (value: unknown): string {
  const json = JSON.stringify(value)
  if (!json.includes('\\u0000') && !json.includes('\\ud')) return json
  return json.replace(/(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/gi, '$1\\ufffd')
}

/** Every table is keyed by a client-generated uuid `id`, except settings (keyed by name). */
export function primaryKey (table: Table): string {
  return table === 'settings' ? 'key' : 'id'
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?$/

/**
 * One text form for timestamptz from every backend: ISO-8601 in UTC with the database's own
 * (microsecond) fraction, i.e. what PostgREST returns from a database running in UTC
 * (`2026-11-23T22:22:00.123456+00:00`). Keeping the fraction matters: a value read back and used
 * as a `lt`/`gte` bound must compare exactly as the stored one does.
 */
export function toIsoTimestamp (text: string): string {
  const m = TIMESTAMP.exec(text)
  if (m === null) return text // infinity, BC dates: rare, passed through unchanged
  const [, y, mo, d, h, mi, s, fraction = '', offset = 'Z'] = m
  const [sign, oh = '0', om = '0', os = '0'] = offset === 'Z' ? ['+'] : [offset[0], ...offset.slice(1).match(/\d{2}/g)!]
  const offsetSeconds = (sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om) * 60 + Number(os))
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offsetSeconds * 1000
  return `${new Date(utc).toISOString().slice(0, 19)}${fraction}+00:00`
}
