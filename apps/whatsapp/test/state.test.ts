/**
 * The AiSensy emulator's pending status notifications live in the database
 * (aisensy_emulator_state): a message accepted before a stop (SIGTERM, or a SIGKILL of the service
 * as a child process) gets the rest of its statuses after the restart; two instances on one
 * database post the same project id, one takes over the messages of another that stopped, and a
 * reset through one drops what the other had pending. PostgreSQL with TEST_DATABASE_URL, else PGlite.
 */
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { App } from '@switchboard/service-kit/service-app'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import { adminHeaders, createTestInfrastructure, eventually, freePort, jsonCaller, startProcess, startRecorder, TEST_TOKENS, type TestInfrastructure } from '@switchboard/service-kit/testing'
import { createTestDatabase } from '@switchboard/activity-log/testing'
import { buildApp } from '../src/app.ts'
import { loadWhatsAppEnv } from '../src/config.ts'
import { campaignBody } from './helper.ts'

t.setTimeout(400_000)

const V2 = '/aisensy/campaign/t1/api/v2'
/** +919000000004 is the magic "read" number: sent → delivered → read, always. */
const READ_NUMBER = '+919000000004'

type Recorder = Awaited<ReturnType<typeof startRecorder>>
interface Notification { project_id: string, created_at: string, topic: string, data: { message: { id: string, status: string } } }
const notifications = (hook: Recorder) => hook.received.map(r => JSON.parse(r.body) as Notification)
/** A message's statuses in the order they happened (created_at): posts travel concurrently. */
const statusesOf = (hook: Recorder, id: string) => notifications(hook).filter(n => n.data.message.id === id)
  .sort((a, b) => a.created_at.localeCompare(b.created_at)).map(n => n.data.message.status)
/** Until sent, delivered and read have all arrived (each may travel on its own connection). */
const allThree = (hook: Recorder, id: string, timeoutMs: number) =>
  eventually(async () => { const s = statusesOf(hook, id); return ['sent', 'delivered', 'read'].every(x => s.includes(x)) && s }, timeoutMs)

