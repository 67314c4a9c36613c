import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createActivityLog, type ActivityLogOptions, type Backend, type Filter, type Row, type Table } from '../src/index.ts'
import { createTestBackend } from '../src/testing.ts'

// One database for the file; every test writes rows under its own request_id.
const db = await createTestBackend(t)

interface Call { method: 'insert' | 'update', table: Table, rows?: Row[], where?: Filter }

/** The real backend behind a switch: while down, every call fails like a refused connection. */
function switchable (inner: Backend) {
  const calls: Call[] = []
  const state = { down: false, closed: 0 }
  const check = () => {
    if (state.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
  }
  const backend: Backend = {
    kind: inner.kind,
    async insert (table, rows) {
      check()
      calls.push({ method: 'insert', table, rows })
      return inner.insert(table, rows)
    },
    async upsert (table, rows, onConflict) {
      check()
      return inner.upsert(table, rows, onConflict)
    },
    async update (table, where, patch) {
      check()
      calls.push({ method: 'update', table, where })
      return inner.update(table, where, patch)
    },
    async select (table, query) {
      check()
      return inner.select(table, query)
    },
    async count (table, where) {
      check()
      return inner.count(table, where)
    },
    async delete (table, where) {
      check()
      return inner.delete(table, where)
    },
    async rpc (fn, args) {
      check()
      return inner.rpc(fn, args)
    },
    async ping () {
      check()
    },
    // The shared database outlives each log.
    async close () {
      state.closed++
    }
  }
  return { backend, calls, state }
}

function recordingLogger () {
  const entries: Array<{ level: 'info' | 'warn' | 'error', obj: object, msg?: string }> = []
  const logger: NonNullable<ActivityLogOptions['logger']> = {
    info: (obj, msg) => { entries.push({ level: 'info', obj, msg }) },
    warn: (obj, msg) => { entries.push({ level: 'warn', obj, msg }) },
    error: (obj, msg) => { entries.push({ level: 'error', obj, msg }) }
  }
  return { logger, entries, at: (level: string) => entries.filter(e => e.level === level) }
}

function setup (t: Test, options: Partial<ActivityLogOptions> = {}) {
  const s = switchable(db)
  const logs = recordingLogger()
  const log = createActivityLog({ backend: s.backend, flushIntervalMs: 2, retryMinMs: 5, retryMaxMs: 40, closeTimeoutMs: 500, logger: logs.logger, ...options })
  t.teardown(() => log.close())
  const requestId = randomUUID()
  const email = (over: Row = {}): Row => ({ id: randomUUID(), request_id: requestId, mode: 'mock', to_email: 'a@example.com', status: 'queued', ...over })
  return { ...s, ...logs, log, requestId, email }
}

t.test('batching: 1,000 records become a few multi-row inserts', async t => {
  const { log, calls, email, requestId } = setup(t)
  for (let i = 0; i < 1000; i++) log.record('email_logs', email({ latency_ms: i }))
  t.equal(log.pending, 1000)
  await log.flush()
  t.equal(log.pending, 0)
  t.same(calls.map(c => c.rows?.length), [500, 500], 'two statements of batchSize rows')
  t.equal(await db.count('email_logs', { request_id: requestId }), 1000)
})

t.test('batching: interleaved tables become one insert per table, not one per switch', async t => {
  const { log, calls, email, requestId } = setup(t)
  for (let i = 0; i < 100; i++) {
    log.record('email_logs', email())
    log.record('whatsapp_logs', { id: randomUUID(), request_id: requestId, mode: 'mock', to_number: '+919800000000', template_name: 'welcome_message', status: 'queued' })
  }
  await log.flush()
  t.same(calls.map(c => [c.table, c.rows?.length]), [['email_logs', 100], ['whatsapp_logs', 100]])
  t.equal(await db.count('email_logs', { request_id: requestId }), 100)
  t.equal(await db.count('whatsapp_logs', { request_id: requestId }), 100)
})

t.test('batching: records arriving over time share statements', async t => {
  const { log, calls, email, requestId } = setup(t, { flushIntervalMs: 20, batchSize: 100 })
  for (let tick = 0; tick < 10; tick++) {
    for (let i = 0; i < 30; i++) log.record('email_logs', email())
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  await log.flush()
  t.ok(calls.length <= 6, `${calls.length} inserts for 300 rows`)
  t.ok(calls.every(c => (c.rows?.length ?? 0) <= 100))
  t.equal(await db.count('email_logs', { request_id: requestId }), 300)
})

t.test('ordering: an update never overtakes the insert of its row', async t => {
  const { log, calls, email, requestId } = setup(t)
  const a = email()
  const b = email()
  const c = email()
  const w = { id: randomUUID(), request_id: requestId, mode: 'mock', to_number: '1', template_name: 't', status: 'sent' }
  log.record('email_logs', a)
  log.record('email_logs', b)
  log.recordUpdate('email_logs', { id: a.id as string }, { status: 'delivered' })
  log.record('email_logs', c)
  log.record('whatsapp_logs', w)
  log.recordUpdate('whatsapp_logs', { id: w.id }, { status: 'read' })
  await log.flush()
  t.same(calls.map(x => `${x.method} ${x.table} ${x.rows?.length ?? ''}`.trim()), [
    'insert email_logs 2',
    'update email_logs',
    'insert email_logs 1',
    'insert whatsapp_logs 1',
    'update whatsapp_logs'
  ])
  t.same((await db.select('email_logs', { where: { request_id: requestId }, orderBy: { column: 'status' } })).map(r => r.status), ['delivered', 'queued', 'queued'])
  t.equal((await db.select('whatsapp_logs', { where: { id: w.id } }))[0]?.status, 'read')

  // Many rows, each updated right after its insert: every update lands.
  const ids: string[] = []
  for (let i = 0; i < 200; i++) {
    const row = email({ error: 'many' })
    ids.push(row.id as string)
    log.record('email_logs', row)
    log.recordUpdate('email_logs', { id: row.id as string }, { status: 'sent', latency_ms: i })
  }
  await log.flush()
  t.equal(await db.count('email_logs', { error: 'many', request_id: requestId, status: 'sent' }), 200)
})

t.test('flush: resolves once earlier writes are written, rejects after its timeout', async t => {
  const { log, state, email, requestId } = setup(t)
  await log.flush()
  log.record('email_logs', email())
  await log.flush()
  t.equal(await db.count('email_logs', { request_id: requestId }), 1)

  state.down = true
  log.record('email_logs', email())
  await t.rejects(log.flush(150), /flush timed out after 150 ms/)
  t.equal(log.pending, 1)
  t.equal(log.degraded, true)
  state.down = false
  await log.flush()
  t.equal(log.degraded, false)
  t.equal(await db.count('email_logs', { request_id: requestId }), 2)
})

t.test('reads see the caller\'s own writes', async t => {
  const { log, email, requestId } = setup(t, { flushIntervalMs: 10_000 })
  const row = email({ status: 'sent' })
  log.record('email_logs', row)
  log.recordUpdate('email_logs', { id: row.id as string }, { status: 'delivered' })
  t.same((await log.select('email_logs', { where: { request_id: requestId } })).map(r => r.status), ['delivered'])
  log.record('email_logs', email())
  t.equal(await log.count('email_logs', { request_id: requestId }), 2)
  await db.exec(`CREATE OR REPLACE FUNCTION activity_log_test_count(rid text) RETURNS jsonb LANGUAGE sql
    AS $$ SELECT jsonb_build_object('n', count(*)) FROM email_logs WHERE request_id = rid $$`)
  log.record('email_logs', email())
  t.same(await log.rpc('activity_log_test_count', { rid: requestId }), { n: 3 })
})

t.test('reads still run (without waiting forever) while writes cannot be flushed', async t => {
  const { log, state, email, requestId } = setup(t, { retryMinMs: 50, retryMaxMs: 50 })
  const { backend } = log
  t.equal(backend.kind, db.kind)
  state.down = true
  log.record('email_logs', email())
  const started = Date.now()
  await t.rejects(log.count('email_logs', { request_id: requestId }), /ECONNREFUSED/)
  t.ok(Date.now() - started < 3_000)
  state.down = false
})

t.test('close flushes the queue and closes the backend', async t => {
  const { log, state, email, requestId } = setup(t)
  for (let i = 0; i < 10; i++) log.record('email_logs', email())
  await log.close()
  t.equal(await db.count('email_logs', { request_id: requestId }), 10)
  t.equal(state.closed, 1)
  await log.close()
  t.equal(state.closed, 1, 'close is idempotent')
})

t.test('spill: unwritten operations go to a file at close and are replayed at the next start', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'activity-log-spill-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const spillFile = join(dir, 'nested', 'spill.jsonl')

  const first = setup(t, { spillFile, closeTimeoutMs: 100 })
  first.state.down = true
  const rows = [1, 2, 3, 4, 5].map(latency_ms => first.email({ latency_ms }))
  for (const row of rows) first.log.record('email_logs', row)
  first.log.recordUpdate('email_logs', { id: rows[0]!.id as string }, { status: 'delivered' })
  await first.log.close()
  first.log.record('email_logs', first.email({ latency_ms: 6 }))
  t.equal(readFileSync(spillFile, 'utf8').trim().split('\n').length, 7, 'six queued operations and one recorded after close')
  t.equal(await db.count('email_logs', { request_id: first.requestId }), 0)
  t.ok(first.at('warn').some(e => /kept for the next start/.test(e.msg ?? '')))

  const second = setup(t, { spillFile })
  t.equal(second.log.pending, 7, 'queued first, before anything new')
  t.notOk(existsSync(spillFile), 'renamed aside while replaying')
  await second.log.flush()
  t.equal(await db.count('email_logs', { request_id: first.requestId }), 6)
  t.equal((await db.select('email_logs', { where: { id: rows[0]!.id as string } }))[0]?.status, 'delivered')
  t.notOk(existsSync(`${spillFile}.replay`), 'removed once written')
})

t.test('spill: a crash during replay leaves the file to replay again', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'activity-log-spill-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const spillFile = join(dir, 'spill.jsonl')

  const first = setup(t, { spillFile, closeTimeoutMs: 50 })
  first.state.down = true
  const row = first.email()
  first.log.record('email_logs', row)
  await first.log.close()

  // Starts replaying but the database is away and the process "dies" (no close).
  const crashed = switchable(db)
  crashed.state.down = true
  const dying = createActivityLog({ backend: crashed.backend, spillFile, retryMinMs: 1_000, retryMaxMs: 1_000, logger: recordingLogger().logger })
  t.equal(dying.pending, 1)
  t.ok(existsSync(`${spillFile}.replay`))

  const next = setup(t, { spillFile })
  t.equal(next.log.pending, 1)
  await next.log.flush()
  t.equal(await db.count('email_logs', { id: row.id as string }), 1)
  t.notOk(existsSync(`${spillFile}.replay`))
  crashed.state.down = false
  await dying.close()
  t.equal(await db.count('email_logs', { id: row.id as string }), 1, 'the second replay was a no-op')
})

