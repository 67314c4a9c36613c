import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import t, { type Test } from 'tap'
import { ActivityLogFullError, createActivityLog, type ActivityLogOptions, type Backend, type EmailLogRow, type Filter, type Row, type Table, type WhatsAppLogRow } from '../src/index.ts'
import { createTestBackend } from '../src/testing.ts'

// One database for the file; every test writes rows under its own request_id.
const db = await createTestBackend(t)

interface Call { method: 'insert' | 'update' | 'updateEach', table: Table, rows?: Row[], where?: Filter, patch?: Row }

/** The real backend behind a switch: while down, every call fails like a refused connection. */
function switchable (inner: Backend, each = false) {
  const calls: Call[] = []
  const state = { down: false, closed: 0, gate: undefined as Promise<void> | undefined }
  const check = async () => {
    // A gate holds every write until it opens: a commit in flight.
    if (state.gate) await state.gate
    if (state.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
  }
  const backend: Backend = {
    kind: inner.kind,
    async insert (table, rows) {
      await check()
      calls.push({ method: 'insert', table, rows })
      return inner.insert(table, rows)
    },
    async upsert (table, rows, onConflict) {
      await check()
      return inner.upsert(table, rows, onConflict)
    },
    async update (table, where, patch) {
      await check()
      calls.push({ method: 'update', table, where, patch })
      return inner.update(table, where, patch)
    },
    ...(each && inner.updateEach !== undefined
      ? {
          async updateEach (table: Table, key: string, moves: Row[], from?: Record<string, readonly string[]>) {
            await check()
            calls.push({ method: 'updateEach', table, rows: moves })
            return inner.updateEach!(table, key, moves, from)
          }
        }
      : {}),
    async select (table, query) {
      await check()
      return inner.select(table, query)
    },
    async count (table, where) {
      await check()
      return inner.count(table, where)
    },
    async delete (table, where) {
      await check()
      return inner.delete(table, where)
    },
    async rpc (fn, args) {
      await check()
      return inner.rpc(fn, args)
    },
    async ping () {
      await check()
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

function setup (t: Test, options: Partial<ActivityLogOptions> = {}, each = false) {
  const s = switchable(db, each)
  const logs = recordingLogger()
  const log = createActivityLog({ backend: s.backend, flushIntervalMs: 2, retryMinMs: 5, retryMaxMs: 40, closeTimeoutMs: 500, logger: logs.logger, ...options })
  t.teardown(() => log.close())
  const requestId = randomUUID()
  const email = (over: Partial<EmailLogRow> = {}): EmailLogRow => ({ id: randomUUID(), request_id: requestId, mode: 'mock', to_email: 'a@example.com', status: 'queued', ...over })
  const whatsapp = (over: Partial<WhatsAppLogRow> = {}): WhatsAppLogRow => ({ id: randomUUID(), request_id: requestId, mode: 'mock', to_number: '+919800000000', template_name: 'welcome_message', status: 'submitted', ...over })
  return { ...s, ...logs, log, requestId, email, whatsapp }
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
  const { log, calls, email, whatsapp, requestId } = setup(t)
  for (let i = 0; i < 100; i++) {
    log.record('email_logs', email())
    log.record('whatsapp_logs', whatsapp())
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
  t.ok(calls.length <= 10, `${calls.length} inserts for 300 rows`)
  t.ok(calls.every(c => (c.rows?.length ?? 0) <= 100))
  t.equal(await db.count('email_logs', { request_id: requestId }), 300)
})

t.test('ordering: an update never overtakes the insert of its row', async t => {
  const { log, calls, email, whatsapp, requestId } = setup(t)
  const a = email()
  const b = email()
  const c = email()
  const w = whatsapp({ status: 'sent' })
  log.record('email_logs', a)
  log.record('email_logs', b)
  log.recordUpdate('email_logs', { id: a.id }, { status: 'delivered' })
  log.record('email_logs', c)
  log.record('whatsapp_logs', w)
  log.recordUpdate('whatsapp_logs', { id: w.id }, { status: 'read' })
  await log.flush()
  t.same(calls.map(x => `${x.method} ${x.table} ${x.rows?.length ?? ''}`.trim()), [
    'insert email_logs 3',
    'insert whatsapp_logs 1',
    'update email_logs',
    'update whatsapp_logs'
  ], 'the inserts go together, each update after its row\'s insert')
  t.same((await db.select('email_logs', { where: { request_id: requestId }, orderBy: { column: 'status' } })).map(r => r.status), ['delivered', 'queued', 'queued'])
  t.equal((await db.select('whatsapp_logs', { where: { id: w.id } }))[0]?.status, 'read')

  // Many rows, each updated right after its insert: every update lands.
  const ids: string[] = []
  for (let i = 0; i < 200; i++) {
    const row = email({ error: 'many' })
    ids.push(row.id)
    log.record('email_logs', row)
    log.recordUpdate('email_logs', { id: row.id }, { status: 'sent', latency_ms: i })
  }
  await log.flush()
  t.equal(await db.count('email_logs', { error: 'many', request_id: requestId, status: 'sent' }), 200)
})

/** A gate the test opens: writes reaching the backend wait on it (a commit in flight). */
function gate () {
  let open!: () => void
  const promise = new Promise<void>(resolve => { open = resolve })
  return { promise, open }
}

/** Whether a promise has settled by the time everything already queued has run. */
async function settledYet (p: Promise<unknown>): Promise<boolean> {
  let done = false
  p.then(() => { done = true }, () => { done = true })
  await new Promise(resolve => setImmediate(resolve))
  await new Promise(resolve => setImmediate(resolve))
  return done
}

async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'activity-log-journal-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('ack: a write resolves only once committed, and writes arriving meanwhile share the next commit', async t => {
  const { log, calls, state, email, requestId } = setup(t, { flushIntervalMs: 0 })
  const held = gate()
  state.gate = held.promise
  const first = log.record('email_logs', email())
  t.equal(await settledYet(first), false, 'not acknowledged while its insert is in flight')
  const more = Array.from({ length: 50 }, () => log.record('email_logs', email()))
  t.equal(await settledYet(Promise.race(more)), false)
  held.open()
  await first
  t.equal(await db.count('email_logs', { request_id: requestId }) >= 1, true, 'committed when acknowledged')
  state.gate = undefined
  await Promise.all(more)
  t.equal(await db.count('email_logs', { request_id: requestId }), 51)
  t.same(calls.map(c => c.rows?.length), [1, 50], 'the 50 that arrived during the first commit went in one insert')
})

t.test('journal: with the database away a write is fsynced to the journal, acknowledged, and replayed in order at the next open, once', async t => {
  const dir = await tempDir(t)
  const journalFile = join(dir, 'data', 'journal.jsonl')
  const first = setup(t, { journalFile, retryMinMs: 1_000, retryMaxMs: 1_000 })
  first.state.down = true
  const a = first.email({ status: 'sent' })
  const b = first.email({ status: 'sent' })
  // All acknowledged although the database never answered.
  await first.log.record('email_logs', a)
  await Promise.all([
    first.log.record('email_logs', b),
    first.log.advance('email_logs', 'id', a.id, 'delivered'),
    first.log.recordUpdate('email_logs', { id: b.id }, { subject: 'patched' }),
    first.log.advance('email_logs', 'id', a.id, 'opened')
  ])
  t.equal(first.log.degraded, true)
  t.equal(await db.count('email_logs', { request_id: first.requestId }), 0, 'nothing reached the database')
  const lines = readFileSync(journalFile, 'utf8').trim().split('\n').map(l => JSON.parse(l))
  t.same(lines.map(o => o.op), ['insert', 'insert', 'advance', 'update', 'advance'], 'every acknowledged write, in order')
  t.equal(statSync(journalFile).mode & 0o777, 0o600, 'journal readable by its owner only')
  t.equal(statSync(dirname(journalFile)).mode & 0o777, 0o700, 'its folder too')

  // The process dies here (no close); the next one opens the same journal with the database back.
  const second = setup(t, { journalFile })
  t.equal(second.log.pending, 4, 'replayed first (the two moves of one row coalesced)')
  await second.log.flush()
  const rows = await db.select('email_logs', { where: { request_id: first.requestId } })
  t.equal(rows.length, 2)
  t.equal(rows.find(r => r.id === a.id)?.status, 'opened')
  t.equal(rows.find(r => r.id === b.id)?.subject, 'patched')
  t.notOk(existsSync(journalFile), 'the journal goes once everything in it is committed')

  // The dead process's copy comes back too: it changes nothing.
  first.state.down = false
  await first.log.flush()
  t.equal(await db.count('email_logs', { request_id: first.requestId }), 2, 'nothing twice')
  t.equal((await db.select('email_logs', { where: { id: a.id } }))[0]?.status, 'opened')
})

t.test('journal: writes queued when the database goes away are journaled and acknowledged; the journal goes once they commit', async t => {
  const dir = await tempDir(t)
  const journalFile = join(dir, 'journal.jsonl')
  const { log, state, email, requestId } = setup(t, { journalFile, retryMinMs: 20, retryMaxMs: 20 })
  const held = gate()
  state.gate = held.promise
  state.down = true
  const writes = Array.from({ length: 20 }, () => log.record('email_logs', email()))
  held.open()
  state.gate = undefined
  await Promise.all(writes)
  t.equal(readFileSync(journalFile, 'utf8').trim().split('\n').length, 20)
  t.equal(log.pending, 20, 'still queued for the database')
  state.down = false
  await log.flush()
  t.equal(await db.count('email_logs', { request_id: requestId }), 20)
  t.notOk(existsSync(journalFile))
})

t.test('journal: writes arriving while the database is away are journaled once each, and the journal goes once they commit', async t => {
  const dir = await tempDir(t)
  const journalFile = join(dir, 'journal.jsonl')
  const { log, state, email, requestId } = setup(t, { journalFile, retryMinMs: 2, retryMaxMs: 5 })
  state.down = true
  let written = 0
  // Writes keep arriving while the retries fail: a write could be journaled by its own arrival
  // and by a failed retry in the same turn, appended twice and counted twice, and then the
  // journal, waiting for a count that never reached zero, stayed after everything committed.
  for (let round = 0; round < 40; round++) {
    await Promise.all(Array.from({ length: 5 }, () => { written++; return log.record('email_logs', email()) }))
    await new Promise(resolve => setTimeout(resolve, 1))
  }
  t.equal(readFileSync(journalFile, 'utf8').trim().split('\n').length, written, 'each write once in the journal')
  state.down = false
  await log.flush()
  t.equal(await db.count('email_logs', { request_id: requestId }), written)
  t.notOk(existsSync(journalFile), 'the journal goes once everything in it is committed')
})

t.test('journal: a crash while replaying leaves the journal to replay again, harmlessly', async t => {
  const dir = await tempDir(t)
  const journalFile = join(dir, 'journal.jsonl')
  const first = setup(t, { journalFile, closeTimeoutMs: 50 })
  first.state.down = true
  const row = first.email()
  await first.log.record('email_logs', row)
  await first.log.close()

  const crashed = switchable(db)
  crashed.state.down = true
  const dying = createActivityLog({ backend: crashed.backend, journalFile, retryMinMs: 1_000, retryMaxMs: 1_000, logger: recordingLogger().logger })
  t.equal(dying.pending, 1)

  const next = setup(t, { journalFile })
  t.equal(next.log.pending, 1)
  await next.log.flush()
  t.equal(await db.count('email_logs', { id: row.id }), 1)
  t.notOk(existsSync(journalFile))
  crashed.state.down = false
  await dying.close()
  t.equal(await db.count('email_logs', { id: row.id }), 1, 'the second replay was a no-op')
})

t.test('close: with the database away the queue goes to the journal; after close a write is journaled at once', async t => {
  const dir = await tempDir(t)
  const journalFile = join(dir, 'journal.jsonl')
  const first = setup(t, { journalFile, closeTimeoutMs: 50 })
  const held = gate()
  first.state.gate = held.promise
  const pending = first.log.record('email_logs', first.email())
  first.state.down = true
  const closed = first.log.close()
  held.open()
  await closed
  await pending
  await first.log.record('email_logs', first.email())
  t.equal(readFileSync(journalFile, 'utf8').trim().split('\n').length, 2)
  const second = setup(t, { journalFile })
  await second.log.flush()
  t.equal(await db.count('email_logs', { request_id: first.requestId }), 2)
})

t.test('close: without a journal, a write the database never took is refused, not acknowledged', async t => {
  const { log, state, email } = setup(t, { closeTimeoutMs: 50 })
  state.down = true
  const lost = log.record('email_logs', email())
  t.equal(await settledYet(lost), false, 'no journal: no acknowledgement before the commit')
  await log.close()
  await t.rejects(lost, { name: 'ActivityLogUnavailableError' })
})

t.test('bound: past maxPending admit() refuses new work with ActivityLogFullError; writes themselves are never refused', async t => {
  const { log, state, email, requestId } = setup(t, { maxPending: 3 })
  const held = gate()
  state.gate = held.promise
  log.admit()
  const accepted = [log.record('email_logs', email()), log.record('email_logs', email()), log.record('email_logs', email())]
  t.throws(() => log.admit(), { name: 'ActivityLogFullError', code: 'ACTIVITY_LOG_FULL', retryAfterSeconds: 1, message: /3 writes are waiting for the database \(at most 3 before/ })
  // A write past the bound records what an admitted request already did (a mail the provider took): kept.
  accepted.push(log.record('email_logs', email()))
  t.equal(log.pending, 4)
  t.throws(() => log.admit(), { message: /^4 writes are waiting for the database \(at most 3 before new requests are refused: ACTIVITY_LOG_MAX_PENDING\)/ }, 'past the bound, the count and the bound each as they are')
  held.open()
  state.gate = undefined
  await Promise.all(accepted)
  log.admit()
  t.equal(await db.count('email_logs', { request_id: requestId }), 4, 'every write was stored')
  t.type(new ActivityLogFullError(1, true).retryAfterSeconds, 'number')
})

t.test('status: a row only moves forward, whatever order the events arrive in', async t => {
  const { log, email, whatsapp, requestId } = setup(t)
  const e = email({ status: 'sent' })
  await log.record('email_logs', e)
  await log.advance('email_logs', 'id', e.id, 'delivered')
  await log.advance('email_logs', 'id', e.id, 'processed') // late
  await log.advance('email_logs', 'id', e.id, 'bounced') // after delivery: impossible
  t.equal((await db.select('email_logs', { where: { id: e.id } }))[0]?.status, 'delivered')

  const w = whatsapp({ status: 'submitted', provider_message_id: `pm-${requestId}` })
  await log.record('whatsapp_logs', w)
  await log.advance('whatsapp_logs', 'provider_message_id', `pm-${requestId}`, 'failed', { error: 'undeliverable', error_code: '131026' })
  await log.advance('whatsapp_logs', 'provider_message_id', `pm-${requestId}`, 'read')
  const [row] = await db.select('whatsapp_logs', { where: { id: w.id } })
  t.same([row?.status, row?.error], ['failed', 'undeliverable'], 'read after failed leaves it failed')

  await t.rejects(log.advance('email_logs', 'id', e.id, 'teleported'), /email_logs has no status "teleported"/)
})

t.test('status: a move for an id that is not a row id (a webhook\'s odd echo) moves nothing and fails nothing beside it', async t => {
  const { log, email, calls, at } = setup(t)
  const e = email({ status: 'sent' })
  await log.record('email_logs', e)
  await Promise.all([log.advance('email_logs', 'id', 'not-a-uuid', 'bounced'), log.advance('email_logs', 'id', e.id, 'delivered')])
  await log.flush()
  t.equal((await db.select('email_logs', { where: { id: e.id } }))[0]?.status, 'delivered', 'the good move of the same batch is stored')
  t.same(at('error'), [], 'nothing rejected by the database (before: invalid input syntax for type uuid, the batch set aside)')
  t.notOk(calls.some(c => JSON.stringify(c).includes('not-a-uuid')), 'the odd id never reached the database')
})

t.test('status: a move is stamped (updated_at) on the test clock the settings hold, real time otherwise; a late move changes nothing', async t => {
  const { log, email, backend } = setup(t)
  const stampOf = async (id: string) => Date.parse(String((await db.select('email_logs', { where: { id } }))[0]?.updated_at))
  const setClock = (value: { frozen_at: number | null, offset_ms: number }) => log.writeSettings([{ key: 'clock', value: { ...value, mode: 'test' }, updated_by: 'test' }])
  t.teardown(() => setClock({ frozen_at: null, offset_ms: 0 }))

  const dayAhead = Date.parse('2030-01-15T10:00:00.000Z')
  const e = email({ status: 'sent', created_at: new Date(dayAhead).toISOString(), updated_at: new Date(dayAhead).toISOString() })
  await log.record('email_logs', e)
  await setClock({ frozen_at: dayAhead + 3_000, offset_ms: 0 })
  await log.advance('email_logs', 'id', e.id, 'delivered')
  t.equal(await stampOf(e.id), dayAhead + 3_000, 'frozen: the clock\'s instant, not real time (which is years before created_at)')
  await setClock({ frozen_at: dayAhead + 9_000, offset_ms: 0 })
  await log.advance('email_logs', 'id', e.id, 'processed')
  t.equal(await stampOf(e.id), dayAhead + 3_000, 'a late move moves nothing, its stamp included')

  // Another instance on the database follows the clock when it reads the settings (its poll).
  const other = createActivityLog({ backend, flushIntervalMs: 2, logger: recordingLogger().logger })
  t.teardown(() => other.close())
  await other.readSettings()
  await other.advance('email_logs', 'id', e.id, 'opened')
  t.equal(await stampOf(e.id), dayAhead + 9_000, 'another instance: the clock it read')

  await setClock({ frozen_at: null, offset_ms: 86_400_000 })
  const f = email({ status: 'sent' })
  await log.record('email_logs', f)
  await log.advance('email_logs', 'id', f.id, 'delivered')
  t.ok(Math.abs(await stampOf(f.id) - (Date.now() + 86_400_000)) < 60_000, 'running a day ahead: a day ahead')

  await setClock({ frozen_at: null, offset_ms: 0 })
  const g = email({ status: 'sent' })
  await log.record('email_logs', g)
  await log.advance('email_logs', 'id', g.id, 'bounced', { updated_at: '2026-12-06T10:00:00.000Z' })
  t.equal(await stampOf(g.id), Date.parse('2026-12-06T10:00:00.000Z'), 'a move that brings its own time keeps it')
  await log.advance('email_logs', 'id', e.id, 'clicked')
  t.ok(Math.abs(await stampOf(e.id) - Date.now()) < 60_000, 'real time again: now')
})

t.test('status: moves of one row waiting together are coalesced, moves of many rows grouped into one statement', async t => {
  const { log, calls, state, email, whatsapp } = setup(t)
  const rows = Array.from({ length: 30 }, () => email({ status: 'sent' }))
  await Promise.all(rows.map(r => log.record('email_logs', r)))
  const w = whatsapp({ status: 'submitted', provider_message_id: randomUUID() })
  await log.record('whatsapp_logs', w)
  calls.length = 0

  const held = gate()
  state.gate = held.promise
  const blocker = log.recordUpdate('email_logs', { id: rows[0]!.id }, { subject: 'in flight' })
  await new Promise(resolve => setImmediate(resolve))
  const moves = [
    ...rows.map(r => log.advance('email_logs', 'id', r.id, 'delivered')),
    ...rows.map(r => log.advance('email_logs', 'id', r.id, 'processed')), // changes nothing after delivered
    ...rows.map(r => log.advance('email_logs', 'id', r.id, 'opened')),
    log.advance('whatsapp_logs', 'provider_message_id', w.provider_message_id!, 'failed', { error: 'x' }),
    log.advance('whatsapp_logs', 'provider_message_id', w.provider_message_id!, 'read') // cannot fold into failed
  ]
  t.equal(log.pending, 1 + 30 + 2, 'one queue place per email row; two for the whatsapp row')
  held.open()
  state.gate = undefined
  await Promise.all([blocker, ...moves])
  t.same(calls.map(c => `${c.method} ${c.table} ${JSON.stringify(c.patch?.status)}`), [
    'update email_logs undefined',
    'update email_logs "opened"',
    'update whatsapp_logs "failed"',
    'update whatsapp_logs "read"'
  ], 'thirty rows moved by one statement')
  t.same(calls[1]!.where, { id: { in: rows.map(r => r.id) }, status: { in: ['queued', 'sent', 'processed', 'deferred', 'delivered'] } })
  t.same((await db.select('email_logs', { where: { id: { in: rows.map(r => r.id) } } })).map(r => r.status), rows.map(() => 'opened'))
  t.equal((await db.select('whatsapp_logs', { where: { id: w.id } }))[0]?.status, 'failed')
})

t.test('status: a plain update keeps the moves queued before it in front of it', async t => {
  const { log, calls, state, email } = setup(t)
  const e = email({ status: 'sent' })
  await log.record('email_logs', e)
  calls.length = 0
  const held = gate()
  state.gate = held.promise
  const writes = [
    log.recordUpdate('email_logs', { id: e.id }, { subject: 'first' }),
    log.advance('email_logs', 'id', e.id, 'delivered'),
    log.recordUpdate('email_logs', { id: e.id }, { status: 'sent' }),
    log.advance('email_logs', 'id', e.id, 'opened')
  ]
  held.open()
  state.gate = undefined
  await Promise.all(writes)
  t.equal(calls.length, 4, 'the second move was not folded across the update')
  t.equal((await db.select('email_logs', { where: { id: e.id } }))[0]?.status, 'opened')
})

t.test('group commit: the inserts of concurrent requests go together past the patches each made of its own row', async t => {
  const { log, calls, state, email, requestId } = setup(t, { flushIntervalMs: 0 })
  const held = gate()
  state.gate = held.promise
  const blocker = log.record('email_logs', email())
  await new Promise(resolve => setImmediate(resolve))
  calls.length = 0
  const rows = Array.from({ length: 5 }, () => email())
  const writes = rows.flatMap(r => [log.record('email_logs', r), log.recordUpdate('email_logs', { id: r.id }, { subject: `patched ${r.id}` })])
  held.open()
  state.gate = undefined
  await Promise.all([blocker, ...writes])
  t.same(calls.map(c => `${c.method} ${c.rows?.length ?? ''}`.trim()), ['insert 1', 'insert 5', 'update', 'update', 'update', 'update', 'update'])
  const stored = await db.select('email_logs', { where: { request_id: requestId } })
  t.equal(stored.length, 6)
  t.ok(rows.every(r => stored.find(x => x.id === r.id)?.subject === `patched ${r.id}`), 'every patch applied after its insert')
})

t.test('a backend with updateEach: status moves with their own values, and patches by id, one statement per shape', async t => {
  const { log, calls, state, email, whatsapp, requestId } = setup(t, { flushIntervalMs: 0 }, true)
  if (db.updateEach === undefined) return t.pass('this backend has no updateEach')
  const rows = Array.from({ length: 6 }, () => email())
  const w = whatsapp()
  await Promise.all([...rows.map(r => log.record('email_logs', r)), log.record('whatsapp_logs', w)])
  calls.length = 0
  const held = gate()
  state.gate = held.promise
  const blocker = log.recordUpdate('email_logs', { request_id: requestId, status: 'nothing' }, { subject: 'none' })
  await new Promise(resolve => setImmediate(resolve))
  calls.length = 0
  const at = (i: number) => `2026-12-06T10:00:0${i}.000Z`
  const writes = [
    // Each its own timestamp, two statuses, two tables: one statement per table and column set.
    ...rows.slice(0, 4).map((r, i) => log.advance('email_logs', 'id', r.id, i % 2 ? 'delivered' : 'processed', { updated_at: at(i) })),
    log.advance('whatsapp_logs', 'id', w.id, 'delivered', { updated_at: at(5) }),
    log.advance('email_logs', 'id', rows[4]!.id, 'bounced', { updated_at: at(6), error: 'mailbox full' })
  ]
  await new Promise(resolve => setImmediate(resolve))
  const patches = rows.map((r, i) => log.recordUpdate('email_logs', { id: r.id }, { latency_ms: i }))
  held.open()
  state.gate = undefined
  await Promise.all([blocker, ...writes, ...patches])
  t.same(calls.map(c => `${c.method} ${c.table} ${c.rows?.length ?? ''}`.trim()).sort(), [
    'update email_logs',
    'updateEach email_logs 1',
    'updateEach email_logs 4',
    'updateEach email_logs 6',
    'updateEach whatsapp_logs 1'
  ])
  const stored = new Map((await db.select('email_logs', { where: { request_id: requestId } })).map(r => [r.id, r]))
  t.match(stored.get(rows[0]!.id), { status: 'processed', updated_at: '2026-12-06T10:00:00+00:00', latency_ms: 0 })
  t.match(stored.get(rows[1]!.id), { status: 'delivered', updated_at: '2026-12-06T10:00:01+00:00', latency_ms: 1 })
  t.match(stored.get(rows[4]!.id), { status: 'bounced', error: 'mailbox full', latency_ms: 4 })
  t.match(stored.get(rows[5]!.id), { status: 'queued', latency_ms: 5 })
  t.match((await db.select('whatsapp_logs', { where: { id: w.id } }))[0], { status: 'delivered' })

  // The rule still holds per row: a move back is refused in the same statement as a move forward.
  calls.length = 0
  await Promise.all([log.advance('email_logs', 'id', rows[1]!.id, 'processed', { updated_at: at(7) }), log.advance('email_logs', 'id', rows[2]!.id, 'delivered', { updated_at: at(8) })])
  const after = new Map((await db.select('email_logs', { where: { request_id: requestId } })).map(r => [r.id, r]))
  t.match(after.get(rows[1]!.id), { status: 'delivered', updated_at: '2026-12-06T10:00:01+00:00' }, 'delivered does not go back to processed')
  t.match(after.get(rows[2]!.id), { status: 'delivered', updated_at: '2026-12-06T10:00:08+00:00' })
})

t.test('ping and settings go straight to the database', async t => {
  const { log, state } = setup(t)
  await log.ping()
  const key = `test.${randomUUID()}`
  await log.writeSettings([{ key, value: { a: 1 }, updated_by: 'test' }], [{ id: randomUUID(), key, to_value: { a: 1 }, changed_by: 'test' }])
  t.same((await log.readSettings()).find(r => r.key === key)?.value, { a: 1 })
  state.down = true
  await t.rejects(log.ping(), /ECONNREFUSED/)
  state.down = false
})

t.test('reads see the caller\'s own writes', async t => {
  const { log, email, requestId } = setup(t, { flushIntervalMs: 10_000 })
  const row = email({ status: 'sent' })
  log.record('email_logs', row)
  log.recordUpdate('email_logs', { id: row.id }, { status: 'delivered' })
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
  state.down = true
  void log.record('email_logs', email())
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
  const withoutId: Omit<EmailLogRow, 'id'> = { request_id: requestId, mode: 'mock', to_email: 'b@example.com', status: 'no id' }
  log.record('email_logs', withoutId)
  await log.flush()
  t.same((await db.select('email_logs', { where: { request_id: requestId }, orderBy: { column: 'status' } })).map(r => r.status), ['first', 'no id'])
  t.notOk('id' in withoutId)
})
