import t from 'tap'
import { randomUUID } from 'node:crypto'
import { createTestActivityLog } from '@switchboard/activity-log/testing'
import { createJob, createJobRunner, withRowIds, type ClaimedItem, type JobProgress } from '../src/server/job-runner.ts'
import { eventually } from '../src/testing/testing.ts'

const progressOf = (rpc: <T>(fn: string, args?: Record<string, unknown>) => Promise<T>, id: string) => rpc<JobProgress>('job_progress', { p_job_id: id })

t.test('two runners on one database share a job: every item handled once, by one of them', async t => {
  const log = await createTestActivityLog(t)
  const rpc = log.rpc.bind(log)
  const handled = new Map<number, string[]>()
  // Each runner's first batch waits until the other has claimed one too: on a busy machine one
  // runner could otherwise drain all 40 items before the other's first claim. If the second never
  // claims, the wait gives up after 10 s and "both took part" fails.
  const entered = new Set<string>()
  let bothEntered!: () => void
  const bothIn = new Promise<void>(resolve => { bothEntered = resolve })
  const runner = (name: string) => createJobRunner<{ n: number }>({
    rpc,
    kind: 'test.share',
    concurrency: 4,
    leaseMs: 5000,
    idleMs: 20,
    workerId: name,
    handle: async (_job, items: Array<ClaimedItem<{ n: number }>>) => {
      entered.add(name)
      if (entered.size === 2) bothEntered()
      if (entered.size < 2) await Promise.race([bothIn, new Promise(resolve => setTimeout(resolve, 10_000).unref())])
      for (const i of items) handled.set(i.payload.n, [...(handled.get(i.payload.n) ?? []), name])
      return items.map(i => ({ seq: i.seq, state: 'sent' as const, result: { by: name } }))
    }
  })
  const a = runner('a')
  const b = runner('b')
  const id = randomUUID()
  await createJob(rpc, 'TEST', { id, kind: 'test.share', spec: {} }, Array.from({ length: 40 }, (_v, n) => ({ n })))
  a.start()
  b.start()
  t.ok(await a.waitFor(id, 30_000), 'the job ended')
  await Promise.all([a.stop(), b.stop()])
  t.match(await progressOf(rpc, id), { status: 'completed', sent: 40, pending: 0, in_flight: 0, unknown: 0 })
  t.equal(handled.size, 40, 'every item handled')
  t.same([...handled.values()].filter(by => by.length > 1), [], 'none twice')
  const byRunner = [...handled.values()].flat()
  t.ok(byRunner.includes('a') && byRunner.includes('b'), `both took part (a ${byRunner.filter(x => x === 'a').length}, b ${byRunner.filter(x => x === 'b').length})`)
})

