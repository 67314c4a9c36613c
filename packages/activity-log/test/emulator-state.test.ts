/**
 * EmulatorState on a real database (PostgreSQL with TEST_DATABASE_URL, else PGlite): the write
 * queue, reads of other instances' records, sync with tombstones and clears, exclusive claims and
 * adoptions, and the retention (oldest first).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { EmulatorState, nextSeq, type Backend, type EmulatorTable, type SyncChange } from '../src/index.ts'
import { createTestBackend } from '../src/testing.ts'

const quiet = { warn () {} }

type Call = (...args: unknown[]) => Promise<unknown>

/** The backend with some of its methods wrapped: `wrap(call, args)` runs in place of each. */
function wrapped (backend: Backend, methods: string[], wrap: (call: Call, args: unknown[]) => Promise<unknown>): Backend {
  return new Proxy(backend, {
    get (target, key, receiver) {
      const value = Reflect.get(target, key, receiver)
      if (typeof value !== 'function') return value
      const call = (value as Call).bind(target)
      return methods.includes(String(key)) ? (...args: unknown[]) => wrap(call, args) : call
    }
  })
}

/**
 * Two instances on one database: `other` writes on the plain backend, `state` (the one under test)
 * reads through `through`, with its sync cursor set.
 */
async function instances (t: { teardown: (fn: () => unknown) => void }, backend: Backend, through: Backend, table: EmulatorTable) {
  const other = new EmulatorState({ backend, table, logger: quiet })
  const state = new EmulatorState({ backend: through, table, logger: quiet })
  t.teardown(async () => { await state.close(); await other.close() })
  await state.markSync()
  return { other, state }
}

/** What one sync() hands to its apply; undefined when it applied nothing (a clear began during it). */
async function changes (state: EmulatorState): Promise<SyncChange | undefined> {
  let change: SyncChange | undefined
  await state.sync(c => { change = c })
  return change
}

t.test('two instances: a write is read through the other at once after its flush, synced with its tombstone, and cleared', async t => {
  const backend = await createTestBackend(t)
  const a = new EmulatorState({ backend, table: 'zoom_emulator_state', logger: quiet })
  const b = new EmulatorState({ backend, table: 'zoom_emulator_state', logger: quiet })
  t.teardown(async () => { await a.close(); await b.close() })
  await b.markSync()

  a.put('meeting', '1', { topic: 'One' }, { seq: nextSeq(), dueAt: 1_000.4 })
  t.same((await a.get('meeting', '1'))?.doc, { topic: 'One' }, 'its own unstored write reads back')
  await a.flush()
  t.equal(a.pending, 0)
  t.match(await b.get('meeting', '1'), { id: '1', doc: { topic: 'One' }, dueAt: 1001, step: 0, writer: a.writer }, 'the other instance reads it from the database')

  a.put('meeting', '2', { topic: 'Two' }, { seq: nextSeq() })
  a.put('meeting', '2', { topic: 'Two, renamed' }, { seq: nextSeq() })
  a.remove('meeting', '1', 1)
  await a.flush()
  const synced = (await changes(b))!
  t.equal(synced.cleared, false)
  t.same(synced.records.map(r => [r.id, r.deleted, r.doc]), [['2', false, { topic: 'Two, renamed' }], ['1', true, null]], 'the latest write of each record, and the removal as a tombstone')
  t.same((await changes(a))?.records, [], 'an instance does not sync its own writes')
  t.equal(await b.get('meeting', '1'), undefined, 'a removed record is gone')

  t.equal(await a.clear(), 1, 'one live record cleared')
  const afterClear = (await changes(b))!
  t.equal(afterClear.cleared, true, 'the other instance learns of the clear')
  t.same(afterClear.records, [])
  t.equal((await changes(b))?.cleared, false, 'once')
  t.same(await b.load('meeting'), [])
})

