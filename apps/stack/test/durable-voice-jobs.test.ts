/**
 * Voice campaigns and bulk calls are jobs in the database. Proven with a real process: the voice
 * service runs as a child (live mode, its Bolna being the emulator of this process behind a proxy
 * counting the numbers called), killed with SIGKILL at random moments and started again. Every
 * contact is accounted for, every call placed is followed to its end, and none reaches the
 * emulator twice. (The same for WhatsApp and email: durable-jobs.test.ts.)
 */
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestDatabase } from '@switchboard/activity-log/testing'
import { startServiceApp, TEST_TOKENS } from '@switchboard/service-kit/testing'
import { buildApp as buildVoice } from '@switchboard/voice/app'
import { loadVoiceEnv } from '@switchboard/voice/config'
import { eventually, send } from './helper.ts'
import { assertAccountedFor, callService as call, countingProxy, FINAL, killAtRandomMoments, killPoints, phoneNumber as number, startChild, VOICE_SERVER } from './job-processes.ts'

// A real process killed and restarted several times: longer than tap's default 120 s per file on a busy machine.
t.setTimeout(300_000)

const LEASE_MS = 1000
const CONCURRENCY = 8

/**
 * A Bolna emulator (the voice app's, in this process) at 20-60 ms a call, its calls ending within
 * a few hundred ms, behind a proxy counting the numbers called (POST /call). Its agent posts no
 * webhooks: the service learns how its calls ended by asking (reconcile), also after a restart.
 */
async function countedBolna (t: Test) {
  const emulator = await startServiceApp(t, { service: 'voice', buildApp: buildVoice, loadEnv: loadVoiceEnv, env: { VOICE_CALL_STEP_MS: '20-40' }, simulation: { latencyMs: { min: 20, max: 60 } } })
  const bolna = `${emulator.url}/bolna`
  const quiet = await send({ method: 'PATCH', url: `${bolna}/v2/agent/${REMINDER_AGENT}`, headers: { authorization: `Bearer ${BOLNA_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ agent_config: { webhook_url: null } }) })
  if (quiet.status !== 200) throw new Error(`could not silence the agent's webhooks: ${quiet.status} ${quiet.text}`)
  return countingProxy(t, bolna, body => typeof body?.recipient_phone_number === 'string' ? [body.recipient_phone_number] : [])
}

const BOLNA_KEY = 'bn-durable-jobs-test-key-0123456789'
const REMINDER_AGENT = '3f9a6c1e-7b2d-4e8a-9c41-5d2b8e6f0a11'

t.test('SIGKILL at random moments during a voice campaign and a voice bulk, restarted each time: every contact accounted for, none called twice', async t => {
  const random = killPoints(t)
  // Each kill leaves what the killed process held unanswered as unknown (about 20-30 calls here,
  // whatever the size): the jobs are large enough that three kills stay well under half of them.
  const CAMPAIGN = 150
  const BULK = 90
  const ROUNDS = 3
  const bolna = await countedBolna(t)
  const databaseUrl = process.env.TEST_DATABASE_URL ? await createTestDatabase(t) : undefined
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-voice-jobs-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const env: Record<string, string> = {
    SWITCHBOARD_DATA_DIR: dataDir,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    INTERNAL_TOKEN: TEST_TOKENS.internalToken,
    ADMIN_TOKEN: TEST_TOKENS.adminToken,
    MOCK_MODE: 'false',
    BOLNA_API_KEY: BOLNA_KEY,
    BOLNA_BASE_URL: bolna.origin,
    JOB_LEASE_MS: String(LEASE_MS),
    BULK_WAIT_MS: '200',
    VOICE_BULK_CONCURRENCY: String(CONCURRENCY),
    VOICE_RECONCILE_MS: '200',
    SETTINGS_POLL_MS: '200'
  }
  const first = await startChild(t, VOICE_SERVER, 'VOICE_PORT', env)

  const created = await call(first.url, 'POST', '/campaigns', { name: 'Crash test', script_id: 'appointment_reminder', contacts: Array.from({ length: CAMPAIGN }, (_v, i) => ({ to_number: number('84', i), name: `Contact ${i}` })) })
  t.equal(created.status, 202, 'campaign accepted', { body: created.body })
  const bulk = await call(first.url, 'POST', '/calls/bulk', { script_id: 'appointment_reminder', contacts: Array.from({ length: BULK }, (_v, i) => number('85', i)) })
  t.equal(bulk.status, 202, 'a bulk that outlasts BULK_WAIT_MS is answered 202', { body: bulk.body })
  t.match(bulk.body, { batch_id: String, status: 'running', total: BULK, progress_url: `/api/automation/call/bulk/${bulk.body.batch_id}` })

  const { child, killed } = await killAtRandomMoments(t, {
    child: first, restart: () => startChild(t, VOICE_SERVER, 'VOICE_PORT', env), emulator: bolna, total: CAMPAIGN + BULK, rounds: ROUNDS, random, what: 'calls'
  })
  // A campaign (and a batch, which is one too) is final once every contact has an answer and
  // every call placed has ended: calls placed before a kill are followed by the next process.
  const result = await eventually(async () => {
    const campaign = (await call(child.url, 'GET', `/campaigns/${created.body.id}`).catch(() => undefined))?.body
    const batch = (await call(child.url, 'GET', `/campaigns/${bulk.body.batch_id}`).catch(() => undefined))?.body
    const progress = (await call(child.url, 'GET', `/calls/bulk/${bulk.body.batch_id}`).catch(() => undefined))?.body
    return FINAL.includes(campaign?.status) && FINAL.includes(batch?.status) && FINAL.includes(progress?.status) ? { campaign, batch, progress } : undefined
  }, 90_000, 100)
  if (!result) throw new Error('the campaign or the bulk never ended')

  t.same(result.progress.contacts, result.batch.contacts, 'the bulk\'s progress route agrees')
  await assertAccountedFor(t, {
    jobs: [['campaign', result.campaign, CAMPAIGN], ['bulk', result.batch, BULK]],
    // No row left open: a call whose worker died while placing it (its contact unknown, its row
    // still queued with no execution) ends `error`, code `unknown`, once its lease is over.
    each: (name, job) => t.equal(job.in_progress, 0, `${name}: every call row ended (${job.contacts.unknown} unknown)`),
    emulator: bolna,
    what: 'calls',
    killed,
    jobIds: [created.body.id, bulk.body.batch_id],
    databaseUrl
  })
  t.equal(await child.terminate(), 0, 'SIGTERM ends the last one cleanly')
})
