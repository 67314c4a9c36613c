/**
 * The activity log's contract. Services talk to an ActivityLog; an ActivityLog talks to one
 * Backend (embedded PGlite, PostgreSQL or Supabase). Every backend behaves the same, proven by
 * one shared suite (test/backend.contract.ts).
 */

import type { EmulatorState, EmulatorStateOptions } from './emulator-state.ts'
import type { NewRow, RowOf, SettingRow, SettingsChangeRow } from './rows.ts'
import type { StatusKeys, StatusTable } from './status-rules.ts'

export type { Mode } from '@switchboard/schemas/common'

export type Table =
  | 'email_logs'
  | 'whatsapp_logs'
  | 'crm_messages'
  | 'payments'
  | 'call_logs'
  | 'whatsapp_campaigns'
  | 'call_campaigns'
  | 'settings'
  | 'settings_changes'
  | 'idempotency_keys'
  | 'webhook_outbox'
  | 'jobs'
  | 'job_items'
  | 'event_endpoints'
  | 'activity_exchanges'
  | EmulatorTable

/** Each provider emulator's own state (packages/activity-log/src/emulator-state.ts). */
export type EmulatorTable = 'zoom_emulator_state' | 'instamojo_emulator_state' | 'bolna_emulator_state' | 'sendgrid_emulator_state' | 'aisensy_emulator_state'

/** A row as plain JSON-able values. Column names are the SQL column names (snake_case). */
export type Row = Record<string, unknown>

/**
 * A filter on columns, ANDed together. A bare value means equality (null means IS NULL);
 * an object picks one operator. Every operator maps onto a PostgREST filter.
 */
export type Condition =
  | string | number | boolean | null
  | { in: ReadonlyArray<string | number> }
  | { gte: string | number }
  | { lte: string | number }
  | { gt: string | number }
  | { lt: string | number }
  | { neq: string | number }

export type Filter = Record<string, Condition>

export interface SelectQuery {
  where?: Filter
  orderBy?: { column: string, ascending?: boolean }
  limit?: number
  offset?: number
}

/** One storage backend. Methods throw on database errors; the ActivityLog retries writes. */
export interface Backend {
  readonly kind: 'pglite' | 'postgres' | 'supabase'
  /** Insert rows into one table in one statement. Idempotent: rows whose primary key exists are skipped. */
  insert (table: Table, rows: Row[]): Promise<void>
  /** Insert or replace rows by the given conflict columns (settings). */
  upsert (table: Table, rows: Row[], onConflict: string[]): Promise<void>
  /** Apply a patch to every row matching the filter; returns how many rows changed. */
  update (table: Table, where: Filter, patch: Row): Promise<number>
  /**
   * Optional: status moves of many rows in one statement, each with its own values. Every move is
   * a row naming its row by `key`, its new `status` and the columns it sets (the same columns in
   * every move); a row moves only if its current status is one of `from[move.status]`. Without
   * `from`, patches of rows by key: every named row takes its values, whatever its status. Returns
   * how many rows changed. A backend without it gets one `update` per distinct patch.
   */
  updateEach? (table: Table, key: string, moves: Row[], from?: Record<string, readonly string[]>): Promise<number>
  select (table: Table, query?: SelectQuery): Promise<Row[]>
  count (table: Table, where?: Filter): Promise<number>
  /** Delete every row matching the filter (an empty filter deletes all rows); returns the count. */
  delete (table: Table, where: Filter): Promise<number>
  /** Call a SQL function defined by the migrations (stats); returns its JSON result. */
  rpc<T = unknown> (fn: string, args?: Record<string, unknown>): Promise<T>
  /** Cheap round trip, for readiness. */
  ping (): Promise<void>
  close (): Promise<void>
}