t.test('a lifecycle step is claimed by exactly one instance; an overdue record is adopted by exactly one', async t => {
  const backend = await createTestBackend(t)
  const a = new EmulatorState({ backend, table: 'bolna_emulator_state', logger: quiet })
  const b = new EmulatorState({ backend, table: 'bolna_emulator_state', logger: quiet })
  t.teardown(async () => { await a.close(); await b.close() })
  a.put('call', 'c1', { status: 'ringing' }, { seq: nextSeq(), dueAt: Date.now() - 10_000 })
  const claims = await Promise.all([a.claim('call', 'c1', 0, 1, null), b.claim('call', 'c1', 0, 1, null)])
  t.same(claims.sort(), [false, true], 'one claim of step 0 → 1 wins')
  t.equal((await b.get('call', 'c1'))?.step, 1)

  a.put('call', 'c2', { status: 'ringing' }, { seq: nextSeq(), dueAt: Date.now() - 10_000 })
  await a.flush()
  const overdue = await b.overdue('call', Date.now() - 2_000)
  t.same(overdue.map(r => r.id), ['c2'], 'the record whose step is overdue (c1 has nothing due any more)')
  const adoptions = await Promise.all([a.adopt('call', 'c2', overdue[0]!.dueAt!), b.adopt('call', 'c2', overdue[0]!.dueAt!)])
  t.same(adoptions.sort(), [false, true], 'one instance adopts it')
  t.same(await a.overdue('call', Date.now()), [], 'and it is no longer overdue')
})

t.test('abandoned: due on the emulators\' clock, and not taken for the grace in real time', async t => {
  const backend = await createTestBackend(t)
  const a = new EmulatorState({ backend, table: 'bolna_emulator_state', logger: quiet })
  t.teardown(() => a.close())
  const realNow = Date.now()
  a.put('call', 'late', {}, { seq: nextSeq(), dueAt: realNow - 10_000 })
  a.put('call', 'due-now', {}, { seq: nextSeq(), dueAt: realNow - 500 })
  t.same((await a.abandoned('call', Date.now(), 2_000)).map(r => r.id), ['late'], 'on a clock reading real time, 10 s late is abandoned at once, half a second is not')

  // A clock an hour back: due_at is written on it, so a record due on it is an hour before real time.
  const b = new EmulatorState({ backend, table: 'zoom_emulator_state', logger: quiet })
  t.teardown(() => b.close())
  const hourBack = () => Date.now() - 3_600_000
  b.put('meeting', 'driven', {}, { seq: nextSeq(), dueAt: hourBack() - 10 })
  b.put('meeting', 'left', {}, { seq: nextSeq(), dueAt: hourBack() - 10 })
  t.same(await b.abandoned('meeting', hourBack(), 200), [], 'first seen due on a moved clock: not yet')
  await sleep(250)
  // Its driver wrote its next step meanwhile: a new due_at starts its grace again.
  b.put('meeting', 'driven', {}, { seq: nextSeq(), dueAt: hourBack() - 5 })
  t.same((await b.abandoned('meeting', hourBack(), 200)).map(r => r.id), ['left'], 'seen due with the same due_at past the grace: abandoned; the one whose step moved on is not')
  t.same(await b.abandoned('meeting', Date.now() + 86_400_000, 60_000), [], 'a day ahead on the clock: due, but its grace has not passed in real time')
})

t.test('claims made together are one statement, and two claims of one record still go in order', async t => {
  const backend = await createTestBackend(t)
  const statements: string[] = []
  const counted = { ...backend, rpc: (fn: string, args?: Record<string, unknown>) => { statements.push(fn); return backend.rpc(fn, args) } } as typeof backend
  const state = new EmulatorState({ backend: counted, table: 'zoom_emulator_state', logger: quiet })
  t.teardown(() => state.close())
  for (let i = 0; i < 40; i++) state.put('meeting', `m${i}`, {}, { seq: nextSeq() })
  await state.flush()
  statements.length = 0

  const claims = await Promise.all([
    ...Array.from({ length: 40 }, (_, i) => state.claim('meeting', `m${i}`, 0, 1, null)),
    state.claim('meeting', 'm0', 1, 2, 5_000), // the next step of m0, after its first claim
    state.claim('meeting', 'm1', 0, 1, null), // step 0 again: already taken by the claim before it
    state.claim('meeting', 'gone', 0, 1, null)
  ])
  t.same(claims, [...Array(40).fill(true), true, false, false], 'each claim answers for itself')
  t.same(statements, ['emulator_state_claim', 'emulator_state_claim'], 'forty-three claims in two statements (m0 and m1 twice: their second claims wait for the next)')
  t.match(await state.get('meeting', 'm0'), { step: 2, dueAt: 5_000, writer: state.writer })
  t.equal((await state.get('meeting', 'm39'))?.step, 1)
})

