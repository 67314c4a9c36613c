import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import t from 'tap'
import { applyMigrations, createBackend, createPgliteBackend, DEFAULT_MIGRATIONS_DIR, type Row } from '../src/index.ts'
import { backendContract } from './backend.contract.ts'

backendContract(t, async () => {
  const backend = await createPgliteBackend({ dataDir: 'memory://' })
  t.teardown(() => backend.close())
  return { backend, sql: text => backend.exec(text) }
})

t.test('a data folder keeps rows across restarts and migrations run once', async t => {
  const dataDir = await mkdtemp(join(tmpdir(), 'activity-log-pglite-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const id = '6f1c7a3e-0000-4000-8000-000000000001'

  const first = await createBackend({ dataDir })
  t.equal(first.kind, 'pglite')
  await first.insert('email_logs', [{ id, mode: 'mock', to_email: 'a@example.com', status: 'sent' }])
  await first.close()

  const raw = await PGlite.create(dataDir)
  const session = { query: (text: string, values?: unknown[]) => raw.query<Row>(text, values), exec: async (sql: string) => { await raw.exec(sql) } }
  t.same(await applyMigrations(session), [], 'nothing left to apply')
  const files = (await readdir(DEFAULT_MIGRATIONS_DIR)).filter(f => f.endsWith('.sql')).sort()
  t.same((await raw.query<Row>('SELECT version FROM schema_migrations ORDER BY version')).rows.map(r => r.version), files)
  await raw.close()

  const second = await createPgliteBackend({ dataDir })
  t.teardown(() => second.close())
  t.same((await second.select('email_logs')).map(r => r.id), [id])
})

t.test('createBackend picks the backend the configuration names', async t => {
  const memory = await createBackend({ dataDir: 'memory://' })
  t.teardown(() => memory.close())
  t.equal(memory.kind, 'pglite')

  // Supabase is chosen over databaseUrl, and connects lazily (nothing listens here).
  const supabase = await createBackend({ supabaseUrl: 'http://127.0.0.1:9', supabaseServiceKey: 'key', databaseUrl: 'postgres://nowhere' })
  t.equal(supabase.kind, 'supabase')
  await supabase.close()

  await t.rejects(createBackend({ supabaseUrl: 'http://127.0.0.1:9' }), /SUPABASE_SERVICE_KEY/)
})

t.test('the embedded database answers from its own thread: errors keep their code, a closed one refuses', async t => {
  const backend = await createPgliteBackend({ dataDir: 'memory://' })
  // The writer tells permanent errors from outages by SQLSTATE, so the code must cross the thread.
  const err = await backend.exec('SELECT no_such_column FROM email_logs').then(() => undefined, (e: unknown) => e as { code?: string, message: string })
  t.equal(err?.code, '42703')
  t.match(err?.message, /no_such_column/)
  // Many queries at once come back in order, each with its own rows.
  await backend.insert('email_logs', Array.from({ length: 50 }, (_v, i) => ({ id: `6f1c7a3e-0000-4000-8000-${String(i).padStart(12, '0')}`, mode: 'mock', to_email: `u${i}@example.com`, status: 'sent' })))
  const counts = await Promise.all(Array.from({ length: 50 }, (_v, i) => backend.select('email_logs', { limit: i + 1 })))
  t.same(counts.map(rows => rows.length), Array.from({ length: 50 }, (_v, i) => i + 1))
  await backend.close()
  await t.rejects(backend.select('email_logs'), /embedded database thread stopped/, 'a query after close fails at once instead of hanging')
})

t.test('events: every numeric column of a table with events is one event_row_data turns into a string', async t => {
  const backend = await createPgliteBackend({ dataDir: 'memory://' })
  t.teardown(() => backend.close())
  // A numeric column added to one of these tables must be added to event_row_data (the migration
  // events_on_the_clock_with_exact_amounts), or its events would carry it as a JSON number while
  // the journal shows a decimal string.
  const { rows } = await backend.query(`SELECT table_name || '.' || column_name AS col FROM information_schema.columns
    WHERE table_schema = current_schema() AND data_type = 'numeric' AND table_name IN ('email_logs', 'whatsapp_logs', 'payments', 'call_logs') ORDER BY 1`)
  t.same(rows.map(r => r.col), ['call_logs.cost', 'call_logs.duration_seconds', 'payments.amount', 'payments.fees'])
  const { rows: [converted] } = await backend.query('SELECT event_row_data($1, $2::jsonb) AS d', ['payments', '{"amount": 1499.10, "fees": null, "latency_ms": 12}'])
  t.same(converted?.d, { amount: '1499.10', fees: null, latency_ms: 12 }, 'the digits and scale the column has; other numbers stay numbers')
})

t.test('the embedded database vacuums its own tables: the space of deleted rows is used again', async t => {
  // 5 rounds of 2,000 rows of 1 KB inserted and deleted: about 11 MB of rows, none of them live.
  // (The statistics a vacuum is decided on reach other sessions about a second late: a round each.)
  const rounds = async (backend: Awaited<ReturnType<typeof createPgliteBackend>>, afterEach: () => Promise<void>) => {
    await backend.exec('CREATE TABLE vacuum_probe (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), body text NOT NULL)')
    for (let round = 0; round < 5; round++) {
      await backend.exec("INSERT INTO vacuum_probe (body) SELECT repeat('x', 1000) FROM generate_series(1, 2000); DELETE FROM vacuum_probe")
      await afterEach()
    }
    return Number((await backend.query("SELECT pg_total_relation_size('vacuum_probe') AS size")).rows[0]!.size)
  }
  const vacuums = async (backend: Awaited<ReturnType<typeof createPgliteBackend>>) =>
    Number((await backend.query("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'vacuum_probe'")).rows[0]?.vacuum_count ?? 0)

  const maintained = await createPgliteBackend({ dataDir: 'memory://', maintenanceEveryMs: 20 })
  t.teardown(() => maintained.close())
  let seen = 0
  const kept = await rounds(maintained, async () => {
    // Each round leaves 2,000 dead rows, past autovacuum's threshold: wait for the thread's own vacuum.
    const until = Date.now() + 10_000
    while (await vacuums(maintained) === seen) {
      if (Date.now() > until) throw new Error(`no vacuum of vacuum_probe within 10 s after round ${seen + 1}`)
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    seen = await vacuums(maintained)
  })
  t.ok(kept < 4 * 2 ** 20, `the table stays at one round's size: ${(kept / 2 ** 20).toFixed(1)} MB after 5 rounds`)

  const unmaintained = await createPgliteBackend({ dataDir: 'memory://', maintenanceEveryMs: 0 })
  t.teardown(() => unmaintained.close())
  const grown = await rounds(unmaintained, async () => {})
  t.ok(grown > 9 * 2 ** 20, `without it the same rounds leave ${(grown / 2 ** 20).toFixed(1)} MB holding no row`)
  t.equal(await vacuums(unmaintained), 0)
})

t.test('the embedded database checkpoints itself: its log does not keep everything written since the start', async t => {
  // About 90 MB of write-ahead log, past the 64 MB after which PostgreSQL's checkpointer would act.
  const write = async (backend: Awaited<ReturnType<typeof createPgliteBackend>>) => {
    await backend.exec('CREATE TABLE wal_probe (body text NOT NULL)')
    for (let i = 0; i < 8; i++) await backend.exec("INSERT INTO wal_probe SELECT repeat('x', 1000) FROM generate_series(1, 10000)")
  }
  const redo = async (backend: Awaited<ReturnType<typeof createPgliteBackend>>) =>
    String((await backend.query('SELECT redo_lsn::text AS lsn FROM pg_control_checkpoint()')).rows[0]!.lsn)

  const maintained = await createPgliteBackend({ dataDir: 'memory://', maintenanceEveryMs: 20 })
  t.teardown(() => maintained.close())
  const sinceRedo = async () => Number((await maintained.query('SELECT (pg_current_wal_insert_lsn() - redo_lsn)::float8 AS bytes FROM pg_control_checkpoint()')).rows[0]!.bytes)
  await write(maintained)
  // A checkpoint may come in the middle of the writes (past 64 MB) and leave most of the log after
  // it: waited for is the one that brings what a crash would replay under the bound.
  const until = Date.now() + 10_000
  let since = await sinceRedo()
  while (since >= 64 * 2 ** 20) {
    if (Date.now() > until) break
    await new Promise(resolve => setTimeout(resolve, 10))
    since = await sinceRedo()
  }
  t.ok(since < 64 * 2 ** 20, `a crash now would replay ${(since / 2 ** 20).toFixed(1)} MB of log, not all 90`)

  const unmaintained = await createPgliteBackend({ dataDir: 'memory://', maintenanceEveryMs: 0 })
  t.teardown(() => unmaintained.close())
  const start = await redo(unmaintained)
  await write(unmaintained)
  t.equal(await redo(unmaintained), start, 'without it nothing checkpoints')
})