export interface ActivityLogOptions {
  backend: Backend
  /** Most rows per multi-row insert. Default 500. */
  batchSize?: number
  /** Most rows one status update names (Supabase sends them in its URL). Default 200. */
  groupSize?: number
  /**
   * How long a write may wait for others to join its commit when the pump is idle. Default 0: the
   * next turn of the event loop; while a commit is in flight, everything queued meanwhile goes in
   * the next one anyway.
   */
  flushIntervalMs?: number
  /** Retry backoff bounds while the database is failing. Default 50 ms .. 2 s. */
  retryMinMs?: number
  retryMaxMs?: number
  /** On close, how long to keep trying before journaling what is left. Default 5 s. */
  closeTimeoutMs?: number
  /**
   * Most operations waiting in memory. Past it admit() refuses new work (ActivityLogFullError)
   * before it does anything; a write itself is never refused for it (it records what a request
   * already did), so requests admitted before the queue filled can take it past the bound by
   * their own writes. Default 100,000 (a status post of 500 events is 1,000).
   */
  maxPending?: number
  /**
   * The append-only journal (JSON lines, mode 0600): while the database is away, writes are
   * appended and fsynced here before they are acknowledged, and replayed in order at the next
   * open. Without it, a write is acknowledged only once committed.
   */
  journalFile?: string
  logger?: { warn: (obj: object, msg?: string) => void, error: (obj: object, msg?: string) => void, info: (obj: object, msg?: string) => void }
}

/**
 * The facade services use. Every write returns a promise that resolves once the write is durable:
 * committed to the database (writes arriving together are committed together), or, while the
 * database is away, fsynced to the journal (and written to the database when it is back). Work
 * that will write (a send, a webhook's status moves) asks admit() first, which refuses it with
 * ActivityLogFullError while maxPending operations already wait. Reads flush the queue first, so
 * a caller reads its own writes.
 *
 * The returned promises never cause an unhandled rejection: a caller that does not wait for a
 * write still gets it written, and a refusal is logged.
 */
export interface ActivityLog {
  /**
   * Throws ActivityLogFullError while maxPending writes wait: called before a request does
   * anything (before the provider is called), so a refusal means nothing happened and the caller
   * may retry. The writes that follow an admission are never refused for the bound.
   */
  admit (): void
  /** Inserts a row (idempotent by primary key; an id is added when the row has none). */
  record<T extends Table> (table: T, row: NewRow<T>): Promise<void>
  /** Applies a patch to every row matching the filter. */
  recordUpdate<T extends Table> (table: T, where: Filter, patch: Partial<RowOf<T>>): Promise<void>
  /**
   * Moves the rows whose `key` is one of `values` to `status` (with the rest of `patch`), only from
   * a status the table's rule allows (status-rules.ts): a late or repeated event changes nothing.
   * Several moves of one row waiting together are coalesced into one. Throws for a status the
   * table does not have (check with movesFrom).
   */
  advance<T extends StatusTable> (table: T, key: StatusKeys[T], values: string | readonly string[], status: string, patch?: Partial<RowOf<T>>): Promise<void>
  /** Resolves when everything queued before the call is committed (rejects after timeoutMs, default 10 s). */
  flush (timeoutMs?: number): Promise<void>
  select (table: Table, query?: SelectQuery): Promise<Row[]>
  count (table: Table, where?: Filter): Promise<number>
  /**
   * Calls a SQL function. Queued writes are written first (a caller reads its own writes) unless
   * `flush: false`: for calls that read nothing the caller wrote (a job runner claiming work), which
   * must not wait behind the write queue.
   */
  rpc<T = unknown> (fn: string, args?: Record<string, unknown>, options?: { flush?: boolean }): Promise<T>
  /** The runtime settings, read straight from the database (no wait for queued writes). */
  readSettings (): Promise<SettingRow[]>
  /** Writes settings (upsert by key) and their change records straight to the database: the caller must know they persisted. */
  writeSettings (rows: SettingRow[], changes?: SettingsChangeRow[]): Promise<void>
  /** Deletes every row of the tables, once the queue is written; returns how many per table. */
  clear (tables: readonly Table[]): Promise<Record<string, number>>
  /** A cheap round trip to the database, for readiness. */
  ping (): Promise<void>
  /** A provider emulator's own state, in its table on this log's database (emulator-state.ts). */
  emulatorState (options: Omit<EmulatorStateOptions, 'backend'>): EmulatorState
  /** Operations waiting to be written (for readiness and tests). */
  readonly pending: number
  /** True while the last write attempt failed and writes go to the journal. */
  readonly degraded: boolean
  close (): Promise<void>
}