t.test('retention: past the bound the oldest records go, and old tombstones', async t => {
  const backend = await createTestBackend(t)
  const state = new EmulatorState({ backend, table: 'instamojo_emulator_state', retention: { request: 3 }, tombstoneMs: 0, logger: quiet })
  t.teardown(() => state.close())
  for (let i = 1; i <= 5; i++) state.put('request', `r${i}`, { i }, { seq: i })
  state.put('token', 'kept', {}, { seq: 0 })
  state.remove('payment', 'p1', 0)
  t.equal(await state.prune(), 3, 'two requests and one tombstone deleted')
  t.same((await state.load('request')).map(r => r.id), ['r3', 'r4', 'r5'], 'the newest three requests')
  t.same((await state.load('token')).map(r => r.id), ['kept'], 'a kind without a bound is kept')
})

t.test('clearedElsewhere: one read of the marker row tells an instance that another cleared, once', async t => {
  const backend = await createTestBackend(t)
  const a = new EmulatorState({ backend, table: 'aisensy_emulator_state', logger: quiet })
  const b = new EmulatorState({ backend, table: 'aisensy_emulator_state', logger: quiet })
  t.teardown(async () => { await a.close(); await b.close() })
  await a.clear()
  await b.markSync()
  t.equal(await b.clearedElsewhere(), false, 'a clear from before its start is not news')
  await a.clear()
  t.equal(await b.clearedElsewhere(), true, 'another instance\'s clear is')
  t.equal(await b.clearedElsewhere(), false, 'told once')
  await b.clear()
  t.equal(await b.clearedElsewhere(), false, 'its own clear is not news')
  t.equal(await a.clearedElsewhere(), true, 'but it is to the other instance')
})

t.test("reads in flight when this instance's clear begins find nothing: what the reset forgot does not come back", async t => {
  const backend = await createTestBackend(t)
  // The backend's selects wait while `held` is set: the reads below are in flight during the clear.
  let held: Promise<void> | undefined
  const slow = wrapped(backend, ['select', 'update'], async (call, args) => { const gate = held; const out = await call(...args); await gate; return out })
  const { other, state } = await instances(t, backend, slow, 'bolna_emulator_state')
  other.put('call', 'c1', { status: 'completed' }, { seq: nextSeq(), dueAt: Date.now() - 10_000 })
  await other.flush()

  let release!: () => void
  held = new Promise(resolve => { release = resolve })
  let drove = false
  const reads = Promise.all([changes(state), state.get('call', 'c1'), state.overdue('call', Date.now()), state.adopt('call', 'c1', (await other.get('call', 'c1'))!.dueAt!, () => { drove = true })])
  // Every read has its rows (the selects and the update ran), and waits at the gate.
  await new Promise(resolve => setImmediate(resolve))
  const cleared = state.clear()
  release()
  held = undefined
  const [synced, one, overdue, adopted] = await reads
  t.equal(synced, undefined, 'the sync in flight applies nothing')
  t.equal(one, undefined, 'the get in flight finds nothing')
  t.same(overdue, [], 'the overdue scan in flight finds nothing')
  t.equal(adopted, false, 'the adoption in flight reports nothing to drive')
  t.equal(drove, false, 'and does not start driving it')
  await cleared
  t.same(await state.load('call'), [], 'and the clear removed the record')

  // Without a clear in between, the same reads see the record.
  other.put('call', 'c2', { status: 'ringing' }, { seq: nextSeq(), dueAt: Date.now() - 10_000 })
  await other.flush()
  t.match(await changes(state), { records: [{ id: 'c2' }] }, 'a sync with no clear during it sees the new record')
  t.equal((await state.get('call', 'c2'))?.id, 'c2')
})