t.test('record never throws, and bad operations do not block the queue', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'activity-log-rejected-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const spillFile = join(dir, 'spill.jsonl')
  const { log, email, requestId, at } = setup(t, { spillFile })

  t.doesNotThrow(() => log.record('email_logs', null as never))
  t.doesNotThrow(() => log.record('no_such_table' as Table, email()))
  t.doesNotThrow(() => log.recordUpdate('email_logs', { 'bad name': 1 } as never, { status: 'x' }))
  const good = [email(), email(), email(), email()]
  const bad = email({ mode: 'bogus' })
  log.record('email_logs', good[0]!)
  log.record('email_logs', good[1]!)
  log.record('email_logs', bad)
  log.record('email_logs', good[2]!)
  log.record('email_logs', good[3]!)
  await log.flush()

  t.equal(await db.count('email_logs', { request_id: requestId }), 4, 'the rest of the batch is written')
  t.equal(log.degraded, false)
  t.equal(at('warn').length, 0, 'bad data is not an outage')
  const rejected = readFileSync(`${spillFile}.rejected`, 'utf8').trim().split('\n').map(l => JSON.parse(l))
  t.same(rejected.map(o => o.table), ['no_such_table', 'email_logs', 'email_logs'])
  t.equal(rejected[2].row.id, bad.id)
  t.ok(at('error').length >= 3)
})

