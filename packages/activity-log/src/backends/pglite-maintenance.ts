/**
 * Vacuuming for the embedded database. PGlite runs PostgreSQL as a single process without its
 * autovacuum workers, so nothing ever vacuumed it: the space of deleted and updated rows was never
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
  table: string
  live: number
  dead: number
  insertedSinceVacuum: number
  /** Transactions since the table's oldest unfrozen row (age of relfrozenxid). */
  xidAge: number
}

export const TABLE_ACTIVITY_SQL = `
  select s.relname as table, s.n_live_tup::float8 as live, s.n_dead_tup::float8 as dead,
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

/** The statement that vacuums one table, its name quoted as an identifier. */
export function vacuumStatement (table: string): string {
  return `VACUUM "${table.replaceAll('"', '""')}"`
}