t.test('a reset that runs the moment a sync\'s read returns comes after that sync\'s records are applied, never before', async t => {
  const backend = await createTestBackend(t)
  let afterRead: (() => void) | undefined
  // The reset is queued two microtasks after the read returns: after the sync's own check that no
  // clear began, before any caller of sync() could resume from an await.
  const gated = wrapped(backend, ['select'], async (call, args) => {
    const out = await call(...args)
    const hook = afterRead
    afterRead = undefined
    if (hook) queueMicrotask(() => queueMicrotask(hook))
    return out
  })
  const { other, state } = await instances(t, backend, gated, 'zoom_emulator_state')
  other.put('meeting', 'm1', { topic: 'Before the reset' }, { seq: nextSeq() })
  await other.flush()

  const order: string[] = []
  let cleared: Promise<number> | undefined
  afterRead = () => { order.push('reset'); cleared = state.clear() }
  await state.sync(({ records }) => { order.push(`applied ${records.map(r => r.id).join()}`) })
  await new Promise(resolve => setImmediate(resolve))
  await cleared
  t.same(order, ['applied m1', 'reset'], 'the emulator resets after holding the record, so the reset forgets it')
})

t.test('a read begun while a clear is under way, before its delete, applies nothing, whenever it ends', async t => {
  const backend = await createTestBackend(t)
  let release!: () => void
  const gate = new Promise<void>(resolve => { release = resolve })
  // The clear's delete waits at the gate: a sync runs meanwhile and still finds the old row.
  const gated = wrapped(backend, ['delete'], async (call, args) => { await gate; return await call(...args) })
  const { other, state } = await instances(t, backend, gated, 'bolna_emulator_state')
  other.put('call', 'c1', { status: 'completed' }, { seq: nextSeq() })
  await other.flush()

  const cleared = state.clear()
  await new Promise(resolve => setTimeout(resolve, 50)) // the clear waits at its delete
  const during = await changes(state)
  t.equal(during, undefined, 'a sync that begins and ends during the clear applies nothing')
  const spanning = changes(state)
  const found = state.get('call', 'c1', r => r.id)
  release()
  await cleared
  t.equal(await spanning, undefined, 'nor one that begins during it and ends after')
  t.equal(await found, undefined, 'a get begun during it finds nothing')
  t.equal(await state.get('call', 'c1'), undefined, 'and after it the record is gone')
})

t.test('a sync never hands back an older copy of a record this instance changed: one whose read began before the change, or one read while its write waits in the queue', async t => {
  const backend = await createTestBackend(t)
  // A sync's select waits at `held` (its rows read before the gate), so a change runs meanwhile.
  let held: Promise<void> | undefined
  const slow = wrapped(backend, ['select'], async (call, args) => {
    const gate = held
    const out = await call(...args)
    await gate
    return out
  })
  const { other, state } = await instances(t, backend, slow, 'zoom_emulator_state')
  other.put('meeting', 'm1', { topic: 'Renamed by the other instance' }, { seq: nextSeq() })
  await other.flush()

  let release!: () => void
  held = new Promise(resolve => { release = resolve })
  let synced: SyncChange | undefined
  const syncing = state.sync(c => { synced = c })
  await new Promise(resolve => setImmediate(resolve))
  held = undefined
  // The sync has read the other instance's copy; this instance changes the record on top of it.
  const changed = await state.change<{ topic: string, agenda?: string }>('meeting', 'm1', doc => ({ ...doc, agenda: 'Set here' }))
  t.same(changed?.doc, { topic: 'Renamed by the other instance', agenda: 'Set here' })
  release()
  await syncing
  t.same(synced?.records.filter(r => r.id === 'm1').map(r => r.doc), [], 'the sync that began before the change does not hand back the copy before it')

  // A write of this instance still queued: the other instance's row it will replace is older.
  other.put('meeting', 'm2', { topic: 'Two, from the other instance' }, { seq: nextSeq() })
  await other.flush()
  t.same((await changes(state))?.records.map(r => r.doc), [{ topic: 'Two, from the other instance' }], 'synced once')
  state.put('meeting', 'm2', { topic: 'Two, renamed here' }, { seq: nextSeq() })
  t.same((await changes(state))?.records.filter(r => r.id === 'm2'), [], 'not again while this instance\'s newer write waits in the queue')
  await state.flush()
  t.same((await changes(state))?.records.filter(r => r.id === 'm2'), [], 'nor after (the row is its own)')

  // Skipped, not lost: a change the other instance makes later still arrives.
  await other.change('meeting', 'm1', (doc: { topic: string }) => ({ ...doc, topic: 'Renamed again' }))
  t.same((await changes(state))?.records.map(r => r.doc), [{ topic: 'Renamed again', agenda: 'Set here' }], 'a later change by the other instance arrives')
})

