/**
 * The SendGrid emulator's state lives in the database (sendgrid_emulator_state): stats, batches
 * with their cancel/pause status, scheduled sends and the Event Webhook settings. Two instances on
 * one database see what either made (through the official @sendgrid/client), a reset through one
 * clears both, and a restart (SIGTERM, or a SIGKILL of the service as a child process) keeps it all;
 * a scheduled send due while the process was down goes out after the restart. PostgreSQL with
 * TEST_DATABASE_URL, else PGlite.
 */
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Client } from '@sendgrid/client'
import type { App } from '@switchboard/service-kit/service-app'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import { adminHeaders, createTestInfrastructure, eventually, freePort, holdSync, jsonCaller, twoInstances, startProcess, startRecorder, TEST_TOKENS, type TestInfrastructure } from '@switchboard/service-kit/testing'
import { createTestDatabase } from '@switchboard/activity-log/testing'
import { buildApp } from '../src/app.ts'
import { loadEmailEnv } from '../src/config.ts'
import { auth, mail, MOCK_KEY } from './helper.ts'

t.setTimeout(400_000)

const SETTINGS = '/sendgrid/v3/user/webhooks/event/settings'
const today = () => new Date().toISOString().slice(0, 10)
type Recorder = Awaited<ReturnType<typeof startRecorder>>
const eventsAt = (hook: Recorder) => hook.received.flatMap(r => JSON.parse(r.body) as Array<{ event: string, email: string }>)

