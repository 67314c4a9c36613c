import pg from 'pg'
import { applyMigrations } from '../migrations.ts'
import { createSqlBackend, TYPE_PARSERS, type SqlBackend } from './sql.ts'

export interface PostgresConfig {
  databaseUrl: string
  migrationsDir?: string
  /** Most connections this process opens. Default 10. */
  poolSize?: number
}

// Per pool, not pg.types.setTypeParser: that would change every other pg user in the process.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    (format !== 'binary' && TYPE_PARSERS[oid]) || pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser
}

export async function createPostgresBackend ({ databaseUrl, migrationsDir, poolSize = 10 }: PostgresConfig): Promise<SqlBackend> {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    types,
    application_name: 'switchboard',
    keepAlive: true,
    // Bounded waits: a connection black-holed by the network must fail (and be retried by the
    // writer) rather than hold a write, a read or shutdown forever.
    connectionTimeoutMillis: 5_000,
    query_timeout: 30_000
  })
  // An idle client whose connection died (server restart, network cut) is dropped by the pool and
  // the next query reconnects; without a listener that 'error' event would crash the process.
  pool.on('error', () => {})

  try {
    const client = await pool.connect()
    try {
      await applyMigrations({
        query: (text, values) => client.query(text, values),
        exec: async sql => { await client.query(sql) }
      }, migrationsDir)
    } finally {
      client.release()
    }
  } catch (err) {
    await pool.end()
    throw err
  }

  return createSqlBackend('postgres', {
    async query (text, values) {
      const result = await pool.query(text, values)
      return { rows: result.rows, rowCount: result.rowCount ?? 0 }
    },
    async exec (sql) {
      await pool.query(sql)
    },
    close: () => pool.end()
  })
}
