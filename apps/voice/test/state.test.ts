/**
 * The Bolna emulator's agents, executions and batches live in the database (bolna_emulator_state):
 * a second instance on the same database reads what the first made, and an instance started after
 * one stopped starts the batch it had scheduled. PostgreSQL with TEST_DATABASE_URL, else PGlite.
 */
import t, { type Test } from 'tap'
import type { App } from '@switchboard/service-kit/service-app'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import { createTestInfrastructure, eventually, holdSync, jsonCaller, startRecorder, twoInstances, type TestInfrastructure } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { loadVoiceEnv } from '../src/config.ts'
import { AGENTS, auth, NUMBERS, uploadBatch } from './helper.ts'

async function instance (t: Test, infra: TestInfrastructure) {
  const app: App = await buildApp({ env: loadVoiceEnv({ VOICE_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent', VOICE_CALL_STEP_MS: '20-30' }), shared: infra, logger: false })
  let closed = false
  const close = async () => { if (!closed) { closed = true; await app.close() } }
  t.teardown(close)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = selfBaseUrl(app)
  return { url, call: jsonCaller(url), close }
}

t.test('two instances: an agent and a call made through one are read through the other', async t => {
  const infra = await createTestInfrastructure(t)
  const one = await instance(t, infra)
  const two = await instance(t, infra)
  const agent = (await one.call('POST', '/bolna/v2/agent', { agent_config: { agent_name: 'Shared agent', tasks: [{ task_type: 'conversation' }] }, agent_prompts: { task_1: { system_prompt: 'Hi.' } } }, auth)).body.agent_id as string
  const placed = (await one.call('POST', '/bolna/call', { agent_id: agent, recipient_phone_number: '+919855550100' }, auth)).body
  const read = await eventually(async () => { const r = await two.call('GET', `/bolna/executions/${placed.execution_id}`, undefined, auth); return r.status === 200 && r.body })
  t.match(read, { id: placed.execution_id, agent_id: agent })
  await eventually(async () => (await two.call('GET', `/bolna/v2/agent/${agent}`, undefined, auth)).status === 200)
  t.pass('the agent created through one is known to two (its sync)')
  await eventually(async () => (await two.call('GET', `/bolna/executions/${placed.execution_id}`, undefined, auth)).body.status === 'completed')
  t.pass('two follows the call to its end, played by one')
})

t.test('a batch scheduled before a stop starts after the restart, on the same data', async t => {
  const infra = await createTestInfrastructure(t)
  const before = await instance(t, infra)
  const { batch_id: id } = (await uploadBatch(before.url, 'contact_number,name\r\n+919855550100,Priya\r\n+919855550101,Ravi\r\n')).body
  const at = new Date(Date.now() + 4_000).toISOString()
  t.same((await before.call('POST', `/bolna/batches/${id}/schedule`, { scheduled_at: at }, auth)).body, { message: 'success', state: 'scheduled' })
  await before.close()
  t.ok(Date.now() < Date.parse(at), 'the first instance stopped before the batch was due, so only the second can run it')

  const after = await instance(t, infra)
  // A loaded machine may take the second instance past the due time before this read: then it is already under way.
  t.match((await after.call('GET', `/bolna/batches/${id}`, undefined, auth)).body, { batch_id: id, status: /^(scheduled|queued|executed)$/, valid_contacts: 2 })
  const done = await eventually(async () => { const b = (await after.call('GET', `/bolna/batches/${id}`, undefined, auth)).body; return b.status === 'executed' && b }, 15_000)
  t.same(done.execution_status, { completed: 1, busy: 1 }, 'both contacts called to their end (…0101 is the magic busy number) by the restarted instance')
})

t.test('an agent PATCH through an instance holding it a moment too long never undoes another instance\'s change', async t => {
  const { one, two, stateOne, stateTwo } = await twoInstances(t, instance)
  const agent = (await one.call('POST', '/bolna/v2/agent', { agent_config: { agent_name: 'Made on one', tasks: [{ task_type: 'conversation' }] }, agent_prompts: { task_1: { system_prompt: 'Hi.' } } }, auth)).body.agent_id as string
  await eventually(async () => (await two.call('GET', `/bolna/v2/agent/${agent}`, undefined, auth)).status === 200)
  // Two holds the agent and has not synced since one's change (the up-to-1 s window, held open).
  const release = holdSync(t, stateTwo)
  t.equal((await one.call('PATCH', `/bolna/v2/agent/${agent}`, { agent_config: { agent_name: 'Renamed on one' } }, auth)).status, 200)
  await stateOne.flush()
  t.equal((await two.call('PATCH', `/bolna/v2/agent/${agent}`, { agent_config: { webhook_url: 'https://two.example/hook' } }, auth)).status, 200)
  await stateTwo.flush()
  release()
  t.match((await two.call('GET', `/bolna/v2/agent/${agent}`, undefined, auth)).body, { agent_name: 'Renamed on one', webhook_url: 'https://two.example/hook' }, 'two answers its change made on the stored copy')
  await eventually(async () => (await one.call('GET', `/bolna/v2/agent/${agent}`, undefined, auth)).body.webhook_url === 'https://two.example/hook')
  t.match((await one.call('GET', `/bolna/v2/agent/${agent}`, undefined, auth)).body, { agent_name: 'Renamed on one' }, 'one keeps its rename')
})

t.test('a clock set in the past: no instance takes over a call another still drives, and none is posted twice', async t => {
  const { origin, received } = await startRecorder(t, (_request, res) => { res.end('ok') })
  // Steps long enough for the other instance's look-outs (every second, 2 s of grace) to see the call.
  const slow = async (t: Test, infra: TestInfrastructure) => {
    const app: App = await buildApp({ env: loadVoiceEnv({ VOICE_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent', VOICE_CALL_STEP_MS: '1200-1300', BOLNA_MOCK_WEBHOOK_URL: `${origin}/hook` }), shared: infra, logger: false })
    t.teardown(() => app.close())
    await app.listen({ port: 0, host: '127.0.0.1' })
    return { app, call: jsonCaller(selfBaseUrl(app)) }
  }
  const { one } = await twoInstances(t, slow)
  // An hour back and running: every step is due an hour before real time.
  await one.app.runtime.setClock({ frozen_at: null, offset_ms: -3_600_000 }, 'test')
  t.teardown(() => one.app.runtime.setClock({ frozen_at: null, offset_ms: 0 }, 'test'))
  const placed = (await one.call('POST', '/bolna/call', { agent_id: AGENTS.reminder, recipient_phone_number: NUMBERS.completed }, auth)).body
  const posted = () => received.map(p => JSON.parse(p.body)).filter(e => e.id === placed.execution_id).map(e => e.status as string)
  await eventually(async () => posted().includes('completed'), 30_000)
  t.same(posted().filter(s => s === 'initiated'), ['initiated'], 'one play of the call')
  t.equal(new Set(posted()).size, posted().length, `each status posted once (${posted().join(', ')})`)
})