t.test('a worker that dies with items claimed: they become unknown after its lease, never handled again; a late answer still counts', async t => {
  const log = await createTestActivityLog(t)
  const rpc = log.rpc.bind(log)
  const id = randomUUID()
  await createJob(rpc, 'TEST', { id, kind: 'test.dead', spec: {} }, Array.from({ length: 10 }, (_v, n) => ({ n })))
  // The dead worker: it claimed three items and was never heard of again.
  const dead = await rpc<{ items: ClaimedItem[] }>('job_claim', { p_kind: 'test.dead', p_worker: 'dead', p_limit: 3, p_lease_ms: 300 })
  t.equal(dead.items.length, 3)
  const seen: number[] = []
  const alive = createJobRunner<{ n: number }>({
    rpc,
    kind: 'test.dead',
    concurrency: 2,
    leaseMs: 5000,
    idleMs: 20,
    handle: async (_job, items) => { for (const i of items) seen.push(i.seq); return items.map(i => ({ seq: i.seq, state: 'sent' as const })) }
  })
  alive.start()
  t.teardown(() => alive.stop())
  const ended = await eventually(async () => { const p = await progressOf(rpc, id); return p.status !== 'running' ? p : undefined })
  t.match(ended, { status: 'completed_with_errors', sent: 7, unknown: 3, pending: 0, in_flight: 0 }, 'the dead worker\'s three are unknown')
  t.same(seen.sort((x, y) => x - y), [3, 4, 5, 6, 7, 8, 9], 'the live worker never sent them')
  const [row] = await log.select('job_items', { where: { job_id: id, seq: 0 } })
  t.match(row?.reason, /stopped before the provider's answer was recorded/)

  // Its answer arrives after all (it was only slow): recorded, the item is known again.
  await rpc('job_complete', { p_worker: 'dead', p_results: [{ job_id: id, seq: 0, state: 'sent', result: null, reason: null }] })
  t.match(await progressOf(rpc, id), { sent: 8, unknown: 2 })
  // Retry on request: the unknown ones are sent again.
  await rpc('job_retry', { p_job_id: id })
  alive.poke()
  t.match(await eventually(async () => { const p = await progressOf(rpc, id); return p.status !== 'running' ? p : undefined }), { status: 'completed', sent: 10, unknown: 0 })
})

t.test('stop() finishes what is in flight and leaves the rest pending; another runner takes it up', async t => {
  const log = await createTestActivityLog(t)
  const rpc = log.rpc.bind(log)
  const id = randomUUID()
  await createJob(rpc, 'TEST', { id, kind: 'test.stop', spec: {} }, Array.from({ length: 20 }, (_v, n) => ({ n })))
  let started = 0
  const first = createJobRunner({
    rpc,
    kind: 'test.stop',
    concurrency: 2,
    leaseMs: 5000,
    idleMs: 20,
    handle: async (_job, items) => { started += items.length; await new Promise(resolve => setTimeout(resolve, 30)); return items.map(i => ({ seq: i.seq, state: 'sent' as const })) }
  })
  first.start()
  await eventually(async () => started >= 4)
  await first.stop()
  const after = await progressOf(rpc, id)
  t.match(after, { status: 'running', in_flight: 0, unknown: 0, sent: started }, `${started} sent, none left claimed`)
  t.equal(after.pending, 20 - started, 'the rest pending')
  const second = createJobRunner({ rpc, kind: 'test.stop', concurrency: 4, leaseMs: 5000, idleMs: 20, handle: async (_job, items) => items.map(i => ({ seq: i.seq, state: 'sent' as const })) })
  second.start()
  t.teardown(() => second.stop())
  t.ok(await second.waitFor(id, 20_000))
  t.match(await progressOf(rpc, id), { status: 'completed', sent: 20 })
})

t.test('admit: while it refuses (the activity log is full), the runner claims nothing; once it admits, the job runs', async t => {
  const log = await createTestActivityLog(t)
  const rpc = log.rpc.bind(log)
  const id = randomUUID()
  await createJob(rpc, 'TEST', { id, kind: 'test.admit', spec: {} }, Array.from({ length: 6 }, (_v, n) => ({ n })))
  let full = true
  let asked = 0
  let handled = 0
  const runner = createJobRunner<{ n: number }>({
    rpc,
    kind: 'test.admit',
    concurrency: 2,
    leaseMs: 5000,
    idleMs: 20,
    admit: () => { asked++; if (full) throw new Error('full') },
    handle: async (_job, items) => { handled += items.length; return items.map(i => ({ seq: i.seq, state: 'sent' as const })) }
  })
  runner.start()
  t.teardown(() => runner.stop())
  t.ok(await eventually(async () => asked >= 3), 'the runner asked again and again')
  t.match(await progressOf(rpc, id), { status: 'running', pending: 6, in_flight: 0 }, 'nothing claimed while full')
  t.equal(handled, 0)
  full = false
  t.ok(await runner.waitFor(id, 10_000), 'the job ended once there was room')
  t.match(await progressOf(rpc, id), { status: 'completed', sent: 6 })
})

t.test('a worker that dies after writing its rows: contacts whose rows hold the provider\'s answer are settled from them, the rest unknown; a retry gives each a new row', async t => {
  const log = await createTestActivityLog(t)
  const rpc = log.rpc.bind(log)
  type Item = { n: number, row_id: string }
  const payloads = async (jobId: string) => new Map((await log.select('job_items', { where: { job_id: jobId } })).map(i => [i.seq, i]))
  const expired = (jobId: string) => eventually(async () => { const p = await progressOf(rpc, jobId); return p.in_flight === 0 ? p : undefined })

  // WhatsApp: a row is written once AiSensy answered (accepted, or refused).
  const chat = randomUUID()
  await createJob(rpc, 'TEST', { id: chat, kind: 'whatsapp.test-rows', spec: {} }, withRowIds(Array.from({ length: 4 }, (_v, n) => ({ n }))))
  const claimed = (await rpc<{ items: Array<ClaimedItem<Item>> }>('job_claim', { p_kind: 'whatsapp.test-rows', p_worker: 'killed', p_limit: 4, p_lease_ms: 300 })).items
  t.equal(claimed.length, 4)
  const rowOf = (seq: number) => claimed.find(i => i.seq === seq)!.payload.row_id
  await log.record('whatsapp_logs', { id: rowOf(0), mode: 'mock', campaign_id: chat, to_number: '+919800000000', template_name: 't', status: 'submitted', provider_message_id: 'msg-0' })
  await log.record('whatsapp_logs', { id: rowOf(1), mode: 'mock', campaign_id: chat, to_number: '+919800000001', template_name: 't', status: 'failed', error: 'Number not on WhatsApp' })
  // ... and the worker is killed before job_complete: contacts 2 and 3 have no answer anywhere.
  t.match(await expired(chat), { status: 'completed_with_errors', sent: 1, failed: 1, unknown: 2 })
  const items = await payloads(chat)
  t.match(items.get(0), { state: 'sent', result: { id: rowOf(0), provider_message_id: 'msg-0' }, reason: null }, 'its row says AiSensy took it: sent')
  t.match(items.get(1), { state: 'failed', reason: 'Number not on WhatsApp' })
  t.match(items.get(2), { state: 'unknown', reason: /stopped before the provider's answer was recorded/ })

  await rpc('job_retry', { p_job_id: chat })
  const retried = await payloads(chat)
  t.equal((retried.get(0)!.payload as Item).row_id, rowOf(0), 'a sent contact keeps its row and is not retried')
  for (const seq of [1, 2, 3]) {
    t.equal(retried.get(seq)!.state, 'pending')
    t.not((retried.get(seq)!.payload as Item).row_id, rowOf(seq), `contact ${seq} retried with a new row id: its new attempt writes a row of its own`)
  }

  // Voice: the call's row is written (queued) before Bolna is asked: only an execution id or a failure is an answer.
  const calls = randomUUID()
  await createJob(rpc, 'TEST', { id: calls, kind: 'voice.test-rows', spec: {} }, withRowIds(Array.from({ length: 2 }, (_v, n) => ({ n }))))
  const placing = (await rpc<{ items: Array<ClaimedItem<Item>> }>('job_claim', { p_kind: 'voice.test-rows', p_worker: 'killed', p_limit: 2, p_lease_ms: 300 })).items
  const callRow = (seq: number) => placing.find(i => i.seq === seq)!.payload.row_id
  await log.record('call_logs', { id: callRow(0), mode: 'mock', campaign_id: calls, to_number: '+919800000000', status: 'queued', execution_id: 'exec-0' })
  await log.record('call_logs', { id: callRow(1), mode: 'mock', campaign_id: calls, to_number: '+919800000001', status: 'queued' })
  t.match(await expired(calls), { sent: 1, unknown: 1 }, 'placed (an execution id) is sent; queued without an answer stays unknown')
})

t.test('the log follows each job a runner works on, resumed ones too: its take-up with what is left, and its end', async t => {
  const log = await createTestActivityLog(t)
  const rpc = log.rpc.bind(log)
  const id = randomUUID()
  await createJob(rpc, 'TEST', { id, kind: 'test.logged', spec: { name: 'Diwali' } }, Array.from({ length: 12 }, (_v, n) => ({ n })))
  // Four were answered by a runner before a restart: the next one takes up the other eight.
  const before = await rpc<{ items: ClaimedItem[] }>('job_claim', { p_kind: 'test.logged', p_worker: 'before', p_limit: 4, p_lease_ms: 5000 })
  await rpc('job_complete', { p_worker: 'before', p_results: before.items.map(i => ({ job_id: id, seq: i.seq, state: 'sent', result: null, reason: null })) })
  const lines: Array<{ obj: Record<string, unknown>, msg?: string }> = []
  const logger = { info: (obj: object, msg?: string) => { lines.push({ obj: obj as Record<string, unknown>, msg }) }, warn () {}, error () {} }
  const runner = createJobRunner<{ n: number }, { name: string }>({
    rpc,
    kind: 'test.logged',
    concurrency: 2,
    leaseMs: 5000,
    idleMs: 20,
    logger,
    label: job => `Test campaign "${job.spec.name}"`,
    handle: async (_job, items) => items.map(i => ({ seq: i.seq, state: 'sent' as const }))
  })
  runner.start()
  t.ok(await runner.waitFor(id, 30_000), 'the job ended')
  await runner.stop()
  const ended = await eventually(async () => lines.find(l => /completed/.test(l.msg ?? '')))
  t.match(lines[0], { obj: { jobId: id, kind: 'test.logged', total: 8 }, msg: 'Test campaign "Diwali" started: 8 to go' }, 'taken up, with what was left')
  t.match(ended, { obj: { jobId: id, done: 8, outcome: 'completed' }, msg: /^Test campaign "Diwali" completed: 8 of 8 in/ })
})

t.test('a job whose last contacts were a dead worker\'s: its end is logged when their lease runs out', async t => {
  const log = await createTestActivityLog(t)
  const rpc = log.rpc.bind(log)
  const id = randomUUID()
  await createJob(rpc, 'TEST', { id, kind: 'test.expired', spec: {} }, Array.from({ length: 6 }, (_v, n) => ({ n })))
  // The worker before a crash: it claimed two and was never heard of again.
  await rpc('job_claim', { p_kind: 'test.expired', p_worker: 'dead', p_limit: 2, p_lease_ms: 1500 })
  const lines: Array<{ obj: Record<string, unknown>, msg?: string }> = []
  const logger = { info: (obj: object, msg?: string) => { lines.push({ obj: obj as Record<string, unknown>, msg }) }, warn () {}, error () {} }
  const runner = createJobRunner<{ n: number }>({
    rpc,
    kind: 'test.expired',
    concurrency: 2,
    leaseMs: 400,
    idleMs: 20,
    logger,
    handle: async (_job, items) => items.map(i => ({ seq: i.seq, state: 'sent' as const }))
  })
  runner.start()
  t.teardown(() => runner.stop())
  const ended = await eventually(async () => lines.find(l => l.obj.outcome !== undefined), 20_000)
  t.match(ended, { obj: { jobId: id, outcome: 'completed_with_errors', done: 4, total: 6 }, msg: /^test\.expired job .* completed_with_errors: 4 of 6 in/ }, 'the end, with the two unknown ones not done')
  t.match(await progressOf(rpc, id), { status: 'completed_with_errors', sent: 4, unknown: 2 })
})
