/**
 * The one behaviour every backend has. Run by pglite.test.ts, postgres.test.ts and (against a real
 * project) supabase.test.ts. Every row carries this run's request_id, so the suite also runs on
 * a shared database and cleans up after itself.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import { isPermanentError, type Backend, type Row } from '../src/index.ts'

export interface ContractTarget {
  backend: Backend
  /** Runs DDL on the backend's database (absent for Supabase, where a test cannot define functions). */
  sql?: (text: string) => Promise<void>
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00:00$/

export function backendContract (t: Test, makeBackend: () => Promise<ContractTarget>): void {
  const run = `contract-${randomUUID()}`
  const settingsKeys: string[] = []
  let target: ContractTarget
  let db: Backend

  t.before(async () => {
    target = await makeBackend()
    db = target.backend
    // Registered after makeBackend's own teardowns, so it runs before them (last in, first out).
    t.teardown(async () => {
      for (const table of ['email_logs', 'whatsapp_logs', 'payments', 'call_logs'] as const) {
        await db.delete(table, { request_id: run })
      }
      if (settingsKeys.length > 0) await db.delete('settings', { key: { in: settingsKeys } })
    })
  })

  const email = (over: Row = {}): Row => ({ id: randomUUID(), request_id: run, mode: 'mock', to_email: 'a@example.com', status: 'queued', ...over })
  const key = (name: string) => {
    const k = `${run}.${name}`
    settingsKeys.push(k)
    return k
  }

  t.test('insert: many rows in one call, skipping ids that exist', async t => {
    const batch = `${run}-insert`
    const rows = [email({ subject: 'one', error: batch }), email({ error: batch }), email({ error: batch, latency_ms: 12 })]
    await db.insert('email_logs', rows)
    t.equal(await db.count('email_logs', { error: batch }), 3)

    // Same ids again (a retried batch) plus one new row: only the new row lands, old ones unchanged.
    await db.insert('email_logs', [{ ...rows[0], status: 'changed' }, { ...rows[1], status: 'changed' }, email({ error: batch })])
    t.equal(await db.count('email_logs', { error: batch }), 4)
    t.equal(await db.count('email_logs', { error: batch, status: 'changed' }), 0)

    // Columns a row leaves out get their defaults, even when other rows in the batch set them.
    const [first] = await db.select('email_logs', { where: { id: rows[1]!.id as string } })
    t.equal(first?.fallback, false)
    t.equal(first?.subject, null)
    t.match(first?.created_at, ISO_UTC)

    await db.insert('email_logs', [])
  })

  t.test('upsert: insert or replace by the conflict columns', async t => {
    const k1 = key('upsert1')
    const k2 = key('upsert2')
    await db.upsert('settings', [{ key: k1, value: { latencyMs: [300, 1300] }, updated_by: 'test' }], ['key'])
    await db.upsert('settings', [{ key: k1, value: 'live', updated_by: 'again' }, { key: k2, value: 'mock' }], ['key'])
    const rows = await db.select('settings', { where: { key: { in: [k1, k2] } }, orderBy: { column: 'key' } })
    t.same(rows.map(r => [r.key, r.value, r.updated_by]), [[k1, 'live', 'again'], [k2, 'mock', null]])
  })

  t.test('update: every operator, returning how many rows changed', async t => {
    const batch = `${run}-update`
    await db.insert('email_logs', [10, 20, 30, 40, 50].map(latency_ms => email({ error: batch, latency_ms })))
    const mark = async (where: Record<string, unknown>, status: string) =>
      db.update('email_logs', { error: batch, ...where } as never, { status })

    t.equal(await mark({ latency_ms: { gte: 30 } }, 'gte'), 3)
    t.equal(await mark({ latency_ms: { lte: 20 } }, 'lte'), 2)
    t.equal(await mark({ latency_ms: { gt: 40 } }, 'gt'), 1)
    t.equal(await mark({ latency_ms: { lt: 20 } }, 'lt'), 1)
    t.equal(await mark({ latency_ms: { neq: 30 } }, 'neq'), 4)
    t.equal(await mark({ latency_ms: { in: [10, 50] } }, 'in'), 2)
    t.equal(await mark({ latency_ms: { in: [] } }, 'none'), 0)
    t.equal(await mark({ latency_ms: 30 }, 'eq'), 1)
    t.equal(await mark({ provider_message_id: null, fallback: false }, 'null'), 5)
    t.equal(await mark({ status: 'null', latency_ms: { gte: 10 } }, 'last'), 5)
    t.equal(await mark({ latency_ms: 999 }, 'nothing'), 0)
    t.equal(await db.update('email_logs', { error: batch }, {}), 0, 'an empty patch changes nothing')
    t.equal(await db.count('email_logs', { error: batch, status: 'last' }), 5)

    await t.rejects(db.update('email_logs', { 'bad-name': 1 } as never, { status: 'x' }), 'column names are checked')
  })

  type UpdateEach = NonNullable<Backend['updateEach']>
  const updateEachChecks = async (t: Test, each: UpdateEach, label: string) => {
    const batch = `${run}-each-${label}`
    const rows = ['queued', 'queued', 'delivered', 'queued'].map(status => email({ error: batch, status }))
    await db.insert('email_logs', rows)
    const insertedAt = new Map((await db.select('email_logs', { where: { error: batch } })).map(r => [r.id, Date.parse(String(r.changed_at))]))
    // The moves below happen on a later millisecond than the inserts (PGlite's clock has milliseconds).
    while (Date.now() <= Math.max(...insertedAt.values()) + 1) await new Promise(resolve => setImmediate(resolve))
    const at = (s: number) => `2026-12-06T10:00:0${s}.000Z`
    const changed = await each('email_logs', 'id', [
      { id: rows[0]!.id, status: 'delivered', updated_at: at(1), latency_ms: 11 },
      { id: rows[1]!.id, status: 'sent', updated_at: at(2), latency_ms: 12 },
      { id: rows[2]!.id, status: 'sent', updated_at: at(3), latency_ms: 13 }, // delivered is past sent: stays
      { id: randomUUID(), status: 'sent', updated_at: at(4), latency_ms: 14 } // no such row
    ], { delivered: ['queued', 'sent'], sent: ['queued'] })
    t.equal(changed, 2)
    const byId = new Map((await db.select('email_logs', { where: { error: batch } })).map(r => [r.id, r]))
    t.match(byId.get(rows[0]!.id), { status: 'delivered', latency_ms: 11, updated_at: '2026-12-06T10:00:01+00:00' })
    t.match(byId.get(rows[1]!.id), { status: 'sent', latency_ms: 12, updated_at: '2026-12-06T10:00:02+00:00' })
    t.match(byId.get(rows[2]!.id), { status: 'delivered', latency_ms: null })
    t.match(byId.get(rows[3]!.id), { status: 'queued', latency_ms: null }, 'a row no move names is untouched')
    // changed_at, the live stream's cursor in real time (not the updated_at the move carries), moved
    // with each row that moved: set by the statement, or by the trigger for a writer that does not.
    const changedAt = (id: unknown) => Date.parse(String(byId.get(id)!.changed_at))
    t.ok(changedAt(rows[0]!.id) > insertedAt.get(rows[0]!.id)!, 'a moved row\'s changed_at is now, whatever updated_at the move carries')
    t.equal(changedAt(rows[3]!.id), insertedAt.get(rows[3]!.id), 'an untouched row\'s is as it was')
    await t.rejects(each('email_logs', 'id', [{ id: rows[3]!.id, status: 'sent', 'bad-name': 1 }], { sent: ['queued'] }), 'column names are checked')
    // Without a status rule: patches of rows by id, whatever their status.
    t.equal(await each('email_logs', 'id', [{ id: rows[2]!.id, latency_ms: 21 }, { id: rows[3]!.id, latency_ms: 22 }]), 2)
    const patched = new Map((await db.select('email_logs', { where: { error: batch } })).map(r => [r.id, r]))
    t.match(patched.get(rows[2]!.id), { status: 'delivered', latency_ms: 21 })
    t.match(patched.get(rows[3]!.id), { status: 'queued', latency_ms: 22 })
  }

  t.test('updateEach (where a backend has it): many rows, each its own status and values, each by its own rule', async t => {
    if (db.updateEach === undefined) return t.pass('not offered: the activity log writes one update per patch')
    await updateEachChecks(t, db.updateEach.bind(db), 'backend')
  })

  // The same statement as a SQL function, for a backend that can only call functions (Supabase's
  // updateEach calls it): checked here on every backend, so it is proven where Supabase is not at hand.
  t.test('activity_update_each: the same, through rpc', async t => {
    await updateEachChecks(t, (table, key, moves, from) => db.rpc<number>('activity_update_each', { p_table: table, p_key: key, p_rows: moves, p_from: from ?? null }), 'rpc')
    await t.rejects(db.rpc('activity_update_each', { p_table: 'no_such_table', p_key: 'id', p_rows: [{ id: 'x', status: 'sent' }], p_from: null }), 'an unknown table is an error')
  })

  t.test('select: where, order, limit, offset', async t => {
    const batch = `${run}-select`
    await db.insert('email_logs', [30, 10, 50, 20, 40].map(latency_ms => email({ error: batch, latency_ms })))
    const latencies = async (query: Parameters<Backend['select']>[1]) =>
      (await db.select('email_logs', { ...query, where: { error: batch, ...query?.where } })).map(r => r.latency_ms)

    t.same(await latencies({ orderBy: { column: 'latency_ms' } }), [10, 20, 30, 40, 50])
    t.same(await latencies({ orderBy: { column: 'latency_ms', ascending: false }, limit: 2 }), [50, 40])
    t.same(await latencies({ orderBy: { column: 'latency_ms', ascending: false }, limit: 2, offset: 1 }), [40, 30])
    t.same(await latencies({ orderBy: { column: 'latency_ms' }, offset: 3 }), [40, 50])
    t.same(await latencies({ orderBy: { column: 'latency_ms' }, where: { latency_ms: { gt: 15 } } }), [20, 30, 40, 50])
    t.same(await latencies({ limit: 0 }), [])
    t.same(await db.select('email_logs', { where: { error: `${batch}-nothing` } }), [])
  })

  t.test('count and delete', async t => {
    const batch = `${run}-delete`
    const rows = [1, 2, 3, 4].map(latency_ms => email({ error: batch, latency_ms }))
    await db.insert('email_logs', rows)
    t.equal(await db.count('email_logs', { error: batch }), 4)
    t.equal(await db.count('email_logs', { error: batch, latency_ms: { gte: 3 } }), 2)
    t.equal(await db.delete('email_logs', { id: { in: [rows[0]!.id as string, rows[1]!.id as string] } }), 2)
    t.equal(await db.count('email_logs', { error: batch }), 2)
    t.equal(await db.delete('email_logs', { error: batch }), 2)
    t.equal(await db.count('email_logs', { error: batch }), 0)
  })

  t.test('rpc: calls a SQL function with named arguments, returns its JSON', async t => {
    // A function the migrations define (so a real Supabase project has it too).
    t.match(await db.rpc('email_stats'), { total: Number, by_status: Object })
    await t.rejects(db.rpc('contract_missing_fn', { a: 1 }), 'an unknown function is an error')
    if (target.sql === undefined) return
    await target.sql(`CREATE OR REPLACE FUNCTION contract_echo(a integer, b jsonb) RETURNS jsonb
      LANGUAGE sql AS $$ SELECT jsonb_build_object('next', a + 1, 'b', b) $$`)
    t.same(await db.rpc('contract_echo', { a: 41, b: { x: [1, 'two'] } }), { next: 42, b: { x: [1, 'two'] } })
  })

  t.test('jsonb: JS values in, the same values out', async t => {
    const params = ['Asha', 42, { nested: [true, null, 'x'] }]
    const id = randomUUID()
    await db.insert('whatsapp_logs', [{ id, request_id: run, mode: 'mock', to_number: '+910000000000', template_name: 'otp', params, status: 'sent' }])
    t.same((await db.select('whatsapp_logs', { where: { id } }))[0]?.params, params)
    await db.update('whatsapp_logs', { id }, { params: [] })
    t.same((await db.select('whatsapp_logs', { where: { id } }))[0]?.params, [])

    for (const value of ['mock', 7, true, [1, 2], { latencyMs: [300, 1300], failureRate: 0.1 }]) {
      const k = key(`json-${typeof value}-${Array.isArray(value)}`)
      await db.upsert('settings', [{ key: k, value }], ['key'])
      t.same((await db.select('settings', { where: { key: k } }))[0]?.value, value, JSON.stringify(value))
    }
  })

  t.test('NUL characters: stored as U+FFFD in text and jsonb, and a filter with one matches nothing', async t => {
    const id = randomUUID()
    await db.insert('whatsapp_logs', [{ id, request_id: run, mode: 'mock', to_number: '+91\u0000', template_name: 'a\u0000b', params: ['x\u0000', { 'k\u0000': 'v\u0000' }], status: 'sent' }])
    const [row] = await db.select('whatsapp_logs', { where: { id } })
    t.equal(row?.template_name, 'a\uFFFDb')
    t.same(row?.params, ['x\uFFFD', { 'k\uFFFD': 'v\uFFFD' }])
    await db.update('whatsapp_logs', { id }, { error: 'e\u0000' })
    t.equal((await db.select('whatsapp_logs', { where: { id } }))[0]?.error, 'e\uFFFD')
    t.equal(await db.count('whatsapp_logs', { request_id: 'no\u0000such' }), 0)
    t.same(await db.select('whatsapp_logs', { where: { status: { in: ['\u0000'] } } }), [])
    await db.upsert('settings', [{ key: key('nul'), value: { text: '\u0000' } }], ['key'])
  })

  t.test('lone surrogates: stored as U+FFFD in text and jsonb, in a batch with well-formed rows', async t => {
    const [id, other] = [randomUUID(), randomUUID()]
    await db.insert('whatsapp_logs', [
      { id, request_id: run, mode: 'mock', to_number: '+91', template_name: 'a\ud800b', params: ['\udfff', { '\ud83d': 'x\ud83d\ude00' }], status: 'sent' },
      { id: other, request_id: run, mode: 'mock', to_number: '+91', template_name: 'plain', status: 'sent' }
    ])
    const [row] = await db.select('whatsapp_logs', { where: { id } })
    t.equal(row?.template_name, 'a\uFFFDb')
    t.same(row?.params, ['\uFFFD', { '\uFFFD': 'x\ud83d\ude00' }], 'a whole pair is kept')
    t.equal((await db.select('whatsapp_logs', { where: { id: other } }))[0]?.template_name, 'plain')
  })

  t.test('numeric: exact decimal strings', async t => {
    const rows = ['100.50', '0.10', '9999999999.99'].map(amount => ({ id: randomUUID(), request_id: run, mode: 'mock', amount, purpose: 'test', status: 'pending' }))
    await db.insert('payments', [...rows, { id: randomUUID(), request_id: run, mode: 'live', amount: 12.3, fees: '0.5', purpose: 'n', status: 'paid' }])
    const got = await db.select('payments', { where: { request_id: run }, orderBy: { column: 'amount' } })
    t.same(got.map(r => r.amount), ['0.10', '12.30', '100.50', '9999999999.99'])
    t.same(got.map(r => r.fees), [null, '0.50', null, null])
    t.equal(await db.count('payments', { request_id: run, amount: { gte: '100.5' } }), 2)

    const call = { id: randomUUID(), request_id: run, mode: 'mock', to_number: '1', status: 'completed', cost: '0.1235', duration_seconds: 61.5 }
    await db.insert('call_logs', [call])
    const [stored] = await db.select('call_logs', { where: { id: call.id } })
    t.equal(stored?.cost, '0.1235')
    t.equal(stored?.duration_seconds, '61.50')
  })

  t.test('timestamptz: ISO-8601 strings in UTC', async t => {
    const before = Date.now()
    const given = email({ created_at: '2026-01-02T03:04:05.123456+05:30', updated_at: new Date('2026-01-01T00:00:00.250Z') })
    const defaulted = email()
    await db.insert('email_logs', [given, defaulted])
    const [a] = await db.select('email_logs', { where: { id: given.id as string } })
    t.equal(a?.created_at, '2026-01-01T21:34:05.123456+00:00')
    t.equal(a?.updated_at, '2026-01-01T00:00:00.25+00:00')
    const [b] = await db.select('email_logs', { where: { id: defaulted.id as string } })
    t.match(b?.created_at, ISO_UTC)
    t.ok(Math.abs(Date.parse(b?.created_at as string) - before) < 60_000, 'now(), as an instant')

    // A timestamp read back is a bound that compares exactly like the stored value.
    t.equal(await db.count('email_logs', { id: given.id as string, created_at: { gte: a?.created_at as string } }), 1)
    t.equal(await db.count('email_logs', { id: given.id as string, created_at: { gt: a?.created_at as string } }), 0)
  })

  t.test('errors: the database code is kept, bad data is not retryable', async t => {
    const invalid = await db.insert('email_logs', [email({ mode: 'bogus' })]).then(() => undefined, (err: unknown) => err)
    t.equal((invalid as { code?: string })?.code, '23514', 'check constraint')
    t.ok(isPermanentError(invalid))
    const unknown = await db.insert('email_logs', [email({ no_such_column: 1 })]).then(() => undefined, (err: unknown) => err)
    t.ok(isPermanentError(unknown), `unknown column: ${(unknown as { code?: string })?.code}`)
    // A value its index cannot hold (8 KB of random text in an indexed column): the same refusal on
    // every retry. Retried, it held every write queued behind it, for good.
    const huge = randomBytes(6000).toString('base64')
    const tooLarge = await db.insert('email_logs', [email({ request_id: huge })]).then(() => undefined, (err: unknown) => err)
    t.equal((tooLarge as { code?: string })?.code, '54000', 'index row size exceeds the maximum')
    t.ok(isPermanentError(tooLarge))
  })

  t.test('events: a status move fans out to the enabled endpoints, once, in the same statement; no trigger without an endpoint', async t => {
    type Endpoint = { id: string, url: string, types: string[], enabled: boolean, secret?: unknown }
    type Delivery = { event_id: string, type: string, endpoint_id: string, status: string, data: Row }
    const triggersOn = async () => (await db.rpc<boolean>('sync_event_triggers'))
    const deliveries = async (endpoint: string) => db.rpc<Delivery[]>('list_event_deliveries', { p_endpoint: endpoint, p_limit: 100 })
    const all = await db.rpc<Endpoint[]>('list_event_endpoints')
    // On a shared database someone else's endpoint may keep the triggers; the "none" half needs a database of our own.
    const alone = all.length === 0
    if (alone) t.equal(await triggersOn(), false, 'no endpoint: no trigger')

    const created = await db.rpc<Endpoint>('create_event_endpoint', { p_url: 'http://127.0.0.1:9/contract', p_secret: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0', p_types: ['email.delivered', 'payment.paid'], p_description: run, p_enabled: true })
    const other = await db.rpc<Endpoint>('create_event_endpoint', { p_url: 'http://127.0.0.1:9/other', p_secret: 'whsec_b3RoZXJvdGhlcm90aGVyb3RoZXI=', p_types: [], p_description: run, p_enabled: false })
    t.teardown(async () => {
      await db.rpc('delete_event_endpoint', { p_id: created.id })
      await db.rpc('delete_event_endpoint', { p_id: other.id })
    })
    t.same(created.types, ['email.delivered', 'payment.paid'])
    t.notOk('secret' in created, 'no answer carries the secret')
    t.notOk(JSON.stringify(await db.rpc('list_event_endpoints')).includes('whsec_'), 'the list carries no secret')
    t.equal(await triggersOn(), true)

    const a = email({ status: 'sent' })
    const b = email({ status: 'sent' })
    await db.insert('email_logs', [a, b])
    // One statement moves both rows; a repeat (late webhook) moves nothing and emits nothing.
    await db.update('email_logs', { id: { in: [a.id as string, b.id as string] }, status: { in: ['sent', 'processed'] } }, { status: 'delivered' })
    await db.update('email_logs', { id: a.id as string, status: { in: ['sent', 'processed'] } }, { status: 'delivered' })
    // Not an outcome (processed), and a type the endpoint does not want (opened): nothing.
    await db.update('email_logs', { id: b.id as string }, { status: 'opened' })
    const got = await deliveries(created.id)
    t.equal(got.length, 2, 'one per moved row, for the enabled endpoint only')
    t.same(got.map(d => d.type), ['email.delivered', 'email.delivered'])
    t.same(new Set(got.map(d => d.data.id)), new Set([a.id, b.id]))
    t.match(got[0], { status: 'pending', endpoint_id: created.id, event_id: /^msg_[0-9a-f]{32}$/ })
    t.equal((await deliveries(other.id)).length, 0, 'a disabled endpoint gets nothing')

    // Zoom's way in: events from application code.
    t.equal(await db.rpc<number>('fan_out_events', { p_events: [{ type: 'payment.paid', timestamp: '2026-01-01T00:00:00Z', data: { id: run } }, { type: 'meeting.ended', data: {} }] }), 1)

    // Enabling the second endpoint (every type) and moving a row gives both endpoints a copy with one event id.
    await db.rpc('update_event_endpoint', { p_id: other.id, p_url: null, p_types: null, p_description: null, p_enabled: true })
    await db.update('email_logs', { id: a.id as string }, { status: 'bounced' })
    const bounced = await deliveries(other.id)
    t.same(bounced.map(d => d.type), ['email.bounced'])

    // The body: the row as the journal shows it (numeric columns exact decimal strings, not JSON
    // numbers), dated at the row's updated_at (which the activity log stamps on the emulators'
    // clock), not at the database's now().
    const onTheClock = '2030-01-15T10:00:00.5+00:00'
    const link = { id: randomUUID(), request_id: run, mode: 'mock', amount: '1499.10', purpose: 'Annual plan', status: 'pending' }
    const call = { id: randomUUID(), request_id: run, mode: 'mock', to_number: '+919845000002', status: 'in-progress' }
    await db.insert('payments', [link])
    await db.insert('call_logs', [call])
    await db.update('payments', { id: link.id, status: { in: ['pending', 'failed'] } }, { status: 'paid', fees: '28.48', updated_at: onTheClock })
    await db.update('call_logs', { id: call.id }, { status: 'completed', cost: '0.1200', duration_seconds: '42.5', updated_at: onTheClock })
    const body = async (id: string) => {
      const rows = await db.select('webhook_outbox', { where: { source: 'events', url: 'http://127.0.0.1:9/other' } })
      return rows.map(r => JSON.parse(String(r.body)) as { type: string, timestamp: string, data: Row }).find(e => e.data.id === id)
    }
    t.match(await body(link.id), { type: 'payment.paid', timestamp: onTheClock, data: { amount: '1499.10', fees: '28.48', status: 'paid', updated_at: onTheClock } }, 'payment.paid: amounts as the journal shows them, at the row\'s updated_at')
    t.match(await body(call.id), { type: 'call.completed', timestamp: onTheClock, data: { cost: '0.1200', duration_seconds: '42.50' } }, 'call.completed: the same')
    const failed = { id: randomUUID(), request_id: run, mode: 'mock', amount: '10.00', purpose: 'Refused', status: 'failed', updated_at: onTheClock }
    await db.insert('payments', [failed])
    t.match(await body(failed.id), { type: 'payment.failed', timestamp: onTheClock, data: { amount: '10.00', fees: null } }, 'a row written at its outcome: the same, at its own stamp')

    // Deleting an endpoint takes its undelivered deliveries with it; without endpoints the triggers go.
    t.equal(await db.rpc<boolean>('delete_event_endpoint', { p_id: other.id }), true)
    t.equal((await deliveries(other.id)).length, 0)
    t.equal(await db.rpc<boolean>('delete_event_endpoint', { p_id: created.id }), true)
    t.equal(await db.rpc<boolean>('delete_event_endpoint', { p_id: created.id }), false)
    if (alone) {
      t.equal(await triggersOn(), false, 'last endpoint gone: triggers gone')
      await db.update('email_logs', { id: b.id as string }, { status: 'clicked' })
      t.equal(await db.count('webhook_outbox', { source: 'events' }), 0, 'nothing emitted without an endpoint')
    }
  })

  t.test('activity_outcome: a bounce, a decline or a busy line is a business outcome, not an error', async t => {
    const cases: Array<[string, string, boolean, string]> = [
      ['email', 'delivered', true, 'ok'], ['email', 'failed', false, 'error'], ['email', 'bounced', true, 'bounced'], ['email', 'dropped', true, 'dropped'],
      ['whatsapp', 'read', true, 'ok'], ['whatsapp', 'failed', false, 'error'], ['whatsapp', 'failed', true, 'undelivered'],
      ['payments', 'paid', true, 'ok'], ['payments', 'failed', false, 'error'], ['payments', 'failed', true, 'declined'],
      ['voice', 'completed', true, 'ok'], ['voice', 'busy', true, 'busy'], ['voice', 'no-answer', true, 'no-answer'], ['voice', 'failed', true, 'unreachable'],
      ['voice', 'failed', false, 'error'], ['voice', 'error', true, 'error'], ['voice', 'balance-low', false, 'error']
    ]
    for (const [service, status, accepted, expected] of cases) {
      t.equal(await db.rpc('activity_outcome', { p_service: service, p_status: status, p_accepted: accepted }), expected, `${service} ${status}${accepted ? ' (accepted)' : ''}`)
    }
    t.match(await db.rpc('activity_stats', { p_minutes: 60 }), Object, 'the admin stats answer on this backend')
  })

  t.test('Zoom in the stats: its API calls and errors, meetings created, started, ended, recorded', async t => {
    type ZoomStats = { total: number, errors: number, meetings: { created: number, started: number, ended: number, recordings: number } }
    const zoom = async () => ((await db.rpc<Record<string, ZoomStats>>('activity_stats', { p_minutes: 60 })).zoom ?? { total: 0, errors: 0, meetings: { created: 0, started: 0, ended: 0, recordings: 0 } })
    const before = await zoom()
    const x = (over: Row): Row => ({ id: randomUUID(), channel: 'zoom', kind: 'provider', method: 'GET', path: '/zoom/v2/meetings/1', status_code: 200, refs: [run], ...over })
    const rows = [
      x({ method: 'POST', path: '/zoom/v2/users/me/meetings', status_code: 201 }),
      x({ status_code: 404 }),
      x({ kind: 'webhook', method: 'POST', path: '/webhooks/zoom', event: 'meeting.started', verification: { ok: true, status_code: 200 } }),
      x({ kind: 'webhook', method: 'POST', path: '/webhooks/zoom', event: 'meeting.ended', verification: { ok: false, status_code: 401 } }),
      x({ kind: 'webhook', method: 'POST', path: '/webhooks/zoom', event: 'recording.completed', verification: { ok: true, status_code: 200 } })
    ]
    t.teardown(async () => { await db.delete('activity_exchanges', { id: { in: rows.map(r => r.id as string) } }) })
    await db.insert('activity_exchanges', rows)
    const after = await zoom()
    t.equal(after.total - before.total, 2, 'each API request is a call; webhooks are not')
    t.equal(after.errors - before.errors, 1, 'a 404 is an error')
    t.same({
      created: after.meetings.created - before.meetings.created,
      started: after.meetings.started - before.meetings.started,
      ended: after.meetings.ended - before.meetings.ended,
      recordings: after.meetings.recordings - before.meetings.recordings
    }, { created: 1, started: 1, ended: 0, recordings: 1 }, 'a webhook whose signature was refused is not counted')
  })

  t.test('activity_exchanges: stored with the row, found by its ids, its content and its recipient', async t => {
    const row = email({ to_email: `${run}@example.com`, subject: 'Receipt', status: 'sent', provider_message_id: `pm-${run}` })
    const exchange = {
      id: randomUUID(),
      channel: 'email',
      kind: 'provider',
      method: 'POST',
      path: '/sendgrid/v3/mail/send',
      status_code: 202,
      refs: [row.id, `pm-${run}`],
      contacts: [`${run}@example.com`],
      summary: 'POST /v3/mail/send',
      request: { headers: { authorization: 'Bearer [REDACTED]' }, body: { subject: 'Receipt' } },
      response: { headers: { 'x-message-id': `pm-${run}` }, body: '' },
      content: { kind: 'email', subject: 'Receipt', text: `Order ${run} shipped` }
    }
    const direct = { ...exchange, id: randomUUID(), direct: true, refs: [], contacts: [`${run}-direct@example.com`], content: { kind: 'email', subject: `Direct ${run}` } }
    t.teardown(async () => { await db.delete('activity_exchanges', { id: { in: [exchange.id, direct.id] } }) })
    await db.insert('email_logs', [row])
    await db.insert('activity_exchanges', [exchange, direct])

    const tied = await db.rpc<Array<Record<string, unknown>>>('activity_exchanges_for', { p_refs: [row.id] })
    t.same(tied.map(e => e.id), [exchange.id], 'tied to the row by its id')
    t.same(tied[0]?.request, exchange.request, 'headers and body as stored')
    t.same(tied[0]?.refs, exchange.refs)

    const byContent = await db.rpc<Array<Record<string, unknown>>>('activity_page', { p_q: `Order ${run}` })
    t.same(byContent.map(i => [i.channel, i.id, i.direct]), [['email', row.id, false]], 'text search reaches the stored content')
    const byDirect = await db.rpc<Array<Record<string, unknown>>>('activity_page', { p_q: `Direct ${run}`, p_direct: true })
    t.same(byDirect.map(i => [i.id, i.direct, i.status]), [[direct.id, true, '202']], 'direct traffic is an item of its own')

    const messages = await db.rpc<Array<{ exchange: Record<string, unknown>, row: Record<string, unknown> | null }>>('activity_messages', { p_channel: 'email', p_to: `${run.toUpperCase()}@EXAMPLE.COM`, p_limit: 5 })
    t.equal(messages.length, 1)
    t.same(messages[0]?.exchange.content, exchange.content)
    t.equal(messages[0]?.row?.id, row.id, 'with the log row it belongs to')
    // The text as it was sent, not as JSON spells it: a quote or a backslash in the content is
    // found as itself, and the JSON's own syntax and field names match nothing.
    const quoted = { ...exchange, id: randomUUID(), content: { kind: 'email', text: `He said "yes" at C:\\temp ${run}` } }
    t.teardown(async () => { await db.delete('activity_exchanges', { id: quoted.id }) })
    await db.insert('activity_exchanges', [quoted])
    for (const q of [`said "yes" at C:\\temp ${run}`, '"yes"']) {
      const found = await db.rpc<Array<Record<string, unknown>>>('activity_page', { p_q: q, p_limit: 1000 })
      t.ok(found.some(i => i.id === row.id), `found by ${q}`)
    }
    for (const q of ['"text"', '": "', 'subject']) {
      const found = await db.rpc<Array<Record<string, unknown>>>('activity_page', { p_q: q, p_limit: 1000 })
      t.notOk(found.some(i => i.id === row.id), `not found by ${q}, which only its JSON has`)
    }
  })

  t.test('activity_stream_changes: the live stream\'s changes in real time, whatever the rows\' clock says', async t => {
    type Cursor = { at: string, key: string | null }
    type Changes = { cursor: Cursor, items: Array<Record<string, unknown>> }
    const mine = new Set<unknown>()
    const changes = async (after: Cursor, limit = 1000, overlapMs = 5000) => {
      const got = await db.rpc<Changes>('activity_stream_changes', { p_after: after.at, p_after_key: after.key, p_channel: 'email', p_limit: limit, p_overlap_ms: overlapMs })
      return { cursor: got.cursor, items: got.items.filter(i => mine.has(i.id)) }
    }
    const start = (await db.rpc<Changes>('activity_stream_changes', { p_after: null })).cursor
    t.same(start.key, null)
    t.ok(Math.abs(Date.parse(start.at) - Date.now()) < 60_000, 'without p_after: the database\'s time now, the first cursor')

    // A row of a data set's history (or of a test clock set back): created and moved a week ago.
    const weekAgo = new Date(Date.now() - 7 * 86_400_000).toISOString()
    const row = email({ status: 'sent', created_at: weekAgo, updated_at: weekAgo })
    mine.add(row.id)
    await db.insert('email_logs', [row])
    const first = await changes(start)
    t.same(first.items.map(i => [i.id, i.status]), [[row.id, 'sent']], 'a row stamped a week ago is a change after the cursor')
    const sent = first.items[0]!
    t.equal(Date.parse(String(sent.updated_at)), Date.parse(weekAgo), 'its updated_at as written')
    t.same(first.cursor, { at: sent.changed_at, key: `email/${String(row.id)}` }, 'the cursor moved to it')
    t.same((await changes(first.cursor, 1000, 0)).items.map(i => [i.id, i.changed_at]), [[row.id, sent.changed_at]], 'nothing new after the cursor (the change at it, read again)')
    t.same((await changes(first.cursor)).items.map(i => i.id), [row.id], 'the overlap reads the last seconds again')

    // A move on a frozen clock keeps updated_at; changed_at tells it from the one before.
    t.equal(await db.update('email_logs', { id: row.id as string }, { status: 'delivered', updated_at: weekAgo }), 1)
    const moved = await changes(first.cursor, 1000, 0)
    t.same(moved.items.map(i => [i.status, i.updated_at === sent.updated_at]), [['delivered', true]], 'the move, with the same updated_at')
    t.ok(Date.parse(String(moved.items[0]!.changed_at)) >= Date.parse(String(sent.changed_at)), 'and a later changed_at')
    t.not(moved.items[0]!.changed_at, sent.changed_at)

    // A burst of more changes than one poll takes: the cursor still moves through all of them.
    const burst = [1, 2, 3, 4, 5].map(n => email({ subject: `burst ${n}` }))
    for (const r of burst) mine.add(r.id)
    const after = (await db.rpc<Changes>('activity_stream_changes', { p_after: null })).cursor
    await db.insert('email_logs', burst)
    const seen = new Set<unknown>()
    let cursor = after
    for (let i = 0; i < 10 && seen.size < burst.length; i++) {
      const page = await changes(cursor, 2, 0)
      t.ok(page.items.filter(i => !seen.has(i.id)).length <= 2, 'at most p_limit new changes a poll')
      for (const item of page.items) seen.add(item.id)
      cursor = page.cursor
    }
    t.equal(seen.size, burst.length, 'every row of the burst, two at a time')
  })

  t.test('a webhook stored counts as a change of the exchange items it belongs to (a Zoom meeting, direct traffic): the stream sends them again', async t => {
    type Changes = { cursor: { at: string, key: string | null }, items: Array<Record<string, unknown>> }
    const meetingId = `mtg-${run}`
    const x = (over: Row): Row => ({ id: randomUUID(), channel: 'zoom', kind: 'provider', method: 'POST', path: '/zoom/v2/users/me/meetings', status_code: 201, provider_id: meetingId, refs: [meetingId], ...over })
    // Every Zoom request and webhook of one account carries its host_id and account_id: ids each
    // one shares, which tie nothing to a meeting (the token request has no meeting at all).
    const host = `host-${run}`
    const account = `account-${run}`
    const created = x({ refs: [meetingId, host] })
    const other = x({ provider_id: `other-${run}`, refs: [`other-${run}`, host] })
    const token = x({ path: '/zoom/oauth/token', status_code: 200, provider_id: null, refs: [account] })
    const direct = x({ channel: 'email', direct: true, path: '/sendgrid/v3/mail/send', status_code: 202, provider_id: `msg-${run}`, refs: [`msg-${run}`] })
    const webhook = x({ kind: 'webhook', path: '/webhooks/zoom', status_code: 200, provider_id: null, refs: [meetingId, host, account], event: 'meeting.started' })
    const events = x({ channel: 'email', kind: 'webhook', path: '/webhooks/sendgrid', status_code: 200, provider_id: null, refs: [`msg-${run}`], event: 'delivered' })
    t.teardown(async () => { await db.delete('activity_exchanges', { id: { in: [created, other, token, direct, webhook, events].map(r => r.id as string) } }) })
    await db.insert('activity_exchanges', [created, other, token, direct])
    const start = (await db.rpc<Changes>('activity_stream_changes', { p_after: null })).cursor
    const stored = async () => Object.fromEntries((await db.select('activity_exchanges', { where: { id: { in: [created, other, direct].map(r => r.id as string) } } })).map(r => [r.id, String(r.changed_at)]))
    const before = await stored()
    await db.insert('activity_exchanges', [webhook, events])
    const changes = await db.rpc<Changes>('activity_stream_changes', { p_after: start.at, p_after_key: start.key, p_overlap_ms: 0 })
    const sent = changes.items.filter(i => [created.id, other.id, token.id, direct.id].includes(i.id))
    t.same(sent.map(i => i.id).sort(), [created.id, direct.id].sort(), 'the meeting it started and the direct send its events were about; not another meeting of the same host, nor the token request')
    t.ok(sent.every(i => String(i.changed_at) >= String(start.at)), 'each as changed when its webhook was stored')
    t.same(await stored(), before, 'the exchanges themselves were not rewritten')
  })

  t.test('ping', async t => {
    await t.resolves(db.ping())
  })
}
