/**
 * The activity log's contract. Services talk to an ActivityLog; an ActivityLog talks to one
 * Backend (embedded PGlite, PostgreSQL or Supabase). Every backend behaves the same, proven by
 * one shared suite (test/backend.contract.ts).
 */

export type Mode = 'mock' | 'live'

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
  | EmulatorTable

/** Each provider emulator's own state (packages/activity-log/src/emulator-state.ts). */
export type EmulatorTable = 'zoom_emulator_state' | 'instamojo_emulator_state' | 'bolna_emulator_state'

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
  /** How long a write may wait in the buffer before a flush starts. Default 20 ms. */
  flushIntervalMs?: number
  /** Retry backoff bounds while the database is failing. Default 50 ms .. 2 s. */
  retryMinMs?: number
  retryMaxMs?: number
  /** On close, how long to keep trying before spilling what is left to spillFile. Default 5 s. */
  closeTimeoutMs?: number
  /** JSON-lines file that keeps unwritten operations across a shutdown; replayed at start. */
  spillFile?: string
  logger?: { warn: (obj: object, msg?: string) => void, error: (obj: object, msg?: string) => void, info: (obj: object, msg?: string) => void }
}

/**
 * The facade services use. Writes (record, recordUpdate) return at once and never throw: they are
 * queued in order and written in batches off the request path, retried while the database is
 * away, flushed on close, and spilled to a file if the database is still away at shutdown.
 * Reads flush the queue first, so a caller reads its own writes.
 */
export interface ActivityLog {
  readonly backend: Backend
  record (table: Table, row: Row): void
  recordUpdate (table: Table, where: Filter, patch: Row): void
  /** Resolves when everything queued before the call is written (rejects after timeoutMs, default 10 s). */
  flush (timeoutMs?: number): Promise<void>
  select (table: Table, query?: SelectQuery): Promise<Row[]>
  count (table: Table, where?: Filter): Promise<number>
  rpc<T = unknown> (fn: string, args?: Record<string, unknown>): Promise<T>
  /** Operations waiting to be written (for readiness and tests). */
  readonly pending: number
  /** True while the last write attempt failed and the queue is retrying. */
  readonly degraded: boolean
  close (): Promise<void>
}
