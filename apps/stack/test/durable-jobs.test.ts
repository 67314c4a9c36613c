/**
 * Campaigns and bulk sends are jobs in the database. Proven with real processes: the WhatsApp
 * service runs as a child (live mode, its AiSensy being the emulator of this process behind a
 * counting proxy), killed with SIGKILL at random moments and started again; and two instances on
 * one PostgreSQL share a campaign, one of them killed half way. Every contact is accounted for and
 * none reaches the emulator twice.
 */
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPostgresBackend } from '@switchboard/activity-log'
import { createTestDatabase } from '@switchboard/activity-log/testing'
import { internalHeaders, startServiceApp, TEST_TOKENS } from '@switchboard/service-kit/testing'
import { buildApp as buildWhatsApp } from '@switchboard/whatsapp/app'
import { loadWhatsAppEnv } from '@switchboard/whatsapp/config'
import { admin, api, eventually, send, startStack } from './helper.ts'
import { assertAccountedFor, assertNoneTwice, callService as call, countingProxy, FINAL, killAtRandomMoments, killPoints, phoneNumber as number, startChild, WHATSAPP_SERVER, type Contacts } from './job-processes.ts'

// Real processes killed and restarted several times: longer than tap's default 120 s per file on a busy machine.
t.setTimeout(300_000)

// A well-formed AiSensy key (a JWT): the emulator accepts any.
const AISENSY_KEY = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6InRlc3QiLCJhcHBOYW1lIjoiQWlTZW5zeSJ9.c2lnbmF0dXJl'
const LEASE_MS = 1000
const CONCURRENCY = 8

/** An AiSensy emulator (the WhatsApp app's, in this process) at 20-60 ms a send, behind a proxy counting destinations. */
async function countedAiSensy (t: Test) {
  const emulator = await startServiceApp(t, { service: 'whatsapp', buildApp: buildWhatsApp, loadEnv: loadWhatsAppEnv, env: { AISENSY_WEBHOOK_URL: 'off' }, simulation: { latencyMs: { min: 20, max: 60 } } })
  return countingProxy(t, `${emulator.url}/aisensy`, body => typeof body?.destination === 'string' ? [body.destination] : [])
}

async function serviceEnv (t: Test, aisensy: string, databaseUrl: string | undefined): Promise<Record<string, string>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-jobs-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  return {
    SWITCHBOARD_DATA_DIR: dataDir,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    // The test calls the service as the gateway would: with the internal credential.
    INTERNAL_TOKEN: TEST_TOKENS.internalToken,
    ADMIN_TOKEN: TEST_TOKENS.adminToken,
    MOCK_MODE: 'false',
    AISENSY_API_KEY: AISENSY_KEY,
    AISENSY_BASE_URL: aisensy,
    AISENSY_WEBHOOK_URL: 'off',
    JOB_LEASE_MS: String(LEASE_MS),
    BULK_WAIT_MS: '200',
    WHATSAPP_CAMPAIGN_CONCURRENCY: String(CONCURRENCY),
    WHATSAPP_BULK_CONCURRENCY: String(CONCURRENCY),
    SETTINGS_POLL_MS: '200'
  }
}

/** Waits until the campaign and the bulk send have ended; returns their contacts. */
async function ended (base: () => string, campaignId: string, batchId?: string): Promise<{ campaign: { status: string, contacts: Contacts }, bulk?: { status: string, contacts: Contacts, problems?: unknown[] } }> {
  const result = await eventually(async () => {
    const campaign = (await call(base(), 'GET', `/campaigns/${campaignId}`).catch(() => undefined))?.body
    const bulk = batchId === undefined ? undefined : (await call(base(), 'GET', `/messages/bulk/${batchId}`).catch(() => undefined))?.body
    if (!FINAL.includes(campaign?.status) || (batchId !== undefined && !FINAL.includes(bulk?.status))) return undefined
    return { campaign, ...(bulk ? { bulk } : {}) }
  }, 90_000, 100)
  if (!result) throw new Error('the campaign or the bulk send never ended')
  return result
}

