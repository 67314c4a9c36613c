import { fileURLToPath } from 'node:url'
import type { Backend } from './types.ts'
import { createPgliteBackend } from './backends/pglite.ts'
import { createPostgresBackend } from './backends/postgres.ts'

export type * from './types.ts'
export { ActivityLogFullError, ActivityLogUnavailableError, createActivityLog, isPermanentError, type Operation } from './activity-log.ts'
export { batcher, type BatcherOptions } from './batch.ts'
export { EmulatorState, nextSeq, type EmulatorStateOptions, type PutOptions, type StoredRecord, type SyncChange } from './emulator-state.ts'
export type * from './rows.ts'
export { callStatusRank, composeStatus, EMAIL_STATUSES, isStatusTable, movesFrom, type StatusKeys, type StatusTable } from './status-rules.ts'
export { applyMigrations, DEFAULT_MIGRATIONS_DIR, type MigrationSession } from './migrations.ts'
export { isRowId, newRowId } from './row-ids.ts'
export { TABLES } from './tables.ts'
export { createPgliteBackend, type PgliteConfig } from './backends/pglite.ts'
export { createPostgresBackend, type PostgresConfig } from './backends/postgres.ts'
export type { SupabaseConfig } from './backends/supabase.ts'
export type { SqlBackend } from './backends/sql.ts'

export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../../.data/pglite', import.meta.url))

export interface BackendConfig {
  /** A PostgreSQL URL (a local server, or a Supabase project's direct connection). */
  databaseUrl?: string
  supabaseUrl?: string
  supabaseServiceKey?: string
  /** Where the embedded database keeps its files; 'memory://' for none. Default .data/pglite. */
  dataDir?: string
  /** Default: the repository's supabase/migrations. */
  migrationsDir?: string
}

/**
 * The backend the configuration names: Supabase (URL and service key), else PostgreSQL
 * (databaseUrl), else the embedded database. PostgreSQL and the embedded database are migrated
 * before this resolves.
 */
export async function createBackend (config: BackendConfig = {}): Promise<Backend> {
  const { databaseUrl, supabaseUrl, supabaseServiceKey, dataDir = DEFAULT_DATA_DIR, migrationsDir } = config
  // Half a Supabase configuration is a mistake to report, not a reason to quietly use another database.
  if ((supabaseUrl === undefined || supabaseUrl === '') !== (supabaseServiceKey === undefined || supabaseServiceKey === '')) {
    throw new Error('set both SUPABASE_URL and SUPABASE_SERVICE_KEY to use Supabase, or neither')
  }
  if (supabaseUrl && supabaseServiceKey) {
    // Loaded only when used: supabase-js is large and warns at import time on Node 20, which the
    // published package supports with the embedded database.
    const { createSupabaseBackend } = await import('./backends/supabase.ts')
    return createSupabaseBackend({ url: supabaseUrl, serviceKey: supabaseServiceKey })
  }
  if (databaseUrl) return createPostgresBackend({ databaseUrl, migrationsDir })
  return createPgliteBackend({ dataDir, migrationsDir })
}
