/**
 * The service ports are not an open control surface: on the whole stack, a process that reaches a
 * service port directly (as anyone on a shared machine can) gets nothing without the internal
 * credential or the admin token, while the gateway (which carries the credential) and the
 * providers' own routes (which keep the provider's auth) work as before.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { INTERNAL_HEADER } from '@switchboard/service-kit/tokens'
import { buildStack, listenStack } from '../src/stack.ts'
import { admin, api, send, stackEnv, startStack } from './helper.ts'

const json = { 'content-type': 'application/json' }

t.test('a service refuses its own API and its emulator controls without a credential; the gateway still gets through', async t => {
  const { urls, call, env } = await startStack(t)
  // Generated into the data folder with the other tokens, readable by its owner only.
  const file = join(env.SWITCHBOARD_DATA_DIR!, 'tokens.json')
  const internal = JSON.parse(readFileSync(file, 'utf8')).internalToken as string
  t.match(internal, /^sb_internal_/)

  const direct = (service: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
    send({ method, url: urls[service] + path, headers: { ...(body === undefined ? {} : json), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) })

  for (const service of ['email', 'whatsapp', 'payments', 'voice', 'zoom']) {
    const reset = await direct(service, 'POST', '/admin/reset')
    t.equal(reset.status, 401, `${service}: POST /admin/reset without a credential`)
    t.equal(reset.body.code, `${service === 'whatsapp' ? 'WHATSAPP' : service.toUpperCase()}_UNAUTHORIZED`)
    const status = await direct(service, 'GET', '/admin/status', { [INTERNAL_HEADER]: 'a-guess-at-the-credential' })
    t.equal(status.status, 401, `${service}: a wrong credential is refused`)
    t.equal((await direct(service, 'GET', '/admin/status', { [INTERNAL_HEADER]: internal })).status, 200, `${service}: the internal credential is accepted`)
    t.equal((await direct(service, 'GET', '/health')).status, 200, `${service}: /health stays open for health checks`)
  }
  t.equal((await direct('email', 'POST', '/emails', {}, { to_email: 'deliver@example.com', subject: 'Hi', content: '<p>Hi</p>' })).status, 401, 'sending without the credential is refused')

  // The Instamojo salt signs "paid" webhooks: it is not readable without the admin token.
  const developers = await direct('payments', 'GET', '/instamojo/_switchboard/developers')
  t.equal(developers.status, 401)
  t.notMatch(developers.text, /salt/)
  const encoded = await direct('payments', 'GET', '/instamojo/%5Fswitchboard/developers')
  t.not(encoded.status, 200, 'an escaped path does not slip past the check')
  const withAdmin = await direct('payments', 'GET', '/instamojo/_switchboard/developers', admin)
  t.equal(withAdmin.status, 200)
  t.type(withAdmin.body.salt, 'string')
  t.equal((await direct('payments', 'GET', '/instamojo/_switchboard/developers', api)).status, 401, 'the API token is not the admin token')

  // Zoom's webhook target and URL validation are control routes too.
  t.equal((await direct('zoom', 'PUT', '/zoom/_switchboard/webhooks', {}, { url: 'http://127.0.0.1:9/x' })).status, 401)
  t.equal((await direct('zoom', 'POST', '/zoom/_switchboard/webhooks/validate', {}, { url: 'http://127.0.0.1:9/x' })).status, 401)
  const outside = await direct('zoom', 'PUT', '/zoom/_switchboard/webhooks', admin, { url: 'http://192.0.2.10:8080/hook' })
  t.equal(outside.status, 400, 'a target outside loopback is refused')
  t.match(outside.text, /WEBHOOK_ALLOWED_HOSTS/)
  const probe = await direct('zoom', 'POST', '/zoom/_switchboard/webhooks/validate', admin, { url: 'http://192.0.2.10:22/' })
  t.match(probe.body, { valid: false, status: null, message: /not loopback/ }, 'validation does not connect to a host outside loopback')
  t.equal((await direct('zoom', 'PUT', '/zoom/_switchboard/webhooks', admin, { url: `${urls.zoom}/webhooks/zoom` })).status, 200, 'loopback targets are fine')

  // A provider-faithful route keeps the provider's own auth: a SendGrid key, no Switchboard token.
  const mail = await direct('email', 'POST', '/sendgrid/v3/mail/send', { authorization: 'Bearer SG.any-key.abcdefghijklmnop' }, {
    personalizations: [{ to: [{ email: 'deliver@example.com' }] }], from: { email: 'a@example.com' }, subject: 'Hi', content: [{ type: 'text/plain', value: 'Hi' }]
  })
  t.equal(mail.status, 202)

  // The gateway carries the credential, so the public API works as before.
  const sent = await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Hi', content: '<p>Hi</p>' }, api)
  t.equal(sent.status, 202)
  t.equal((await call('POST', '/api/admin/reset', undefined, admin)).status, 200, 'the gateway resets the services with the credential')
  // A caller cannot smuggle a credential through the gateway either: the gateway sets its own.
  const smuggled = await call('GET', '/api/automation/email/stats', undefined, { ...api, [INTERNAL_HEADER]: 'caller-chosen' })
  t.equal(smuggled.status, 200)
})

t.test('an allow-listed host may be a webhook target', async t => {
  const { urls } = await startStack(t, { WEBHOOK_ALLOWED_HOSTS: 'hooks.example.test, 192.0.2.10:8080' })
  const put = (url: string) => send({ method: 'PUT', url: `${urls.zoom}/zoom/_switchboard/webhooks`, headers: { ...json, ...admin }, body: JSON.stringify({ url }) })
  t.equal((await put('https://hooks.example.test/zoom')).status, 200)
  t.equal((await put('http://192.0.2.10:8080/hook')).status, 200)
  t.equal((await put('http://192.0.2.10:8081/hook')).status, 400, 'only the listed port')
})

t.test('on any free ports, a payment link resent by email and WhatsApp goes to this stack\'s own services, not to the default ports', async t => {
  // As a user starts a stack beside others: every port 0, no service URL set.
  const env = await stackEnv(t)
  for (const name of ['GATEWAY', 'EMAIL', 'WHATSAPP', 'PAYMENTS', 'VOICE', 'ZOOM']) {
    env[`${name}_PORT`] = '0'
    delete env[`${name}_SERVICE_URL`]
  }
  const stack = await buildStack(env)
  t.teardown(() => stack.close())
  const urls = await listenStack(stack)
  const call = (method: string, path: string, body?: unknown) => send({ method, url: urls.gateway + path, headers: { ...admin, ...(body === undefined ? {} : json) }, body: body === undefined ? undefined : JSON.stringify(body) })

  const link = await call('POST', '/api/admin/payment-links', { amount: '499.00', purpose: 'Resend on free ports', buyer_name: 'Asha', email: 'asha@example.com', phone: '+919812345678' })
  t.equal(link.status, 201)
  const resent = await call('POST', `/api/admin/payment-links/${link.body.id}/resend`, { channels: ['email', 'whatsapp'] })
  t.equal(resent.status, 200, resent.text)
  t.match(resent.body, { sent: 2 })
  const emails = await call('GET', '/api/admin/messages/email?to=asha%40example.com&limit=5')
  t.match(emails.body.items, [{ subject: /^Payment request: Resend on free ports/ }], 'the reminder went through this stack\'s own email service')
})