t.test('SIGKILL at random moments during a campaign and a bulk send, restarted each time: every contact accounted for, none sent twice', async t => {
  const random = killPoints(t)
  const CAMPAIGN = 400
  const BULK = 300
  const ROUNDS = 3
  const aisensy = await countedAiSensy(t)
  const databaseUrl = process.env.TEST_DATABASE_URL ? await createTestDatabase(t) : undefined
  const env = await serviceEnv(t, aisensy.origin, databaseUrl)
  const first = await startChild(t, WHATSAPP_SERVER, 'WHATSAPP_PORT', env)

  const created = await call(first.url, 'POST', '/campaigns', { name: 'Crash test', template_name: 'welcome_message', contacts: Array.from({ length: CAMPAIGN }, (_v, i) => ({ to_number: number('81', i) })) })
  t.equal(created.status, 202, 'campaign accepted', { body: created.body })
  const bulk = await call(first.url, 'POST', '/messages/bulk', { template_name: 'welcome_message', contacts: Array.from({ length: BULK }, (_v, i) => ({ to_number: number('82', i) })) })
  t.equal(bulk.status, 202, 'a bulk send that outlasts BULK_WAIT_MS is answered 202', { body: bulk.body })
  t.match(bulk.body, { batch_id: String, status: 'running', total: BULK, progress_url: `/api/automation/whatsapp/bulk/${bulk.body.batch_id}` })

  const { child, killed } = await killAtRandomMoments(t, {
    child: first, restart: () => startChild(t, WHATSAPP_SERVER, 'WHATSAPP_PORT', env), emulator: aisensy, total: CAMPAIGN + BULK, rounds: ROUNDS, random, what: 'sends'
  })
  const { campaign, bulk: batch } = await ended(() => child.url, created.body.id, bulk.body.batch_id)

  await assertAccountedFor(t, {
    jobs: [['campaign', campaign, CAMPAIGN], ['bulk send', batch!, BULK]], emulator: aisensy, what: 'contacts', killed, jobIds: [created.body.id, bulk.body.batch_id], databaseUrl
  })
  // The bulk's progress names its unknown contacts, and says how to send them again.
  const problems = (batch!.problems ?? []) as Array<{ contact: string, state: string, reason: string }>
  t.equal(problems.length, Math.min(100, batch!.contacts.unknown + batch!.contacts.failed), 'the progress lists the contacts that need a look')
  t.ok(problems.filter(p => p.state === 'unknown').every(p => /^\+9182/.test(p.contact) && /retry the unknown contacts of its campaign or bulk send/.test(p.reason)), 'each unknown one with its number and why')
  t.equal(await child.terminate(), 0, 'SIGTERM ends the last one cleanly')
})

t.test('two WhatsApp instances on one PostgreSQL share a campaign; one is killed half way; the other finishes it, no duplicates', { skip: !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL (a PostgreSQL server)' }, async t => {
  // The 5,000 contacts scaled down to keep the suite fast; the bench runs the full size.
  const CONTACTS = 1000
  const aisensy = await countedAiSensy(t)
  const databaseUrl = await createTestDatabase(t)
  const a = await startChild(t, WHATSAPP_SERVER, 'WHATSAPP_PORT', await serviceEnv(t, aisensy.origin, databaseUrl))
  const b = await startChild(t, WHATSAPP_SERVER, 'WHATSAPP_PORT', await serviceEnv(t, aisensy.origin, databaseUrl))

  const created = await call(a.url, 'POST', '/campaigns', { name: 'Two instances', template_name: 'welcome_message', contacts: Array.from({ length: CONTACTS }, (_v, i) => ({ to_number: number('83', i) })) })
  t.equal(created.status, 202)
  await aisensy.reached(CONTACTS / 2)
  await a.kill()
  t.comment(`instance A killed after ${aisensy.requests} sends`)
  const { campaign } = await ended(() => b.url, created.body.id)

  t.ok(['completed', 'completed_with_errors'].includes(campaign.status), `ended ${campaign.status}`)
  const c = campaign.contacts
  t.equal(c.sent + c.failed + c.unknown + c.stopped, CONTACTS, `sent ${c.sent} + unknown ${c.unknown} = ${CONTACTS}`)
  assertNoneTwice(t, aisensy)

  const db = await createPostgresBackend({ databaseUrl })
  t.teardown(() => db.close())
  const unknown = await db.select('job_items', { where: { job_id: created.body.id, state: 'unknown' } })
  t.ok(unknown.every(r => String(r.claimed_by).split(':')[1] === String(a.pid)), `only A's sends in flight are unknown (${c.unknown})`)
  const rows = await db.select('job_items', { where: { job_id: created.body.id, state: 'sent' } })
  const byWorker = new Map<string, number>()
  for (const r of rows) byWorker.set(String(r.claimed_by), (byWorker.get(String(r.claimed_by)) ?? 0) + 1)
  t.equal(byWorker.size, 2, `both instances sent part of it (${[...byWorker.values()].join(' + ')})`)
})

