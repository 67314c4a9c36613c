import t from 'tap'
import { freePort, providerErrorOf } from '@switchboard/service-kit/testing'
import { bolnaErrorMessage, createBolnaClient } from '../src/client/bolna-client.ts'
import { AGENTS, MOCK_KEY, NUMBERS, startVoiceApp } from './helper.ts'

t.test('the client against the emulator: calls, executions, agents', async t => {
  const { url } = await startVoiceApp(t)
  const bolna = createBolnaClient({ baseUrl: `${url}/bolna`, apiKey: MOCK_KEY })
  const placed = await bolna.makeCall({ agent_id: AGENTS.payment, recipient_phone_number: NUMBERS.hold, user_data: { name: 'Kiran', amount: '₹900' } })
  t.match(placed, { message: 'done', status: 'queued', execution_id: String })
  const execution = await bolna.getExecution(placed.execution_id)
  t.match(execution, { id: placed.execution_id, status: 'queued', context_details: { recipient_data: { name: 'Kiran', amount: '₹900' } } })
  t.same(await bolna.stopCall(placed.execution_id), { message: 'done', status: 'stopped', execution_id: placed.execution_id })

  const again = await providerErrorOf(bolna.stopCall(placed.execution_id))
  t.match(again, { provider: 'Bolna', kind: 'rejected', statusCode: 400, message: /Only queued or scheduled calls can be stopped/ })
  t.match(again.providerBody, { error: 400 })

  const agents = await bolna.listAgents()
  t.equal(agents.length, 4)
  t.same(await bolna.setAgentWebhook(AGENTS.payment, 'https://example.com/hook'), { message: 'success', state: 'updated' })
  t.equal((await bolna.getAgent(AGENTS.payment)).webhook_url, 'https://example.com/hook')
})

t.test('Bolna\'s error bodies become ProviderErrors that say what Bolna said', async t => {
  const { url } = await startVoiceApp(t)
  const bolna = createBolnaClient({ baseUrl: `${url}/bolna`, apiKey: MOCK_KEY })
  const badKey = await providerErrorOf(createBolnaClient({ baseUrl: `${url}/bolna`, apiKey: 'wrong' }).listAgents())
  t.match(badKey, { kind: 'auth', statusCode: 403, message: 'Unrecognized access token' })
  const invalid = await providerErrorOf(bolna.makeCall({ agent_id: 'not-a-uuid', recipient_phone_number: NUMBERS.completed }))
  t.match(invalid, { kind: 'rejected', statusCode: 422, message: 'agent_id: Input should be a valid UUID' })
  const unknown = await providerErrorOf(bolna.getExecution('00000000-0000-4000-8000-000000000000'))
  t.match(unknown, { kind: 'not_found', statusCode: 404, message: 'Execution not found' })
  const limited = await providerErrorOf(bolna.makeCall({ agent_id: AGENTS.payment, recipient_phone_number: NUMBERS.completed }, { 'x-switchboard-outcome': 'rate_limited' }))
  t.match(limited, { kind: 'rate_limited', statusCode: 429, retryAfter: '1', message: 'Rate limit exceeded: 500 per 1 minute' })
  const down = await providerErrorOf(bolna.makeCall({ agent_id: AGENTS.payment, recipient_phone_number: NUMBERS.error }))
  t.match(down, { kind: 'unavailable', statusCode: 500, retryable: true })
  t.notMatch(JSON.stringify(down), /bn-test-key/, 'the key never ends up in an error')

  const slow = createBolnaClient({ baseUrl: `${url}/bolna`, apiKey: MOCK_KEY, timeoutMs: 200 })
  const timeout = await providerErrorOf(slow.listAgents({ 'x-switchboard-latency-ms': '3000' }))
  t.equal(timeout.kind, 'timeout')
  const port = await freePort()
  const unreachable = await providerErrorOf(createBolnaClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: MOCK_KEY }).listAgents())
  t.equal(unreachable.kind, 'unreachable')
})

t.test('error messages are read in Bolna\'s orders: message, detail (text or list), error', async t => {
  t.equal(bolnaErrorMessage(422, { message: 'agent_name is required' }), 'agent_name is required')
  t.equal(bolnaErrorMessage(403, { detail: 'Unrecognized access token' }), 'Unrecognized access token')
  t.equal(bolnaErrorMessage(422, { detail: [{ loc: ['body', 'user_data'], msg: 'Input should be a valid dictionary' }, { loc: ['query', 'page_size'], msg: 'too big' }] }), 'user_data: Input should be a valid dictionary; query.page_size: too big')
  t.equal(bolnaErrorMessage(500, { error: 'boom' }), 'boom')
  t.equal(bolnaErrorMessage(401, { error: 401, message: 'Access denied' }), 'Access denied', 'the spec\'s 401 form reads too')
  t.equal(bolnaErrorMessage(502, '<html>Bad Gateway</html>'), '<html>Bad Gateway</html>')
  t.equal(bolnaErrorMessage(500, ''), 'HTTP 500')
})
