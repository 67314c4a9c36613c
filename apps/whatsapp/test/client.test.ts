import t from 'tap'
import type { ServerResponse } from 'node:http'
import { freePort, providerErrorOf, startRecorder } from '@switchboard/service-kit/testing'
import { createAiSensyClient, type CampaignMessage } from '../src/client/aisensy-client.ts'
import { API_KEY, startWhatsAppApp } from './helper.ts'

const message = (extra: Partial<CampaignMessage> = {}): CampaignMessage => ({
  campaignName: 'welcome_message',
  destination: '+919876543210',
  userName: 'Asha',
  templateParams: ['Asha'],
  media: {},
  buttons: [],
  carouselCards: [],
  location: {},
  paramsFallbackValue: { FirstName: 'user' },
  ...extra
})

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
  res.end(JSON.stringify(body))
}

t.test('the client against the emulator: a send returns AiSensy\'s submitted_message_id', async t => {
  const { url } = await startWhatsAppApp(t)
  const client = createAiSensyClient({ baseUrl: `${url}/aisensy`, apiKey: API_KEY })
  const res = await client.sendCampaignMessage(message())
  t.equal(res.statusCode, 200)
  t.match(res.submittedMessageId, /^[0-9a-f-]{36}$/)
  const otp = await client.sendCampaignMessage(message({ campaignName: 'otp_verification', templateParams: ['482913'], buttons: [{ type: 'button', sub_type: 'url', index: 0, parameters: [{ type: 'text', text: '482913' }] }] }))
  t.ok(otp.submittedMessageId)
  const v1 = createAiSensyClient({ baseUrl: `${url}/aisensy`, apiKey: API_KEY, version: 'v1' })
  t.ok((await v1.sendCampaignMessage(message())).submittedMessageId, 'v1 against the emulator\'s v1 path')
})

t.test('the client against the emulator: every refusal becomes a ProviderError of the right kind, body kept', async t => {
  const { url } = await startWhatsAppApp(t)
  const client = createAiSensyClient({ baseUrl: `${url}/aisensy`, apiKey: API_KEY })

  const params = await providerErrorOf(client.sendCampaignMessage(message({ templateParams: [] })))
  t.match(params, { provider: 'AiSensy', kind: 'rejected', statusCode: 400, message: 'Template params does not match the campaign' })
  t.same(params.providerBody, { message: 'Template params does not match the campaign' })

  const number = await providerErrorOf(client.sendCampaignMessage(message({ destination: '+919000000001' })))
  t.match(number, { kind: 'rejected', statusCode: 400, message: 'Invalid Number' })

  const credits = await providerErrorOf(client.sendCampaignMessage(message({ destination: '+919000000007' })))
  t.match(credits, { kind: 'rejected', statusCode: 402, message: 'Insufficient WhatsApp Conversation Credits (WCC)!', providerBody: { name: 'ERR402' } })

  const badKey = createAiSensyClient({ baseUrl: `${url}/aisensy`, apiKey: 'wrong-key' })
  const auth = await providerErrorOf(badKey.sendCampaignMessage(message()))
  t.match(auth, { kind: 'auth', statusCode: 401, message: 'Invalid API Key' })
  t.notMatch(JSON.stringify(auth), 'wrong-key', 'the key is never in the error')

  const limited = await providerErrorOf(client.sendCampaignMessage(message(), { 'x-switchboard-outcome': 'rate_limited' }))
  t.match(limited, { kind: 'rate_limited', statusCode: 429, retryAfter: '1', retryable: true })

  const outage = await providerErrorOf(client.sendCampaignMessage(message(), { 'x-switchboard-outcome': 'outage' }))
  t.match(outage, { kind: 'unavailable', statusCode: 503, retryable: true, message: /no error message \(an empty answer/, providerBody: {} })
  // A random failure is the same recorded 503 {}: retryable, so live mode may fall back on it.
  const failure = await providerErrorOf(client.sendCampaignMessage(message(), { 'x-switchboard-outcome': 'failure' }))
  t.match(failure, { kind: 'unavailable', statusCode: 503, retryable: true, providerBody: {} })

  const slowClient = createAiSensyClient({ baseUrl: `${url}/aisensy`, apiKey: API_KEY, timeoutMs: 150 })
  const timeout = await providerErrorOf(slowClient.sendCampaignMessage(message(), { 'x-switchboard-latency-ms': '2000' }))
  t.equal(timeout.kind, 'timeout')
})

t.test('a 200 carrying "error" or no submitted_message_id is a failure, not a send', async t => {
  const answers: Array<[number, unknown]> = [
    [200, { error: 'Template params does not match the campaign!' }],
    [200, { success: 'false', message: 'Campaign is Not Live' }],
    [200, { success: 'true' }],
    [200, 'OK']
  ]
  let i = 0
  const s = await startRecorder(t, (_request, res) => { const [status, body] = answers[i++]!; json(res, status, body) })
  const client = createAiSensyClient({ baseUrl: s.origin, apiKey: API_KEY })
  const first = await providerErrorOf(client.sendCampaignMessage(message()))
  t.match(first, { kind: 'rejected', statusCode: 200, message: 'Template params does not match the campaign!' })
  t.match(await providerErrorOf(client.sendCampaignMessage(message())), { kind: 'rejected', message: 'Campaign is Not Live' })
  t.match(await providerErrorOf(client.sendCampaignMessage(message())), { kind: 'rejected', message: 'HTTP 200 with no error message' })
  t.match(await providerErrorOf(client.sendCampaignMessage(message())), { kind: 'rejected' })
})

t.test('a boolean success (one fixture) is accepted too; v1 leaves the v2 fields out; the key travels in the body', async t => {
  const s = await startRecorder(t, (_request, res) => json(res, 200, { success: true, submitted_message_id: 'abc-123' }))
  const v2 = createAiSensyClient({ baseUrl: `${s.origin}/`, apiKey: API_KEY })
  t.same(await v2.sendCampaignMessage(message()), { submittedMessageId: 'abc-123', statusCode: 200 })
  const v1 = createAiSensyClient({ baseUrl: s.origin, apiKey: API_KEY, version: 'v1' })
  await v1.sendCampaignMessage(message())
  const [sentV2, sentV1] = s.received.map(r => ({ url: r.url, body: JSON.parse(r.body || 'null') }))
  t.equal(sentV2!.url, '/campaign/t1/api/v2')
  t.equal(sentV2!.body.apiKey, API_KEY)
  t.ok('buttons' in sentV2!.body && 'paramsFallbackValue' in sentV2!.body)
  t.equal(sentV1!.url, '/campaign/t1/api')
  t.same(Object.keys(sentV1!.body).sort(), ['apiKey', 'campaignName', 'destination', 'media', 'templateParams', 'userName'])
})

t.test('an unreachable host is an unreachable ProviderError', async t => {
  const port = await freePort()
  const client = createAiSensyClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: API_KEY })
  const err = await providerErrorOf(client.sendCampaignMessage(message()))
  t.equal(err.kind, 'unreachable')
  t.ok(err.retryable)
})
