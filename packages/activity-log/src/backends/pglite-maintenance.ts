/**
 * Upkeep for the embedded database: what PostgreSQL's background processes would do. PGlite runs
 * PostgreSQL as a single process, without autovacuum workers or a checkpointer.
 *
 * Checkpoints. Nothing ever checkpointed: the write-ahead log kept every byte written since the
 * database was opened (881 MB after a minute of WhatsApp sends at full speed), and a start after a
 * crash replayed all of it (288 MB of log: 1.7 s to open after SIGKILL, 0.5 s with a checkpoint
 * just before). The thread checkpoints as PostgreSQL's checkpointer would: after 64 MB of log, or
 * after checkpoint_timeout's five minutes when anything was written. A checkpoint flushes at most
 * the 32 MB of shared buffers: tens of milliseconds. The log then levels off (305 MB under a
 * minute of WhatsApp sends at full speed, PostgreSQL keeping recycled segments for the next ones).
 *
 * Vacuuming. Nothing ever vacuumed it either: the space of deleted and updated rows was never
 * reused, and a table that keeps a bounded number of live rows grew with every row it ever held.
 * Measured: 120,000 rows of 1 KB inserted and deleted in rounds left a table of 139 MB holding none;
 * vacuumed every 20,000 rows it stayed at 2 MB. The webhook outbox (every webhook is stored, marked
 * delivered and later deleted), the replay receipts, the idempotency keys and the emulators' state
 * all work that way; without vacuuming, a transaction counter that never freezes would also reach
 * PostgreSQL's wraparound stop after two billion transactions.
 *
 * So the database thread does what autovacuum would, with autovacuum's own default thresholds,
 * between queries (PGlite runs one statement at a time, so a vacuum holds the queries behind it for
 * as long as it takes; it only scans the pages changed since the last one). No ANALYZE: the planner
 * has never had statistics here, and sampling a large jsonb table costs more than the queries gain.
 */

/** What `pg_stat_user_tables` and `pg_class` say about one table. */
export interface TableActivity {
  schema: string
  table: string
  live: number
  dead: number
  insertedSinceVacuum: number
  /** Transactions since the table's oldest unfrozen row (age of relfrozenxid). */
  xidAge: number
}

export const TABLE_ACTIVITY_SQL = `
  select s.schemaname as schema, s.relname as table, s.n_live_tup::float8 as live, s.n_dead_tup::float8 as dead,
         s.n_ins_since_vacuum::float8 as "insertedSinceVacuum", age(c.relfrozenxid)::float8 as "xidAge"
    from pg_stat_user_tables s join pg_class c on c.oid = s.relid`

/**
 * PostgreSQL's autovacuum defaults: autovacuum_vacuum_threshold 50 and scale factor 0.2 for dead
 * rows, the insert threshold 1,000 and scale factor 0.2 (so append-only tables are frozen as they
 * grow), and vacuum_freeze_table_age 150 million for a table that must be frozen whatever it did.
 */
export function needsVacuum (t: TableActivity): boolean {
  return t.dead > 50 + 0.2 * t.live ||
    t.insertedSinceVacuum > 1000 + 0.2 * t.live ||
    t.xidAge > 150_000_000
}

const identifier = (name: string) => `"${name.replaceAll('"', '""')}"`

/** The statement that vacuums one table, its schema and name quoted as identifiers. */
export function vacuumStatement (t: Pick<TableActivity, 'schema' | 'table'>): string {
  return `VACUUM ${identifier(t.schema)}.${identifier(t.table)}`
}

/** How much log was written since the last checkpoint, and how long ago that was. */
export interface WalActivity {
  bytesSinceCheckpoint: number
  secondsSinceCheckpoint: number
}

export const WAL_ACTIVITY_SQL = `
  select (pg_current_wal_insert_lsn() - redo_lsn)::float8 as "bytesSinceCheckpoint",
         extract(epoch from now() - checkpoint_time)::float8 as "secondsSinceCheckpoint"
    from pg_control_checkpoint()`

/** 64 MB of log, or five minutes with more than the checkpoint record's own few bytes written. */
export function needsCheckpoint (w: WalActivity): boolean {
  return w.bytesSinceCheckpoint > 64 * 2 ** 20 ||
    (w.secondsSinceCheckpoint > 300 && w.bytesSinceCheckpoint > 64 * 2 ** 10)
}
