/**
 * Test helpers for any package: a migrated, isolated database per test, cleaned up at teardown.
 * With TEST_DATABASE_URL (a PostgreSQL server URL with a superuser) each test gets its own
 * database on that server; without it, an in-memory PGlite.
 */
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import pg from 'pg'
import type { ActivityLog, ActivityLogOptions } from './types.ts'
import { createActivityLog } from './activity-log.ts'
import { createPgliteBackend } from './backends/pglite.ts'
import { createPostgresBackend } from './backends/postgres.ts'
import type { SqlBackend } from './backends/sql.ts'

/** What the helpers need from a test: tap's `t` fits, so does anything with a teardown hook. */
export interface TestContext {
  teardown (fn: () => unknown): void
}

async function adminQuery (serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/** A new, empty database on the server at serverUrl; returns its URL. Dropped at teardown. */
export async function createTestDatabase (t: TestContext, serverUrl: string | undefined = process.env.TEST_DATABASE_URL): Promise<string> {
  if (!serverUrl) throw new Error('createTestDatabase needs a server URL (TEST_DATABASE_URL)')
  const name = `sb_test_${process.pid}_${randomBytes(6).toString('hex')}`
  await adminQuery(serverUrl, `CREATE DATABASE "${name}"`)
  t.teardown(() => adminQuery(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** A migrated backend of its own: PostgreSQL when TEST_DATABASE_URL is set, else in-memory PGlite. */
export async function createTestBackend (t: TestContext): Promise<SqlBackend> {
  const serverUrl = process.env.TEST_DATABASE_URL
  // Teardowns run last-in first-out (tap), so whatever the test registers later (an ActivityLog's
  // close) runs before this close, and this close before the database is dropped.
  const backend = serverUrl
    ? await createPostgresBackend({ databaseUrl: await createTestDatabase(t, serverUrl), poolSize: 4 })
    : await createPgliteBackend({ dataDir: 'memory://' })
  t.teardown(() => backend.close())
  return backend
}

/** An ActivityLog on a fresh test backend, flushing and retrying fast, closed at teardown. */
export async function createTestActivityLog (t: TestContext, options: Partial<ActivityLogOptions> = {}): Promise<ActivityLog> {
  const backend = options.backend ?? await createTestBackend(t)
  const log = createActivityLog({
    flushIntervalMs: 1,
    retryMinMs: 5,
    retryMaxMs: 100,
    closeTimeoutMs: 1_000,
    logger: { info () {}, warn () {}, error () {} },
    ...options,
    backend
  })
  t.teardown(() => log.close())
  return log
}

export interface TcpProxy {
  port: number
  /** Drops every connection and refuses new ones until restore(). */
  cut: () => void
  restore: () => void
  close: () => Promise<void>
}

/** A TCP proxy to host:port that can be cut and restored: a database (or a service) going away. */
export async function tcpProxy (host: string, port: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>()
  let down = false
  const server = net.createServer(client => {
    if (down) {
      client.resetAndDestroy()
      return
    }
    const upstream = net.connect(port, host)
    const pair = [client, upstream]
    for (const s of pair) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        for (const other of pair) {
          other.destroy()
          sockets.delete(other)
        }
      })
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const cut = () => {
    down = true
    for (const s of sockets) s.resetAndDestroy()
    sockets.clear()
  }
  return {
    port: (server.address() as net.AddressInfo).port,
    cut,
    restore: () => { down = false },
    close: () => new Promise<void>(resolve => {
      cut()
      server.close(() => resolve())
    })
  }
}

/**
 * A test backend whose inserts can be held: while held, every insert waits (a commit that takes
 * its time), so the activity log's queue fills up as under load. Everything else goes through.
 */
export async function createHeldBackend (t: TestContext): Promise<{ backend: SqlBackend, hold: () => void, release: () => void }> {
  const inner = await createTestBackend(t)
  let held: { promise: Promise<void>, open: () => void } | undefined
  const backend: SqlBackend = Object.create(inner)
  backend.insert = async (table, rows) => {
    while (held) await held.promise
    return inner.insert(table, rows)
  }
  return {
    backend,
    hold: () => {
      if (held) return
      let open!: () => void
      const promise = new Promise<void>(resolve => { open = resolve })
      held = { promise, open }
    },
    release: () => {
      const h = held
      held = undefined
      h?.open()
    }
  }
}
