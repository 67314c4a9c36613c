import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Row } from './types.ts'

export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../../supabase/migrations/', import.meta.url))

/** One database session: the advisory lock and each migration's transaction must stay on it. */
export interface MigrationSession {
  query (text: string, values?: unknown[]): Promise<{ rows: Row[] }>
  /** Several statements, no parameters. */
  exec (sql: string): Promise<void>
}

// Any fixed number: all Switchboard processes agree on it.
const LOCK_KEY = 7_245_093_001

/**
 * Applies every supabase/migrations/*.sql file not yet recorded in schema_migrations, in filename
 * order, each in its own transaction. Under a session advisory lock, so processes starting at the
 * same time against one database take turns instead of racing. Returns the files applied.
 */
export async function applyMigrations (session: MigrationSession, dir: string = DEFAULT_MIGRATIONS_DIR): Promise<string[]> {
  const files = (await readdir(dir)).filter(f => f.endsWith('.sql')).sort()
  await session.query('SELECT pg_advisory_lock($1)', [LOCK_KEY])
  try {
    await session.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`)
    const done = new Set((await session.query('SELECT version FROM schema_migrations')).rows.map(r => r.version))
    const applied: string[] = []
    for (const file of files) {
      if (done.has(file)) continue
      const sql = await readFile(join(dir, file), 'utf8')
      try {
        await session.exec('BEGIN')
        await session.exec(sql)
        await session.query('INSERT INTO schema_migrations (version) VALUES ($1)', [file])
        await session.exec('COMMIT')
      } catch (err) {
        await session.exec('ROLLBACK').catch(() => {})
        throw new Error(`migration ${file} failed: ${(err as Error).message}`, { cause: err })
      }
      applied.push(file)
    }
    return applied
  } finally {
    await session.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => {})
  }
}
