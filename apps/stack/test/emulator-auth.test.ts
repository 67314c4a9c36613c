/**
 * EMULATOR_AUTH=issued: on a shared box the emulators take only this stack's own fake accounts, so
 * another local user cannot read or change what was created through them; the gateway paths work
 * as before (the services' mock clients present the issued credentials), and the admin API says
 * what they are. The default (`any`) is every other test's.
 */
import t from 'tap'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { admin, api, eventually, send, startStack } from './helper.ts'

type Json = Record<string, any>
const json = { 'content-type': 'application/json' }
const form = { 'content-type': 'application/x-www-form-urlencoded' }
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`
const aisensyBody = (apiKey: string) => JSON.stringify({ apiKey, campaignName: 'order_confirmation', destination: '9876543210', userName: 'Asha', templateParams: ['Asha', '#A-1042'] })

t.test('issued: only the stack\'s own credentials reach an emulator; the gateway paths still work', async t => {
  const { call, env } = await startStack(t, { EMULATOR_AUTH: 'issued' })

  t.equal((await call('GET', '/api/admin/emulators', undefined, api)).status, 401, 'the API token does not read the accounts')
  const listed = await call('GET', '/api/admin/emulators', undefined, admin)
  t.equal(listed.status, 200, listed.text)
  t.equal(listed.body.auth, 'issued')
  t.equal(listed.headers['cache-control'], 'no-store')
  const of = (service: string) => {
    const item = (listed.body.items as Json[]).find(i => i.service === service)!
    t.match(item, { reachable: true, auth: 'issued', base_url: /^http:\/\/127\.0\.0\.1:\d+\/\w+$/ }, `${service} is listed`)
    return item as { base_url: string, credentials: Record<string, string> }
  }
  const [sendgrid, aisensy, instamojo, bolna, zoom] = ['email', 'whatsapp', 'payments', 'voice', 'zoom'].map(of) as [ReturnType<typeof of>, ReturnType<typeof of>, ReturnType<typeof of>, ReturnType<typeof of>, ReturnType<typeof of>]
  t.match(sendgrid.credentials.apiKey, /^SG\.[\w-]{22}\.[\w-]{43}$/, 'shaped like the provider\'s own keys')
  t.match(bolna.credentials.apiKey, /^bn-[0-9a-f]{32}$/)
  t.match(aisensy.credentials.apiKey, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/)

  // The account file is the owner's only.
  for (const name of readdirSync(env.SWITCHBOARD_DATA_DIR!).filter(n => n.endsWith('-emulator-account'))) {
    t.equal(statSync(join(env.SWITCHBOARD_DATA_DIR!, name)).mode & 0o777, 0o600, `${name} is readable by its owner only`)
  }

  // SendGrid: another well-shaped key is refused as SendGrid refuses a revoked one.
  const mail = JSON.stringify({ personalizations: [{ to: [{ email: 'deliver@example.com' }] }], from: { email: 'me@example.com' }, subject: 'Hi', content: [{ type: 'text/plain', value: 'Hi' }] })
  const foreignMail = await send({ method: 'POST', url: `${sendgrid.base_url}/v3/mail/send`, headers: { ...json, authorization: 'Bearer SG.someone-elses.key-that-has-the-right-shape' }, body: mail })
  t.equal(foreignMail.status, 401, 'SendGrid: a key of the right shape that is not the account\'s')
  t.match(foreignMail.body, { errors: [{ message: 'The provided authorization grant is invalid, expired, or revoked' }] })
  t.equal((await send({ method: 'POST', url: `${sendgrid.base_url}/v3/mail/send`, headers: { ...json, authorization: `Bearer ${sendgrid.credentials.apiKey}` }, body: mail })).status, 202, 'SendGrid: the issued key')
  // The refused call is nobody's traffic of this account: not in Activity, which only the accepted one reaches.
  const direct = await eventually(async () => {
    const items = (await call('GET', '/api/admin/activity?channel=email&direct=true', undefined, admin)).body.items as Json[]
    return items.length > 0 ? items : undefined
  }, 10_000, 100)
  t.same(direct?.map(i => i.status), ['202'], 'the refused call left no item; the accepted one did')

  // AiSensy: the key is in the body.
  const foreignSend = await send({ method: 'POST', url: `${aisensy.base_url}/campaign/t1/api/v2`, headers: json, body: aisensyBody('eyJhbGciOiJIUzI1NiJ9.eyJpZCI6ImRldiJ9.c2ln') })
  t.equal(foreignSend.status, 401, 'AiSensy: the README\'s example key')
  t.match(foreignSend.body, { message: 'Invalid API Key' })
  t.equal((await send({ method: 'POST', url: `${aisensy.base_url}/campaign/t1/api/v2`, headers: json, body: aisensyBody(aisensy.credentials.apiKey!) })).status, 200, 'AiSensy: the issued key')

  // Instamojo v2: the OAuth client decides; v1.1: the key and token.
  const token = (id: string, secret: string) => send({ method: 'POST', url: `${instamojo.base_url}/oauth2/token/`, headers: form, body: `grant_type=client_credentials&client_id=${encodeURIComponent(id)}&client_secret=${encodeURIComponent(secret)}` })
  const foreignToken = await token('test_someone', 'their-secret')
  t.equal(foreignToken.status, 401)
  t.same(foreignToken.body, { error: 'invalid_client' })
  t.equal((await token(instamojo.credentials.client_id!, 'not-the-secret')).status, 401, 'Instamojo: the right id with a wrong secret')
  const issuedToken = await token(instamojo.credentials.client_id!, instamojo.credentials.client_secret!)
  t.equal(issuedToken.status, 200, issuedToken.text)
  t.equal((await send({ method: 'GET', url: `${instamojo.base_url}/v2/payment_requests/`, headers: { authorization: `Bearer ${issuedToken.body.access_token as string}` } })).status, 200, 'Instamojo v2 with the issued client\'s token')
  const v1 = (key: string, auth: string) => send({ method: 'GET', url: `${instamojo.base_url}/api/1.1/payment-requests/`, headers: { 'x-api-key': key, 'x-auth-token': auth } })
  t.equal((await v1('0123456789abcdef0123456789abcdef', 'fedcba9876543210fedcba9876543210')).status, 401, 'Instamojo v1.1: another key and token')
  t.equal((await v1(instamojo.credentials.api_key!, 'fedcba9876543210fedcba9876543210')).status, 401, 'Instamojo v1.1: the key with another token')
  t.equal((await v1(instamojo.credentials.api_key!, instamojo.credentials.auth_token!)).status, 200, 'Instamojo v1.1: the issued pair')

  // Bolna.
  const foreignAgents = await send({ method: 'GET', url: `${bolna.base_url}/v2/agent/all`, headers: { authorization: 'Bearer bn-anything-123' } })
  t.equal(foreignAgents.status, 403, 'Bolna: the README\'s example key')
  t.same(foreignAgents.body, { detail: 'Unrecognized access token' })
  t.equal((await send({ method: 'GET', url: `${bolna.base_url}/v2/agent/all`, headers: { authorization: `Bearer ${bolna.credentials.apiKey!}` } })).status, 200, 'Bolna: the issued key')

  // Zoom: the client, then the account it belongs to.
  const zoomToken = (accountId: string, id: string, secret: string) => send({ method: 'POST', url: `${zoom.base_url}/oauth/token?grant_type=account_credentials&account_id=${encodeURIComponent(accountId)}`, headers: { authorization: basic(id, secret) } })
  const { account_id: accountId, client_id: clientId, client_secret: clientSecret } = zoom.credentials as Record<string, string>
  const foreignClient = await zoomToken(accountId!, 'someone', 'their-secret')
  t.equal(foreignClient.status, 400)
  t.same(foreignClient.body, { reason: 'Invalid client_id or client_secret', error: 'invalid_client' })
  t.equal((await zoomToken('another-account', clientId!, clientSecret!)).status, 400, 'Zoom: the client with another account id')
  const zoomIssued = await zoomToken(accountId!, clientId!, clientSecret!)
  t.equal(zoomIssued.status, 200, zoomIssued.text)
  t.equal((await send({ method: 'GET', url: `${zoom.base_url}/v2/users/me/meetings`, headers: { authorization: `Bearer ${zoomIssued.body.access_token as string}` } })).status, 200, 'Zoom: the issued account\'s token')

  // The gateway paths present the issued credentials themselves.
  t.equal((await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Hi', content: '<p>Hi</p>' }, api)).status, 202, 'email through the gateway')
  t.equal((await call('POST', '/api/automation/trigger/whatsapp', { to_number: '+919000000004', template_name: 'welcome_message', params: ['Ada'] }, api)).status, 202, 'whatsapp through the gateway')
  t.equal((await call('POST', '/api/admin/payment-links', { amount: '499.00', purpose: 'Order 1', buyer_name: 'Asha Rao', email: 'asha@example.com' }, admin)).status, 201, 'a payment link through the gateway')
  const placed = await call('POST', '/api/automation/trigger/call', { to_number: '+919855550100', script_id: 'appointment_reminder' }, api)
  t.equal(placed.status, 202, 'a call through the gateway')
  // Its recording: a presigned link, refused without its signature (an execution id is no secret).
  const recording = await eventually(async () => (await call('GET', `/api/admin/activity/voice/${placed.body.id as string}`, undefined, admin)).body.content?.recording_url as string | undefined, 30_000, 200)
  t.match(recording, /\/bolna\/recordings\/[0-9a-f-]{36}\.wav\?X-Amz-Signature=[0-9a-f]{64}$/)
  const signed = await send({ method: 'GET', url: recording! })
  t.equal(signed.status, 200, 'the link as given')
  t.equal(signed.headers['content-type'], 'audio/wav')
  const bare = await send({ method: 'GET', url: recording!.split('?')[0]! })
  t.equal(bare.status, 403, 'the same file without the signature')
  t.match(bare.text, /<Code>SignatureDoesNotMatch<\/Code>/)
  t.equal((await call('POST', '/api/zoom/meetings', { topic: 'Review', duration: 30 }, api)).status, 201, 'a Zoom meeting through the gateway')
})

t.test('any (the default): the emulators take any credential of the provider\'s shape, and say so', async t => {
  const { call } = await startStack(t)
  const listed = await call('GET', '/api/admin/emulators', undefined, admin)
  t.equal(listed.status, 200, listed.text)
  t.equal(listed.body.auth, 'any')
  const sendgrid = (listed.body.items as Json[]).find(i => i.service === 'email')!
  // An emulator's path sent to the gateway: the 404 says where it is served.
  const wrongPort = await call('POST', '/sendgrid/v3/mail/send', {}, { authorization: 'Bearer SG.any.key' })
  t.equal(wrongPort.status, 404)
  t.match(wrongPort.body.message, `The SendGrid emulator is served by the email service at ${sendgrid.base_url as string}, not by the gateway`)
  const mail = JSON.stringify({ personalizations: [{ to: [{ email: 'deliver@example.com' }] }], from: { email: 'me@example.com' }, subject: 'Hi', content: [{ type: 'text/plain', value: 'Hi' }] })
  t.equal((await send({ method: 'POST', url: `${sendgrid.base_url as string}/v3/mail/send`, headers: { ...json, authorization: 'Bearer SG.any.key' }, body: mail })).status, 202)
  t.equal((await send({ method: 'POST', url: `${sendgrid.base_url as string}/v3/mail/send`, headers: { ...json, authorization: `Bearer ${sendgrid.credentials.apiKey as string}` }, body: mail })).status, 202, 'the account\'s own key works too')
})

t.test('an emulator\'s account is read with the admin token only', async t => {
  const { urls } = await startStack(t, { EMULATOR_AUTH: 'issued' })
  const anonymous = await send({ method: 'GET', url: `${urls.voice}/bolna/_switchboard/account` })
  t.equal(anonymous.status, 401)
  t.notMatch(anonymous.text, /bn-/)
  const read = await send({ method: 'GET', url: `${urls.voice}/bolna/_switchboard/account`, headers: admin })
  t.equal(read.status, 200)
  t.match(read.body, { provider: 'Bolna.ai', auth: 'issued', base_url: `${urls.voice}/bolna`, credentials: { apiKey: /^bn-/ } })
})