/** One instance of the WhatsApp service on the given database, posting its notifications to `hook`. */
async function instance (t: Test, infra: TestInfrastructure, hook: Recorder, gapMs: number) {
  const app: App = await buildApp({ env: loadWhatsAppEnv({ WHATSAPP_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent', AISENSY_WEBHOOK_URL: `${hook.origin}/aisensy`, AISENSY_STATUS_GAP_MS: `${gapMs}-${gapMs}` }), shared: infra, logger: false })
  let closed = false
  const close = async () => { if (!closed) { closed = true; await app.close() } }
  t.teardown(close)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const call = jsonCaller(selfBaseUrl(app))
  return { app, call, close }
}

t.test('a restart (SIGTERM): a message accepted before it gets the rest of its statuses after it, each once', async t => {
  const infra = await createTestInfrastructure(t)
  const hook = await startRecorder(t)
  const before = await instance(t, infra, hook, 1_500)
  const sent = await before.call('POST', V2, campaignBody({ destination: READ_NUMBER }))
  t.equal(sent.status, 200)
  const id = sent.body.submitted_message_id as string
  await before.close()
  const postedBefore = statusesOf(hook, id)

  const after = await instance(t, infra, hook, 1_500)
  // The stopped instance's message is taken over once its next status is 5 s overdue.
  await allThree(hook, id, 30_000)
  // A message accepted after the restart plays as usual; by its end a repeat of the first's would have come.
  const next = (await after.call('POST', V2, campaignBody({ destination: READ_NUMBER }))).body.submitted_message_id as string
  await allThree(hook, next, 30_000)
  t.same(statusesOf(hook, next), ['sent', 'delivered', 'read'])
  t.same(statusesOf(hook, id), ['sent', 'delivered', 'read'], `every status once, in order (posted before the stop: ${postedBefore.join(', ') || 'none'})`)
  t.equal(new Set(notifications(hook).map(n => n.project_id)).size, 1, 'the same project id before and after the restart')
})

t.test('two instances: one project id, one takes over what the other left, a reset through one drops what the other had pending', async t => {
  const infra = await createTestInfrastructure(t)
  const hook = await startRecorder(t)
  const one = await instance(t, infra, hook, 3_000)
  const two = await instance(t, infra, hook, 3_000)

  // Accepted by one, which stops before its first status: two posts them all.
  const left = (await one.call('POST', V2, campaignBody({ destination: READ_NUMBER }))).body.submitted_message_id as string
  await one.close()
  await allThree(hook, left, 40_000)

  const three = await instance(t, infra, hook, 3_000)
  t.equal(new Set(notifications(hook).map(n => n.project_id)).size, 1, 'one project id across the instances')
  // Pending on two (first status due in 3 s); reset through three; a control message accepted
  // by two after the reset is due 2 s later than the dropped one, at every step.
  const dropped = (await two.call('POST', V2, campaignBody({ destination: READ_NUMBER }))).body.submitted_message_id as string
  t.equal((await three.call('POST', '/admin/reset', undefined, adminHeaders())).status, 200)
  await new Promise(resolve => setTimeout(resolve, 2_000))
  const control = (await two.call('POST', V2, campaignBody({ destination: READ_NUMBER }))).body.submitted_message_id as string
  await allThree(hook, control, 40_000)
  t.same(statusesOf(hook, control), ['sent', 'delivered', 'read'], 'a message accepted after the reset plays')
  t.same(statusesOf(hook, left), ['sent', 'delivered', 'read'], 'the message one left was played to its end by two, each status once')
  t.notOk(statusesOf(hook, dropped).includes('read'), `the message pending on two at the reset through three posted no read (its read was due before the control's): ${statusesOf(hook, dropped).join(', ') || 'nothing'}`)
  t.notOk(statusesOf(hook, dropped).includes('delivered'), 'nor delivered')
})

t.test('a clock moved a day ahead: a stopped instance\'s message is taken over after the grace, not a day later', async t => {
  const infra = await createTestInfrastructure(t)
  const hook = await startRecorder(t)
  const one = await instance(t, infra, hook, 2_500)
  await instance(t, infra, hook, 2_500)
  // Each status is stored due on the clock, a day ahead of real time.
  await one.app.runtime.setClock({ frozen_at: null, offset_ms: 86_400_000 }, 'test')
  t.teardown(() => one.app.runtime.setClock({ frozen_at: null, offset_ms: 0 }, 'test'))
  const id = (await one.call('POST', V2, campaignBody({ destination: READ_NUMBER }))).body.submitted_message_id as string
  await one.close()
  await allThree(hook, id, 40_000)
  t.same(statusesOf(hook, id), ['sent', 'delivered', 'read'], 'the other instance posted them, each once')
})

/** The WhatsApp service alone (src/server.ts) as a child process on `env`, answering /health. */
async function child (t: Test, env: Record<string, string>) {
  const url = `http://127.0.0.1:${env.WHATSAPP_PORT}`
  const proc = await startProcess(t, { script: resolve(import.meta.dirname, '../src/server.ts'), env, healthUrl: `${url}/health`, timeoutMs: 150_000 })
  return { ...proc, url, call: jsonCaller(url) }
}

for (const backend of ['pglite', 'postgres'] as const) {
  t.test(`${backend}: SIGKILL mid-lifecycle, and the statuses still due are posted after the restart`, { skip: backend === 'postgres' && !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL' }, async t => {
    const hook = await startRecorder(t)
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-aisensy-state-'))
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
    const env: Record<string, string> = {
      SWITCHBOARD_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      WHATSAPP_PORT: String(await freePort()),
      API_TOKEN: TEST_TOKENS.apiToken,
      ADMIN_TOKEN: TEST_TOKENS.adminToken,
      INTERNAL_TOKEN: TEST_TOKENS.internalToken,
      WHATSAPP_LATENCY_MS: '0-0',
      WHATSAPP_SUCCESS_RATE: '1',
      AISENSY_WEBHOOK_URL: `${hook.origin}/aisensy`,
      AISENSY_STATUS_GAP_MS: '1000-1000',
      ...(backend === 'postgres' ? { DATABASE_URL: await createTestDatabase(t) } : {})
    }
    let proc = await child(t, env)
    const first = (await proc.call('POST', V2, campaignBody({ destination: READ_NUMBER }))).body.submitted_message_id as string
    // Killed mid-way: after its "sent", before its "read".
    await eventually(async () => statusesOf(hook, first).includes('sent'), 30_000)
    // Accepted 100 ms (the README's loss bound) before the kill.
    const late = (await proc.call('POST', V2, campaignBody({ destination: READ_NUMBER }))).body.submitted_message_id as string
    await new Promise(resolve => setTimeout(resolve, 100))
    t.same(await proc.kill('SIGKILL'), { code: null, signal: 'SIGKILL' })
    const postedBefore = statusesOf(hook, first)
    t.notOk(postedBefore.includes('read'), `killed mid-lifecycle, after ${postedBefore.join(' → ')}`)

    proc = await child(t, env)
    // The message accepted 100 ms before the kill is checked on PostgreSQL: the embedded database
    // answers a write before its files are synced (relaxed durability), so on a loaded machine a
    // SIGKILL can take more than the last 100 ms with it (README, Emulator state).
    for (const id of backend === 'postgres' ? [first, late] : [first]) {
      const all = await allThree(hook, id, 40_000)
      // A status posted within the loss bound before the kill may come again: webhooks are at-least-once.
      t.same([...new Set(all)], ['sent', 'delivered', 'read'], `message ${id === first ? 'killed mid-way' : 'accepted just before the kill'}: ${all.join(' → ')}`)
    }
    t.same(await proc.kill('SIGTERM'), { code: 0, signal: null }, 'a clean stop', { output: proc.output().slice(-2000) })
  })
}
