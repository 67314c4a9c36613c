import { mkdir } from 'node:fs/promises'
import { PGlite } from '@electric-sql/pglite'
import { applyMigrations } from '../migrations.ts'
import { createSqlBackend, TYPE_PARSERS, type SqlBackend } from './sql.ts'

export interface PgliteConfig {
  /** A folder, or 'memory://' for a throwaway in-memory database. */
  dataDir: string
  migrationsDir?: string
}

/** Embedded PostgreSQL (WASM) in this process. One process per data folder. */
export async function createPgliteBackend ({ dataDir, migrationsDir }: PgliteConfig): Promise<SqlBackend> {
  if (!dataDir.startsWith('memory://')) await mkdir(dataDir, { recursive: true })
  // Relaxed durability: queries do not wait for the filesystem sync. This is a local sandbox's log
  // in the same process as the servers; close() (every graceful shutdown) syncs, and the writer's
  // spill file covers a database that is away at shutdown. Profiling the full send path showed
  // PGlite's per-query filesystem work as its largest cost.
  const db = await PGlite.create(dataDir, { parsers: TYPE_PARSERS, relaxedDurability: true })
  const exec = async (sql: string) => { await db.exec(sql) }
  try {
    await applyMigrations({ query: (text, values) => db.query(text, values), exec }, migrationsDir)
  } catch (err) {
    await db.close()
    throw err
  }
  return createSqlBackend('pglite', {
    async query (text, values) {
      const result = await db.query<Record<string, unknown>>(text, values)
      return { rows: result.rows, rowCount: result.affectedRows ?? 0 }
    },
    exec,
    close: () => db.close()
  })
}
