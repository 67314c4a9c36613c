import t from 'tap'
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import type { ActivityLog, Filter, Row } from '@switchboard/activity-log'
import { createCallLogWriter } from '../src/service/call-log-writer.ts'

/**
 * An activity log that records what it is handed and applies it to rows in memory the way the
 * SQL backends do (equality, `in`), so a test sees both the statements and where rows end up.
 */
function fakeLog () {
  const ops: Array<{ op: 'insert', row: Row } | { op: 'update', where: Filter, patch: Row }> = []
  const rows = new Map<string, Row>()
  let waiting = 0
  const matches = (row: Row, where: Filter) => Object.entries(where).every(([column, cond]) =>
    cond !== null && typeof cond === 'object' && 'in' in cond ? cond.in.includes(row[column] as string) : row[column] === cond)
  const log = {
    record (_table: string, row: Row) {
      ops.push({ op: 'insert', row: { ...row } })
      if (!rows.has(String(row.id))) rows.set(String(row.id), { ...row })
    },
    recordUpdate (_table: string, where: Filter, patch: Row) {
      ops.push({ op: 'update', where: structuredClone(where), patch: { ...patch } })
      for (const row of rows.values()) if (matches(row, where)) Object.assign(row, patch)
    },
    get pending () { return waiting }
  }
  return {
    log: log as unknown as ActivityLog,
    ops,
    rows,
    /** Pretends the activity log has this many operations waiting. */
    behind (n: number) { waiting = n },
    updates: () => ops.filter(o => o.op === 'update') as Array<{ op: 'update', where: Filter, patch: Row }>
  }
}

const row = (id: string, extra: Row = {}): Row => ({ id, mode: 'mock', to_number: '+919855550100', status: 'queued', execution_id: null, ...extra })
const ids = Array.from({ length: 5 }, (_v, i) => `00000000-0000-4000-8000-00000000000${i}`)

t.test('updates of many calls with the same status and values become one statement per turn', async t => {
  const db = fakeLog()
  const writer = createCallLogWriter({ activityLog: db.log })
  for (const id of ids) writer.insert(row(id))
  await nextTurn()
  for (const id of ids) writer.set(id, { execution_id: `exec-${id}`, latency_ms: 3 })
  await nextTurn()
  db.ops.length = 0
  for (const id of ids) t.equal(writer.update('id', id, 'ringing', { status: 'ringing', execution_id: `exec-${id}`, from_number: '+918035735900', updated_at: 'x' }), true)
  t.equal(db.ops.length, 0, 'nothing handed over before the end of the turn')
  await nextTurn()
  t.equal(db.updates().length, 1, 'one statement for five calls')
  t.match(db.updates()[0]!.where, { id: { in: ids }, status: { in: ['scheduled', 'queued', 'rescheduled', 'initiated'] } })
  t.notOk('execution_id' in db.updates()[0]!.patch, 'the execution id was already set by the answer')
  for (const id of ids) t.match(db.rows.get(id), { status: 'ringing', execution_id: `exec-${id}`, from_number: '+918035735900' })
})

t.test('never backwards: a late or repeated status of a call placed here writes nothing', async t => {
  const db = fakeLog()
  const writer = createCallLogWriter({ activityLog: db.log })
  const [id] = ids as [string]
  writer.insert(row(id))
  await nextTurn()
  writer.update('id', id, 'in-progress', { status: 'in-progress', answered_by_voice_mail: false })
  await nextTurn()
  t.equal(writer.update('id', id, 'ringing', { status: 'ringing' }), false, 'an earlier status: nothing to write')
  t.equal(writer.update('id', id, 'in-progress', { status: 'in-progress' }), false, 'the same status again: nothing to write')
  writer.update('id', id, 'completed', { status: 'completed', duration_seconds: 42 })
  await nextTurn()
  t.equal(writer.update('id', id, 'failed', { status: 'failed', error: 'late' }), false, 'a final status never changes')
  await nextTurn()
  t.equal(db.updates().length, 2, 'in-progress and completed only')
  t.match(db.rows.get(id), { status: 'completed', duration_seconds: 42 })
  t.notOk(db.rows.get(id)!.error)
  t.equal(writer.stats.skipped, 3)
})

t.test('while the activity log is behind, writes wait and fold: a new row takes its answer and statuses in memory', async t => {
  const db = fakeLog()
  const writer = createCallLogWriter({ activityLog: db.log, backlog: 10, recheckMs: 5 })
  db.behind(50)
  const [a, b] = ids as [string, string]
  writer.insert(row(a))
  writer.insert(row(b))
  writer.set(a, { execution_id: 'exec-a', latency_ms: 7 })
  writer.set(b, { status: 'failed', error: 'refused', latency_ms: 9 })
  writer.update('id', a, 'ringing', { status: 'ringing', execution_id: 'exec-a' })
  writer.update('id', a, 'initiated', { status: 'initiated' }) // late: refused
  writer.update('id', a, 'completed', { status: 'completed', cost: 1.5, transcript: 'assistant: hi\n' })
  t.equal(writer.update('id', b, 'ringing', { status: 'ringing' }), false, 'b failed when placed: nothing moves it')
  await sleep(30)
  t.equal(db.ops.length, 0, 'held while the log is behind')
  t.equal(writer.pending, 2)
  db.behind(0)
  await sleep(30)
  t.same(db.ops.map(o => o.op), ['insert', 'insert'], 'two inserts, no update at all')
  t.match(db.rows.get(a), { status: 'completed', execution_id: 'exec-a', latency_ms: 7, cost: 1.5, transcript: 'assistant: hi\n' })
  t.match(db.rows.get(b), { status: 'failed', error: 'refused', latency_ms: 9 })
})

t.test('rows not placed here (matched by execution id): updates meeting before the write fold to the higher status', async t => {
  const db = fakeLog()
  db.rows.set('r1', row('r1', { execution_id: 'e1', status: 'queued' }))
  db.rows.set('r2', row('r2', { execution_id: 'e2', status: 'completed' }))
  const writer = createCallLogWriter({ activityLog: db.log })
  writer.update('execution_id', 'e1', 'ringing', { status: 'ringing', from_number: '+918035735900' })
  writer.update('execution_id', 'e1', 'in-progress', { status: 'in-progress', answered_by_voice_mail: true })
  writer.update('execution_id', 'e1', 'initiated', { status: 'initiated' })
  writer.update('execution_id', 'e2', 'in-progress', { status: 'in-progress' })
  await nextTurn()
  t.equal(db.updates().length, 2, 'one statement per call')
  t.match(db.updates()[0], { where: { execution_id: 'e1', status: { in: ['scheduled', 'queued', 'rescheduled', 'initiated', 'ringing'] } }, patch: { status: 'in-progress', from_number: '+918035735900', answered_by_voice_mail: true } })
  t.match(db.rows.get('r1'), { status: 'in-progress', from_number: '+918035735900', answered_by_voice_mail: true })
  t.equal(db.rows.get('r2')!.status, 'completed', 'its guard kept a final row final')
})

t.test('flush() hands everything over at once (reads call it); close() too', async t => {
  const db = fakeLog()
  const writer = createCallLogWriter({ activityLog: db.log })
  db.behind(1000)
  writer.insert(row(ids[0]!))
  writer.flush()
  t.equal(db.ops.length, 1)
  writer.insert(row(ids[1]!))
  writer.close()
  t.equal(db.ops.length, 2)
  writer.update('id', ids[1]!, 'ringing', { status: 'ringing' })
  await nextTurn()
  t.equal(db.ops.length, 3, 'after close, writes go straight through, however far behind the log is')
})