/** One instance of the email service on the given database. */
async function instance (t: Test, infra: TestInfrastructure) {
  const app: App = await buildApp({ env: loadEmailEnv({ EMAIL_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent' }), shared: infra, logger: false })
  let closed = false
  const close = async () => { if (!closed) { closed = true; await app.close() } }
  t.teardown(close)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = selfBaseUrl(app)
  return { app, url, call: jsonCaller(url), close, sdk: sdk(url) }
}

/** The official client pointed at an emulator. */
function sdk (url: string) {
  const client = new Client()
  client.setApiKey(MOCK_KEY)
  client.setDefaultRequest('baseUrl', `${url}/sendgrid`)
  return client
}

const statsOf = async (call: ReturnType<typeof jsonCaller>) => (await call('GET', `/sendgrid/v3/stats?start_date=${today()}`, undefined, auth)).body[0].stats[0].metrics as Record<string, number>

t.test('two instances on one database: webhooks, batches and stats made through either are seen by both; a reset through one clears both', async t => {
  const infra = await createTestInfrastructure(t)
  const hook = await startRecorder(t)
  const one = await instance(t, infra)
  const two = await instance(t, infra)

  const [created] = await one.sdk.request({ method: 'POST', url: '/v3/user/webhooks/event/settings', body: { url: `${hook.origin}/events`, friendly_name: 'Shared', enabled: true, processed: true, delivered: true } })
  t.equal(created.statusCode, 201, 'a webhook created through one, with @sendgrid/client')
  const id = (created.body as { id: string }).id
  const signed = (await one.call('PATCH', `${SETTINGS}/signed/${id}`, { enabled: true }, auth)).body.public_key as string
  const [read] = await two.sdk.request({ method: 'GET', url: `/v3/user/webhooks/event/settings/${id}` })
  t.match(read.body, { id, url: `${hook.origin}/events`, friendly_name: 'Shared' }, 'read through two by id (from the database)')
  await eventually(async () => (await two.call('GET', `${SETTINGS}/${id}`, undefined, auth)).body.public_key === signed)
  t.pass('signing switched on through one reaches two, with the same public key')
  const legacy = (await one.call('GET', `${SETTINGS}/all`, undefined, auth)).body.webhooks[0]
  t.same((await two.call('GET', `${SETTINGS}/all`, undefined, auth)).body.webhooks.map((w: { id: string }) => w.id), [legacy.id, id], 'one legacy webhook for both, then the new one')

  const [batch] = await one.sdk.request({ method: 'POST', url: '/v3/mail/batch' })
  const batchId = (batch.body as { batch_id: string }).batch_id
  t.equal((await two.call('GET', `/sendgrid/v3/mail/batch/${batchId}`, undefined, auth)).status, 200, 'a batch id created through one is valid on two')
  t.equal((await two.call('POST', '/sendgrid/v3/user/scheduled_sends', { batch_id: batchId, status: 'pause' }, auth)).status, 201, 'and two pauses it')
  await eventually(async () => (await one.call('GET', '/sendgrid/v3/user/scheduled_sends', undefined, auth)).body.some((s: { batch_id: string, status: string }) => s.batch_id === batchId && s.status === 'pause'))
  t.pass('one lists the pause set through two')

  t.equal((await one.call('POST', '/sendgrid/v3/mail/send', mail(['a@example.com', 'b@example.com']), auth)).status, 202)
  t.equal((await two.call('POST', '/sendgrid/v3/mail/send', mail('c@example.com'), auth)).status, 202)
  await eventually(async () => (await statsOf(one.call)).requests === 3 && (await statsOf(two.call)).requests === 3)
  t.pass('GET /v3/stats on either counts the mails sent through both')
  await eventually(async () => eventsAt(hook).filter(e => e.event === 'delivered').length === 3)
  t.pass('the webhook made through one gets the events of the mails sent through both')

  t.equal((await one.call('POST', '/admin/reset', undefined, adminHeaders())).status, 200)
  await eventually(async () => (await two.call('GET', `${SETTINGS}/all`, undefined, auth)).body.webhooks.length === 1)
  t.same((await two.call('GET', `${SETTINGS}/all`, undefined, auth)).body.webhooks.map((w: { id: string }) => w.id), [legacy.id], 'two is back to the one legacy webhook')
  t.equal((await two.call('GET', `${SETTINGS}/${id}`, undefined, auth)).status, 404, 'the webhook is gone on two')
  t.equal((await two.call('GET', `/sendgrid/v3/mail/batch/${batchId}`, undefined, auth)).status, 400, 'and the batch')
  t.equal((await statsOf(two.call)).requests, 0, 'and the stats')
})

t.test('a webhook changed through an instance holding it a moment too long keeps another instance\'s change', async t => {
  const { one, two, stateOne, stateTwo } = await twoInstances(t, instance)
  const id = (await one.call('POST', SETTINGS, { url: 'https://app.example/events', friendly_name: 'Made on one', delivered: true }, auth)).body.id as string
  await eventually(async () => (await two.call('GET', `${SETTINGS}/${id}`, undefined, auth)).status === 200)
  // Two holds the webhook and has not synced since one's change (the up-to-1 s window, held open).
  const release = holdSync(t, stateTwo)
  t.equal((await one.call('PATCH', `${SETTINGS}/${id}`, { friendly_name: 'Renamed on one', bounce: true }, auth)).status, 200)
  await stateOne.flush()
  const signed = await two.call('PATCH', `${SETTINGS}/signed/${id}`, { enabled: true }, auth)
  t.match(signed.body, { id, public_key: /^MFkw/ })
  t.match((await two.call('PATCH', `${SETTINGS}/${id}`, { open: true }, auth)).body, { friendly_name: 'Renamed on one', bounce: true, open: true }, 'two changed the stored copy: one\'s rename and flag kept')
  await stateTwo.flush()
  release()
  await eventually(async () => (await one.call('GET', `${SETTINGS}/${id}`, undefined, auth)).body.open === true)
  t.match((await one.call('GET', `${SETTINGS}/${id}`, undefined, auth)).body, { friendly_name: 'Renamed on one', bounce: true, delivered: true, open: true }, 'one keeps its change and sees two\'s')
  t.equal((await one.call('GET', `${SETTINGS}/signed/${id}`, undefined, auth)).body.public_key, signed.body.public_key, 'and the signing two switched on')
})

t.test('a restart (SIGTERM) keeps webhooks, batches and stats, and a scheduled send due while stopped goes out after it', async t => {
  const infra = await createTestInfrastructure(t)
  const hook = await startRecorder(t)
  const before = await instance(t, infra)
  const [created] = await before.sdk.request({ method: 'POST', url: '/v3/user/webhooks/event/settings', body: { url: `${hook.origin}/events`, processed: true, delivered: true } })
  const id = (created.body as { id: string }).id
  const key = (await before.call('PATCH', `${SETTINGS}/signed/${id}`, { enabled: true }, auth)).body.public_key as string
  const batchId = (await before.call('POST', '/sendgrid/v3/mail/batch', undefined, auth)).body.batch_id as string
  await before.call('POST', '/sendgrid/v3/user/scheduled_sends', { batch_id: batchId, status: 'cancel' }, auth)
  t.equal((await before.call('POST', '/sendgrid/v3/mail/send', mail('now@example.com'), auth)).status, 202)
  await eventually(async () => (await statsOf(before.call)).delivered === 1)
  // Due in 2 s: while no instance runs.
  t.equal((await before.call('POST', '/sendgrid/v3/mail/send', mail('scheduled@example.com', { send_at: Math.ceil(Date.now() / 1000) + 2 }), auth)).status, 202)
  await before.close()
  t.notOk(eventsAt(hook).some(e => e.email === 'scheduled@example.com'), 'the scheduled send had not gone out before the stop')

  const after = await instance(t, infra)
  t.match((await after.call('GET', `${SETTINGS}/${id}`, undefined, auth)).body, { id, url: `${hook.origin}/events`, public_key: key }, 'the webhook, signing with the same key')
  t.same((await after.call('GET', `/sendgrid/v3/user/scheduled_sends/${batchId}`, undefined, auth)).body, [{ batch_id: batchId, status: 'cancel' }], 'the batch and its cancel')
  await eventually(async () => eventsAt(hook).some(e => e.email === 'scheduled@example.com' && e.event === 'delivered'), 20_000)
  t.pass('the scheduled send went out after the restart')
  t.match(await statsOf(after.call), { requests: 2, delivered: 2 }, 'the stats: the mail before the stop and the scheduled one after it')
})

/** The email service alone (src/server.ts) as a child process on `env`, answering /health. */
async function child (t: Test, env: Record<string, string>) {
  const url = `http://127.0.0.1:${env.EMAIL_PORT}`
  const proc = await startProcess(t, { script: resolve(import.meta.dirname, '../src/server.ts'), env, healthUrl: `${url}/health`, timeoutMs: 150_000 })
  return { ...proc, url, call: jsonCaller(url) }
}

for (const backend of ['pglite', 'postgres'] as const) {
  t.test(`${backend}: SIGKILL 100 ms after the last answers keeps what they changed, and a scheduled send due while dead goes out`, { skip: backend === 'postgres' && !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL' }, async t => {
    const hook = await startRecorder(t)
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-sendgrid-state-'))
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
    const env: Record<string, string> = {
      SWITCHBOARD_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      EMAIL_PORT: String(await freePort()),
      API_TOKEN: TEST_TOKENS.apiToken,
      ADMIN_TOKEN: TEST_TOKENS.adminToken,
      INTERNAL_TOKEN: TEST_TOKENS.internalToken,
      EMAIL_LATENCY_MS: '0-0',
      EMAIL_SUCCESS_RATE: '1',
      ...(backend === 'postgres' ? { DATABASE_URL: await createTestDatabase(t) } : {})
    }
    let proc = await child(t, env)
    const client = sdk(proc.url)
    const [created] = await client.request({ method: 'POST', url: '/v3/user/webhooks/event/settings', body: { url: `${hook.origin}/events`, friendly_name: 'Before the kill', processed: true, delivered: true } })
    const id = (created.body as { id: string }).id
    const [batch] = await client.request({ method: 'POST', url: '/v3/mail/batch' })
    const batchId = (batch.body as { batch_id: string }).batch_id
    // Due in 3 s: while the process is dead.
    t.equal((await proc.call('POST', '/sendgrid/v3/mail/send', mail('due-while-dead@example.com', { send_at: Math.ceil(Date.now() / 1000) + 3 }), auth)).status, 202)
    t.equal((await proc.call('POST', '/sendgrid/v3/mail/send', mail(['x@example.com', 'y@example.com']), auth)).status, 202)
    await eventually(async () => (await statsOf(proc.call)).delivered === 2)
    // The last changes, 100 ms (the README's loss bound) before the kill.
    t.equal((await proc.call('POST', '/sendgrid/v3/user/scheduled_sends', { batch_id: batchId, status: 'pause' }, auth)).status, 201)
    t.equal((await proc.call('PATCH', `${SETTINGS}/${id}`, { friendly_name: 'Renamed just before the kill' }, auth)).status, 200)
    await new Promise(resolve => setTimeout(resolve, 100))
    t.same(await proc.kill('SIGKILL'), { code: null, signal: 'SIGKILL' })
    t.notOk(eventsAt(hook).some(e => e.email === 'due-while-dead@example.com'), 'the scheduled send had not gone out before the kill')

    proc = await child(t, env)
    t.match((await proc.call('GET', `${SETTINGS}/${id}`, undefined, auth)).body, { id, url: `${hook.origin}/events`, friendly_name: 'Renamed just before the kill' }, 'the webhook, renamed 100 ms before the kill')
    t.same((await proc.call('GET', `/sendgrid/v3/user/scheduled_sends/${batchId}`, undefined, auth)).body, [{ batch_id: batchId, status: 'pause' }], 'the batch, paused 100 ms before the kill')
    await eventually(async () => eventsAt(hook).some(e => e.email === 'due-while-dead@example.com' && e.event === 'delivered'), 30_000)
    t.pass('the scheduled send due while the process was dead went out after the restart')
    t.match(await statsOf(proc.call), { requests: 3, delivered: 3 }, 'the stats: the two mails before the kill and the scheduled one after it')
    t.same(await proc.kill('SIGTERM'), { code: 0, signal: null }, 'a clean stop', { output: proc.output().slice(-2000) })
  })
}
