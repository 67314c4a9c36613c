import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import type { CallStatus } from '@switchboard/schemas/voice'
import { seedAgents } from '../src/emulator/agents.ts'
import { CallEngine, type Ending } from '../src/emulator/calls.ts'
import { eventually } from './helper.ts'

const agent = [...seedAgents().values()][0]!
const PATHS: Record<Ending, CallStatus[]> = {
  completed: ['initiated', 'ringing', 'in-progress', 'call-disconnected', 'completed'],
  voicemail: ['initiated', 'ringing', 'in-progress', 'call-disconnected', 'completed'],
  busy: ['initiated', 'ringing', 'busy'],
  'no-answer': ['initiated', 'ringing', 'no-answer'],
  failed: ['initiated', 'failed']
}

/** An engine whose status changes are recorded per call, as the webhooks would carry them. */
function engineWith (opts: { maxCalls?: number, stepMs?: { min: number, max: number } } = {}) {
  const changes = new Map<string, Array<{ status: CallStatus, updatedAt: string }>>()
  const engine = new CallEngine({
    random: Math.random,
    stepMs: () => opts.stepMs ?? { min: 1, max: 12 },
    maxCalls: opts.maxCalls,
    onChange: (e) => {
      let list = changes.get(e.id)
      if (!list) changes.set(e.id, list = [])
      list.push({ status: e.status, updatedAt: e.updated_at })
    }
  })
  t.teardown(() => engine.close())
  const place = (ending: Ending, extra: { hold?: boolean, scheduledAt?: Date } = {}) =>
    engine.create({ agent, to: '+919855550100', from: '+918035735900', userData: {}, ending, recordingBaseUrl: 'http://127.0.0.1/bolna/recordings', ...extra })
  return { engine, changes, place }
}

t.test('hundreds of calls on one wake-up queue: each walks its whole path, in order, one change per status (queued, its first, included)', async t => {
  const { engine, changes, place } = engineWith()
  const endings: Ending[] = ['completed', 'voicemail', 'busy', 'no-answer', 'failed']
  const placed = Array.from({ length: 500 }, (_v, i) => ({ id: place(endings[i % endings.length]!), ending: endings[i % endings.length]! }))
  t.equal(engine.size, 500)
  await eventually(async () => placed.every(p => changes.get(p.id)?.length === PATHS[p.ending].length + 1))
  for (const p of placed) {
    const seen = changes.get(p.id)!
    if (seen.map(c => c.status).join() !== ['queued', ...PATHS[p.ending]].join()) t.fail(`${p.ending} call went ${seen.map(c => c.status).join(' → ')}`)
    if (seen.some((c, i) => i > 0 && c.updatedAt < seen[i - 1]!.updatedAt)) t.fail('updated_at went backwards')
    t.equal(engine.statusOf(p.id), PATHS[p.ending].at(-1))
  }
  await sleep(50)
  t.equal([...changes.values()].reduce((n, l) => n + l.length, 0), placed.reduce((n, p) => n + PATHS[p.ending].length + 1, 0), 'no step ran twice')
  t.equal(engine.live, 0, 'nobody is on the line any more')
  t.equal(engine.get(placed[0]!.id)!.transcript.split('\n')[0], `assistant: ${agent.welcomeMessage.replace('{name}', 'there').replace('{clinic}', 'City Care Clinic').replace('{date}', 'Monday').replace('{time}', '10:30 AM')}`)
})

t.test('a stopped call takes no further step; the live count follows the calls on the line', async t => {
  const { engine, changes, place } = engineWith({ stepMs: { min: 30, max: 40 } })
  const stopped = place('completed')
  const going = place('completed')
  t.match(engine.stop(stopped), { ok: true, execution: { status: 'stopped' } })
  await eventually(async () => engine.live === 1)
  t.equal(engine.statusOf(going), 'initiated')
  await eventually(async () => engine.statusOf(going) === 'completed')
  t.equal(engine.live, 0)
  t.same(changes.get(stopped)!.map(c => c.status), ['queued', 'stopped'], 'the stopped call never moved again')
  t.match(engine.stop(going), { ok: false, reason: 'not_stoppable', status: 'completed' })
})

t.test('held and scheduled calls wait their time in the same queue, then go', async t => {
  const { engine, changes, place } = engineWith()
  // Far enough ahead that the failed call ends first even on a loaded CI machine.
  const at = new Date(Date.now() + 1_500)
  const scheduled = place('busy', { scheduledAt: at })
  const soon = place('failed')
  t.equal(engine.statusOf(scheduled), 'scheduled')
  await eventually(async () => engine.statusOf(soon) === 'failed')
  t.equal(engine.statusOf(scheduled), 'scheduled', 'an earlier call did not wake the scheduled one')
  await eventually(async () => engine.statusOf(scheduled) === 'busy')
  const queued = changes.get(scheduled)![1]!
  t.same(changes.get(scheduled)!.map(c => c.status), ['scheduled', 'queued', 'initiated', 'ringing', 'busy'], 'scheduled when placed, then its path')
  t.ok(Date.parse(queued.updatedAt) >= at.getTime() - 1, 'queued at its scheduled time, not before')
})

t.test('when full, the call that ended first goes; with none ended, the oldest, whose steps stop', async t => {
  const { engine, changes, place } = engineWith({ maxCalls: 3, stepMs: { min: 20, max: 20 } })
  const a = place('failed')
  await eventually(async () => engine.statusOf(a) === 'failed')
  const b = place('failed')
  await eventually(async () => engine.statusOf(b) === 'failed')
  const c = place('completed')
  const d = place('completed') // full: a ended first, so a goes
  t.same([a, b, c, d].map(id => engine.statusOf(id) !== undefined), [false, true, true, true])
  const e = place('completed') // then b
  t.same([b, c, d, e].map(id => engine.statusOf(id) !== undefined), [false, true, true, true])
  const f = place('completed') // nothing ended: the oldest, c, goes and never moves again
  t.equal(engine.statusOf(c), undefined)
  const before = changes.get(c)?.length ?? 0
  await eventually(async () => engine.statusOf(f) === 'completed')
  t.equal(changes.get(c)?.length ?? 0, before, 'the evicted call took no further step')
  t.equal(engine.size, 3)
  t.equal(engine.live, 0)
})

t.test('after close nothing moves', async t => {
  const { engine, changes, place } = engineWith({ stepMs: { min: 10, max: 10 } })
  const id = place('completed')
  engine.close()
  await sleep(60)
  t.same(changes.get(id)!.map(c => c.status), ['queued'], 'its first status only')
  t.equal(engine.statusOf(id), 'queued')
})

t.test('a full engine of live calls keeps the newest ones, whatever the churn', async t => {
  const { engine, place } = engineWith({ maxCalls: 1000, stepMs: { min: 60_000, max: 60_000 } })
  const ids = Array.from({ length: 5000 }, () => place('completed'))
  t.equal(engine.size, 1000)
  t.ok(ids.slice(-1000).every(id => engine.statusOf(id) === 'queued'), 'the 1,000 newest are kept')
  t.ok(ids.slice(0, 4000).every(id => engine.statusOf(id) === undefined), 'the older ones went, oldest first')
})