t.test('a claim does not hide from this instance a document another instance wrote before it', async t => {
  const backend = await createTestBackend(t)
  const { other, state } = await instances(t, backend, backend, 'zoom_emulator_state')
  other.put('meeting', 'm1', { topic: 'First' }, { seq: nextSeq() })
  await other.flush()
  t.same((await changes(state))?.records.map(r => r.doc), [{ topic: 'First' }])
  other.put('meeting', 'm1', { topic: 'Renamed by the other instance' }, { seq: nextSeq() })
  await other.flush()
  // The lifecycle step falls due here before this instance's next sync.
  t.equal(await state.claim('meeting', 'm1', 0, 1, null), true)
  t.same((await changes(state))?.records.map(r => [r.doc, r.step]), [[{ topic: 'Renamed by the other instance' }, 1]], 'the next sync still brings the rename')
  t.equal(await other.claim('meeting', 'm1', 0, 1, null), false, 'and the step stays claimed once')
})

t.test('an instance that learns late of another\'s clear: what it wrote since of records made before it is taken back, for every instance', async t => {
  const backend = await createTestBackend(t)
  const a = new EmulatorState({ backend, table: 'bolna_emulator_state', logger: quiet })
  const b = new EmulatorState({ backend, table: 'bolna_emulator_state', logger: quiet })
  const c = new EmulatorState({ backend, table: 'bolna_emulator_state', logger: quiet })
  t.teardown(async () => { await a.close(); await b.close(); await c.close() })
  await b.markSync()
  await c.markSync()

  // B drives a call made before the reset.
  const callSeq = nextSeq()
  b.put('call', 'old', { status: 'ringing' }, { seq: callSeq, dueAt: 1_000 })
  await b.flush()
  t.equal(await a.clear(), 1, 'A resets')
  // B has not synced yet: its call takes its next steps, one stored, one still queued.
  b.put('call', 'old', { status: 'in-progress' }, { seq: callSeq, dueAt: 2_000 })
  await b.flush()
  b.put('call', 'old', { status: 'completed' }, { seq: callSeq })
  // And a call made through A after the reset, which must stay.
  a.put('call', 'new', { status: 'queued' }, { seq: nextSeq() })
  await a.flush()
  t.match(await c.get('call', 'old'), { doc: { status: 'in-progress' } }, 'meanwhile the call is back for whoever reads it')

  t.equal((await changes(b))?.cleared, true, 'B learns of the reset')
  await b.flush()
  t.equal(await c.get('call', 'old'), undefined, 'its writes since the reset are taken back: nobody reads the call')
  t.match(await c.get('call', 'new'), { doc: { status: 'queued' } }, 'what was made after the reset stays')
  const synced = (await changes(c))!
  t.ok(synced.records.some(r => r.id === 'old' && r.deleted), 'and an instance that read it meanwhile gets its tombstone')
})