t.test('an outage is logged once when it starts and once when it ends', async t => {
  const { log, state, email, requestId, at } = setup(t, { retryMinMs: 5, retryMaxMs: 20 })
  state.down = true
  log.record('email_logs', email())
  await new Promise(resolve => setTimeout(resolve, 300))
  t.equal(log.degraded, true)
  log.record('email_logs', email())
  await new Promise(resolve => setTimeout(resolve, 100))
  state.down = false
  await log.flush()
  t.equal(log.degraded, false)
  t.equal(at('warn').length, 1)
  const back = at('info').filter(e => /database back/.test(e.msg ?? ''))
  t.equal(back.length, 1)
  t.ok((back[0]!.obj as { retries: number }).retries > 3, 'after several retries')
  t.equal(await db.count('email_logs', { request_id: requestId }), 2)
})

t.test('writes copy their input; the caller may reuse it', async t => {
  const { log, email, requestId } = setup(t)
  const row = email({ status: 'first' })
  log.record('email_logs', row)
  row.status = 'changed afterwards'
  const withoutId: Row = { request_id: requestId, mode: 'mock', to_email: 'b@example.com', status: 'no id' }
  log.record('email_logs', withoutId)
  await log.flush()
  t.same((await db.select('email_logs', { where: { request_id: requestId }, orderBy: { column: 'status' } })).map(r => r.status), ['first', 'no id'])
  t.notOk('id' in withoutId)
})
