/**
 * The idempotency plugin on a real server and a real database (PostgreSQL with TEST_DATABASE_URL,
 * else PGlite): concurrent duplicates run once, a replay survives a restart (a new app on the same
 * database), a different body is a 422, a running key a 409, a bad key a 400 naming the header, a
 * 5xx leaves the key free, and an expired key runs again and is purged.
 */
import t, { type Test } from 'tap'
import type { FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { createActivityLog, type ActivityLog } from '@switchboard/activity-log'
import { createTestBackend } from '@switchboard/activity-log/testing'
import { loadEnv, CommonEnvSchema } from '../src/server/env.ts'
import { idempotency, IDEMPOTENCY_HEADER, REPLAYED_HEADER, requestFingerprint, stillRunning } from '../src/server/idempotency.ts'
import { createBaseApp, selfBaseUrl } from '../src/server/service-app.ts'
import { createJob, newJobId } from '../src/server/job-runner.ts'
import { callContext } from '../src/outbound/provider-clients.ts'
import { eventually, jsonCaller } from '../src/testing/testing.ts'

/** What the routes did, across apps (a restart keeps the world, not the process). */
interface World {
  runs: number
  /** While set, /things waits for it before answering: a request "still running". */
  gate?: Promise<void>
}

async function start (t: Test, log: ActivityLog, world: World, caller: (request: FastifyRequest) => string = () => '') {
  const app = createBaseApp('DEMO', false, loadEnv(CommonEnvSchema, {}))
  await app.register(idempotency, { store: log, codePrefix: 'DEMO', callerOf: caller, purgeIntervalMs: 0 })
  app.post('/things', {
    config: { idempotent: true },
    schema: { body: Type.Object({ name: Type.String(), fail: Type.Optional(Type.Boolean()) }) }
  }, async (request, reply) => {
    world.runs++
    const n = world.runs
    await world.gate
    if (request.body.fail) return reply.code(502).send({ statusCode: 502, code: 'DEMO_PROVIDER_ERROR', error: 'Bad Gateway', message: 'the provider failed', requestId: request.id })
    return reply.code(201).header('location', `/things/${n}`).header('x-thing-run', String(n)).send({ id: n, name: request.body.name })
  })
  app.post('/plain', async () => ({ ok: true }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { app, call: jsonCaller(selfBaseUrl(app)) }
}

// One database for the file (an embedded one takes seconds to create); each test has its own keys.
const backend = await createTestBackend(t)
const quiet = { info () {}, warn () {}, error () {} }
const sharedLog = createActivityLog({ backend, flushIntervalMs: 1, logger: quiet })
async function database (_t: Test) {
  return { backend, log: sharedLog }
}

const key = (k: string) => ({ [IDEMPOTENCY_HEADER]: k })

t.test('concurrent duplicates run once; the others get the replay or a 409, never a second run', async t => {
  const { log } = await database(t)
  const world: World = { runs: 0 }
  const { call } = await start(t, log, world)
  let open!: () => void
  world.gate = new Promise(resolve => { open = resolve })
  const first = call('POST', '/things', { name: 'a' }, key('dup-1'))
  // The duplicates go once the first holds the key (it has reached the route). Sent at once, one of
  // them could reach the database first on a loaded machine: it then held the key and waited at the
  // gate, which opens only after the duplicates have answered, and the test hung until tap's timeout.
  await eventually(async () => world.runs === 1)
  // While the first waits at the gate, its key is claimed: every duplicate is a 409 at once.
  const during = await Promise.all([1, 2, 3, 4].map(() => call('POST', '/things', { name: 'a' }, key('dup-1'))))
  for (const r of during) t.match([r.status, r.body.code, r.headers['retry-after']], [409, 'DEMO_IDEMPOTENCY_KEY_IN_USE', '1'])
  open()
  const done = await first
  t.same([done.status, done.body, done.headers[REPLAYED_HEADER]], [201, { id: 1, name: 'a' }, undefined])
  const again = await Promise.all([1, 2, 3].map(() => call('POST', '/things', { name: 'a' }, key('dup-1'))))
  for (const r of again) {
    t.same([r.status, r.body, r.headers[REPLAYED_HEADER], r.headers.location, r.headers['x-thing-run']], [201, { id: 1, name: 'a' }, 'true', '/things/1', '1'], 'the first answer, headers and all')
    t.not(r.headers['x-request-id'], done.headers['x-request-id'], 'the request id is this request\'s own')
  }
  t.equal(world.runs, 1, 'the route ran once for eight requests')

  // A burst with no gate: still one run, and every answer is that run's.
  const burst = await Promise.all(Array.from({ length: 20 }, () => call('POST', '/things', { name: 'b' }, key('dup-2'))))
  t.equal(world.runs, 2)
  t.same(new Set(burst.filter(r => r.status === 201).map(r => r.body.id)), new Set([2]))
  t.ok(burst.every(r => r.status === 201 || r.status === 409), 'a replay or a 409')
})

t.test('a replay works across a restart: the key and its answer are in the database', async t => {
  const { backend, log } = await database(t)
  const world: World = { runs: 0 }
  const before = await start(t, log, world)
  const first = await before.call('POST', '/things', { name: 'kept' }, key('restart-1'))
  t.equal(first.status, 201)
  await before.app.close()

  const log2 = createActivityLog({ backend, flushIntervalMs: 1, logger: quiet })
  const after = await start(t, log2, world)
  const replay = await after.call('POST', '/things', { name: 'kept' }, key('restart-1'))
  t.same([replay.status, replay.body, replay.headers[REPLAYED_HEADER], replay.headers.location], [201, first.body, 'true', '/things/1'])
  t.equal(world.runs, 1)
  t.match(await backend.select('idempotency_keys', { where: { idem_key: 'restart-1' } }), [{ state: 'done', response_status: 201 }])
})

t.test('the same key with another body or URL is a 422 naming the conflict; the key order of a body does not matter', async t => {
  const { log } = await database(t)
  const world: World = { runs: 0 }
  const { call } = await start(t, log, world)
  t.equal((await call('POST', '/things', { name: 'one', fail: false }, key('k-422'))).status, 201)
  t.equal((await call('POST', '/things', '{"fail":false,"name":"one"}', key('k-422'))).headers[REPLAYED_HEADER], 'true', 'same parameters, other order: a replay')
  for (const [url, body] of [['/things', { name: 'two' }], ['/things?x=1', { name: 'one', fail: false }]] as const) {
    const other = await call('POST', url, body, key('k-422'))
    t.equal(other.status, 422)
    t.match(other.body, { code: 'DEMO_IDEMPOTENCY_KEY_REUSED', message: /Idempotency-Key "k-422" was already used .* with a different request .*Use a new key/, details: [{ field: 'headers/idempotency-key' }] })
  }
  t.equal(world.runs, 1)
})

t.test('keys are per caller: the same key from two callers runs twice, and each replays its own', async t => {
  const { log } = await database(t)
  const world: World = { runs: 0 }
  const { call } = await start(t, log, world, request => String(request.headers.authorization))
  const as = (who: string) => ({ ...key('shared'), authorization: who })
  const alice = await call('POST', '/things', { name: 'x' }, as('alice'))
  const bob = await call('POST', '/things', { name: 'x' }, as('bob'))
  t.same([alice.body.id, bob.body.id], [1, 2], 'two runs')
  t.same((await call('POST', '/things', { name: 'x' }, as('alice'))).body, alice.body)
  t.same((await call('POST', '/things', { name: 'x' }, as('bob'))).body, bob.body)
  t.equal(world.runs, 2)
})

t.test('a malformed key is a 400 naming the header; no key, no bookkeeping', async t => {
  const { backend, log } = await database(t)
  const world: World = { runs: 0 }
  const { call } = await start(t, log, world)
  for (const bad of ['', 'has space', 'x'.repeat(256), 'tab\there']) {
    const res = await call('POST', '/things', { name: 'a' }, key(bad))
    t.equal(res.status, 400, JSON.stringify(bad))
    t.match(res.body, { code: 'DEMO_INVALID_REQUEST', message: /idempotency-key/ })
  }
  t.equal((await call('POST', '/things', { name: 'a' }, key('x'.repeat(255)))).status, 201, '255 characters is the limit')
  t.equal((await call('POST', '/things', { name: 'a' })).status, 201)
  t.equal((await call('POST', '/things', { name: 'a' })).status, 201)
  t.equal(world.runs, 3)
  t.equal(await backend.count('idempotency_keys', { idem_key: 'x'.repeat(255) }), 1, 'only the request with a key left one')
})

t.test('a 5xx is not kept: a retry with the key runs again', async t => {
  const { backend, log } = await database(t)
  const world: World = { runs: 0 }
  const { call } = await start(t, log, world)
  t.equal((await call('POST', '/things', { name: 'a', fail: true }, key('k-5xx'))).status, 502)
  t.equal(await backend.count('idempotency_keys', { idem_key: 'k-5xx' }), 0, 'the claim was released')
  const second = await call('POST', '/things', { name: 'a', fail: true }, key('k-5xx'))
  t.same([second.status, second.headers[REPLAYED_HEADER]], [502, undefined])
  t.equal(world.runs, 2)
})

t.test('an expired key runs again, and expired keys are purged', async t => {
  const { backend, log } = await database(t)
  const world: World = { runs: 0 }
  const { call } = await start(t, log, world)
  t.equal((await call('POST', '/things', { name: 'a' }, key('k-old'))).body.id, 1)
  t.equal((await call('POST', '/things', { name: 'a' }, key('k-old'))).body.id, 1)
  t.equal(await backend.update('idempotency_keys', { idem_key: 'k-old' }, { expires_at: new Date(Date.now() - 1000).toISOString() }), 1)
  const fresh = await call('POST', '/things', { name: 'a' }, key('k-old'))
  t.same([fresh.body.id, fresh.headers[REPLAYED_HEADER]], [2, undefined], 'past its 24 h the key is new again')
  t.equal((await call('POST', '/things', { name: 'a' }, key('k-gone'))).status, 201)
  await backend.update('idempotency_keys', { idem_key: 'k-gone' }, { expires_at: new Date(Date.now() - 1000).toISOString() })
  t.equal(await log.rpc('purge_idempotency_keys'), 1)
  t.same((await backend.select('idempotency_keys', { where: { idem_key: { in: ['k-old', 'k-gone'] } } })).map(r => r.idem_key), ['k-old'])
})

t.test('a claim whose process died is taken over once its lease has run out', async t => {
  const { backend, log } = await database(t)
  const world: World = { runs: 0 }
  const { call } = await start(t, log, world)
  const stuck = { p_scope: ':POST /things', p_key: 'k-dead', p_owner: crypto.randomUUID(), p_lease_seconds: 300, p_ttl_seconds: 86400 }
  // The fingerprint the plugin computes for this request, claimed by a "process" that then died.
  await log.rpc('claim_idempotency_key', { ...stuck, p_fingerprint: requestFingerprint('POST', '/things', { name: 'a' }) })
  t.equal((await call('POST', '/things', { name: 'a' }, key('k-dead'))).status, 409, 'within the lease: still running')
  await backend.update('idempotency_keys', { idem_key: 'k-dead' }, { locked_until: new Date(Date.now() - 1000).toISOString() })
  t.equal((await call('POST', '/things', { name: 'a' }, key('k-dead'))).status, 201, 'after it: taken over and run')
  t.equal(world.runs, 1)
})

t.test('a key whose first request has not answered: the 409 says it may still run or be orphaned, and when the key is free; Retry-After grows with its age', async t => {
  const started = '2026-12-06T10:00:00.000Z'
  const at = (seconds: number) => Date.parse(started) + seconds * 1000
  t.equal(stillRunning('k', started, 300, at(0.2)).retryAfter, 1, 'just begun: retry in a second')
  t.equal(stillRunning('k', started, 300, at(100)).retryAfter, 20, 'older: a fifth of its age')
  t.equal(stillRunning('k', started, 300, at(290)).retryAfter, 10, 'never past the takeover')
  t.equal(stillRunning('k', started, 300, at(400)).retryAfter, 1, 'past it: at once')
  const { message } = stillRunning('order-1042', started, 300, at(60))
  t.match(message, /Idempotency-Key "order-1042" started at 2026-12-06T10:00:00\.000Z has not answered yet/)
  t.match(message, /the key is free again at 2026-12-06T10:05:00\.000Z/)
})

t.test('a request that stored a job and then failed keeps its key: the retry after the lease takes up that job, never stores a second', async t => {
  const { log } = await database(t)
  const rpc = log.rpc.bind(log)
  const app = createBaseApp('DEMO', false, loadEnv(CommonEnvSchema, {}))
  await app.register(idempotency, { store: log, codePrefix: 'DEMO', purgeIntervalMs: 0, leaseSeconds: 1 })
  let failAfterStoring = true
  app.post('/jobs', { config: { idempotent: true }, schema: { body: Type.Object({ n: Type.Integer() }) } }, async (request, reply) => {
    const id = newJobId(callContext(request))
    const created = await createJob(rpc, 'DEMO', { id, kind: 'demo.job', spec: {} }, [{ n: request.body.n }])
    // The database going away after the job was stored, say: a 5xx, which is not kept for replay.
    if (failAfterStoring) return reply.code(503).send({ statusCode: 503, code: 'DEMO_DATABASE_UNAVAILABLE', error: 'Service Unavailable', message: 'later', requestId: request.id })
    return reply.code(202).send({ id, created })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const call = jsonCaller(selfBaseUrl(app))

  t.equal((await call('POST', '/jobs', { n: 1 }, key('job-1'))).status, 503)
  const atOnce = await call('POST', '/jobs', { n: 1 }, key('job-1'))
  t.same([atOnce.status, atOnce.body.code], [409, 'DEMO_IDEMPOTENCY_KEY_IN_USE'], 'the key is still held: its job exists (before, a 5xx let it go and the retry stored a second job)')
  failAfterStoring = false
  const retried = await eventually(async () => { const r = await call('POST', '/jobs', { n: 1 }, key('job-1')); return r.status === 202 && r }, 5000, 100)
  t.match(retried.body, { created: false }, 'after the lease, the retry finds the job the first attempt stored')
  const jobs = await log.select('jobs', { where: { kind: 'demo.job' } })
  t.equal(jobs.length, 1, 'one job')
  t.equal(retried.body.id, jobs[0]!.id)
})