t.test('a bulk email that outlasts the bound: 202 with its batch id at once, never a 504; its progress reaches the end with every recipient accounted for', async t => {
  // 2,000 different bodies, each its own SendGrid request (packing them into substitutions off), at
  // 50-100 ms, 16 at a time: about 10 s, far past the gateway's timeout here (3 s). Before, the
  // gateway answered 504 while the sends went on.
  const RECIPIENTS = 2000
  const { call: gateway, stack } = await startStack(t, { EMAIL_LATENCY_MS: '50-100', EMAIL_BULK_CONCURRENCY: '16', EMAIL_BULK_SUBSTITUTIONS: 'false', BULK_WAIT_MS: '1000', UPSTREAM_TIMEOUT_MS: '3000', RATE_LIMIT_MAX: '0' })
  const email_list = Array.from({ length: RECIPIENTS }, (_v, i) => ({ to_email: `deliver+${i}@example.com`, subject: `Bulk ${i}`, content: `<p>body ${i}</p>` }))
  const accepted = await gateway('POST', '/api/automation/trigger/email/batch', { email_list }, api)
  t.equal(accepted.status, 202, `answered 202 in ${accepted.ms.toFixed(0)} ms`, { body: accepted.body })
  t.match(accepted.body, { batch_id: String, status: 'running', total: RECIPIENTS, progress_url: `/api/automation/email/batch/${accepted.body.batch_id}` })
  t.ok(accepted.body.contacts.pending + accepted.body.contacts.in_flight > 0, 'the sends were still going')

  const seen: number[] = []
  const done = await eventually(async () => {
    const p = await gateway('GET', accepted.body.progress_url, undefined, api)
    t.equal(p.status, 200)
    seen.push(p.body.progress)
    return FINAL.includes(p.body.status) ? p.body : undefined
  }, 90_000, 200)
  t.match(done, { status: 'completed', total: RECIPIENTS, progress: 1, contacts: { sent: RECIPIENTS, failed: 0, unknown: 0, stopped: 0, pending: 0, in_flight: 0 } })
  t.ok(seen.some(p => p > 0 && p < 1), `progress was visible while it ran (${seen.filter(p => p > 0 && p < 1).length} reads in between)`)
  await stack.shared.activityLog.flush()
  t.equal(await stack.shared.activityLog.count('email_logs', { batch_id: accepted.body.batch_id }), RECIPIENTS, 'one row per recipient')
  t.equal((await gateway('GET', '/api/automation/email/batch/6f1c2b1e-8d4a-4b8e-9a57-0f6f3c2d1e00', undefined, api)).body.code, 'EMAIL_BATCH_NOT_FOUND')
})

