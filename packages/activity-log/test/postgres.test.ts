import { readdir } from 'node:fs/promises'
import pg from 'pg'
import t from 'tap'
import { startPostgres } from '../../../scripts/postgres-server.ts'
import { createPostgresBackend, DEFAULT_MIGRATIONS_DIR } from '../src/index.ts'
import { createTestBackend, createTestDatabase } from '../src/testing.ts'
import { backendContract } from './backend.contract.ts'

// The whole-repo test run provides a server; run alone, this file starts its own.
if (!process.env.TEST_DATABASE_URL) {
  const server = await startPostgres()
  t.teardown(() => server.stop())
  process.env.TEST_DATABASE_URL = server.url
}

backendContract(t, async () => {
  const backend = await createTestBackend(t)
  t.equal(backend.kind, 'postgres')
  return { backend, sql: text => backend.exec(text) }
})

t.test('processes starting together migrate once', async t => {
  const databaseUrl = await createTestDatabase(t)
  const backends = await Promise.all([1, 2, 3, 4].map(() => createPostgresBackend({ databaseUrl, poolSize: 2 })))
  t.teardown(() => Promise.all(backends.map(b => b.close())))
  for (const b of backends) t.equal(await b.count('email_logs'), 0)

  const files = (await readdir(DEFAULT_MIGRATIONS_DIR)).filter(f => f.endsWith('.sql')).sort()
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  t.teardown(() => client.end())
  t.same((await client.query('SELECT version FROM schema_migrations ORDER BY version')).rows.map(r => r.version), files)
})

t.test('an unreachable server fails at start, not later', async t => {
  const url = new URL(process.env.TEST_DATABASE_URL!)
  url.port = '9'
  await t.rejects(createPostgresBackend({ databaseUrl: url.toString() }))
})