t.test('10,000 recipients with 10,000 different bodies: ten SendGrid requests, answered in full well inside the gateway\'s timeout; each recipient\'s view shows their own email', async t => {
  const RECIPIENTS = 10_000
  const { call: gateway, stack } = await startStack(t, { EMAIL_LATENCY_MS: '300-1300', RATE_LIMIT_MAX: '0' })
  const body = (i: number) => `<p>Dear customer ${i}, invoice INV-${1000 + i} is due.</p>`
  const email_list = Array.from({ length: RECIPIENTS }, (_v, i) => ({ to_email: `deliver+${i}@example.com`, subject: `Invoice ${i}`, content: body(i) }))
  const done = await gateway('POST', '/api/automation/trigger/email/batch', { email_list }, api)
  t.equal(done.status, 200, `answered with every result in ${done.ms.toFixed(0)} ms`, { body: done.body })
  t.match(done.body, { total: RECIPIENTS, accepted: RECIPIENTS, failed: 0, requests: 10 })
  await stack.shared.activityLog.flush()
  t.equal(await stack.shared.activityLog.count('email_logs', { batch_id: done.body.batch_id, status: { in: ['sent', 'processed', 'delivered'] } }), RECIPIENTS, 'one row per recipient')

  const [row] = await stack.shared.activityLog.select('email_logs', { where: { batch_id: done.body.batch_id, to_email: 'deliver+4321@example.com' } })
  const view = await gateway('GET', `/api/admin/activity/email/${row!.id}`, undefined, admin)
  t.match(view.body.content, { subject: 'Invoice 4321', html: body(4321), to: ['deliver+4321@example.com'] }, 'the email as its recipient got it: the substitution filled in')
  const messages = await gateway('GET', '/api/admin/messages/email?to=deliver%2B77@example.com', undefined, admin)
  t.match(messages.body.items, [{ subject: 'Invoice 77', html: body(77) }], 'and the messages API a test suite asserts on')
})

t.test('a bulk send retried with its Idempotency-Key after its process was killed takes up the batch it stored: nobody gets it twice', { skip: !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL (a PostgreSQL server beside the killed child)' }, async t => {
  const BULK = 200
  const KEY = 'bulk-retried-after-a-crash'
  const aisensy = await countedAiSensy(t)
  const databaseUrl = await createTestDatabase(t)
  // The bulk waits for its results (up to a minute) before answering: the kill lands before any answer.
  const env = { ...await serviceEnv(t, aisensy.origin, databaseUrl), BULK_WAIT_MS: '60000' }
  const first = await startChild(t, WHATSAPP_SERVER, 'WHATSAPP_PORT', env)
  const body = JSON.stringify({ template_name: 'welcome_message', contacts: Array.from({ length: BULK }, (_v, i) => ({ to_number: number('84', i) })) })
  const post = (base: string) => send({ method: 'POST', url: `${base}/messages/bulk`, headers: { ...internalHeaders(), 'content-type': 'application/json', 'idempotency-key': KEY }, body, timeoutMs: 60_000 })

  const unanswered = post(first.url).catch((err: Error) => err)
  await aisensy.reached(20)
  await first.kill()
  t.ok(await unanswered instanceof Error, 'the first attempt got no answer: its process was killed while it sent')
  const second = await startChild(t, WHATSAPP_SERVER, 'WHATSAPP_PORT', env)
  const early = await post(second.url)
  t.equal(early.status, 409, 'retried at once, the key is still held by the dead request (its lease)')
  // The lease runs out (5 minutes in real life).
  const db = await createPostgresBackend({ databaseUrl })
  t.teardown(() => db.close())
  t.equal(await db.update('idempotency_keys', { idem_key: KEY }, { locked_until: '2000-01-01T00:00:00Z' }), 1)

  const retried = await post(second.url)
  t.equal(retried.status, 200, 'the retry answers with the batch\'s results', { body: retried.body })
  const jobs = await db.select('jobs', {})
  t.equal(jobs.length, 1, 'one batch stored, not a second one')
  t.equal(retried.body.batch_id, jobs[0]!.id, 'the retry answered with the batch the first attempt stored')
  t.equal(retried.body.total, BULK)
  assertNoneTwice(t, aisensy)
  t.equal(await second.terminate(), 0)
})
