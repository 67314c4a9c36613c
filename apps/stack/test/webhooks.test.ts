/**
 * Forged and replayed webhooks, for every provider webhook route in the gateway's OpenAPI
 * document: an unsigned or wrongly signed post is refused (401) and changes nothing; a correctly
 * signed but stale post is refused; a correctly signed post sent again is refused or a no-op.
 * Signatures are made the provider's way with the keys the stack's emulators sign with.
 */
import t, { type Test } from 'tap'
import { randomBytes, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { signSwitchboardWebhook, SIGNATURE_HEADER as SB_SIGNATURE, TIMESTAMP_HEADER as SB_TIMESTAMP } from '@switchboard/service-kit/switchboard-webhook'
// Each provider's wire module (its documented signing scheme, which the emulator signs with), by
// path: the apps export only their app and config.
import { loadSigningKey } from '../../email/src/emulator/event-webhook.ts'
import { signEvents, SIGNATURE_HEADER as SG_SIGNATURE, TIMESTAMP_HEADER as SG_TIMESTAMP } from '../../email/src/sendgrid-webhooks.ts'
import { computeMac } from '../../payments/src/instamojo-webhooks.ts'
import { signZoomWebhook, SIGNATURE_HEADER as ZM_SIGNATURE, TIMESTAMP_HEADER as ZM_TIMESTAMP } from '../../zoom/src/zoom-webhooks.ts'
import { admin, api, eventually, startStack, type Reply, type Running } from './helper.ts'

const ZOOM_SECRET = 'zoom-secret-token-for-webhook-tests'
const AISENSY_TOKEN = 'aisensy-webhook-url-token-for-tests-0123'
const INSTAMOJO_SALT = 'instamojo-mock-salt-for-tests'
const now = () => Math.floor(Date.now() / 1000)
const STALE = () => String(now() - 3600)
const FUTURE = () => String(now() + 3600)

interface Post { headers: Record<string, string>, body: string }
interface Provider {
  name: string
  path: string
  /** Where forged posts go, when the route's path has a parameter (the AiSensy URL token). */
  forgedUrl?: string
  /** Posts with no signature at all, as a forger would send them. */
  unsigned: (s: Running) => Post[]
  /** Stale, tampered and replayed posts with correct signatures. */
  signed: (t: Test, s: Running) => Promise<void>
}

const json = { 'content-type': 'application/json' }
const form = { 'content-type': 'application/x-www-form-urlencoded' }
const post = (s: Running, path: string, p: Post): Promise<Reply> => s.call('POST', path, p.body, p.headers)

function refused (t: Test, res: Reply, what: string): void {
  t.equal(res.status, 401, `${what}: 401`)
  t.match(res.body, { statusCode: 401, code: /_WEBHOOK_[A-Z_]+$/, message: 'Unauthorized', requestId: String }, `${what}: our envelope, nothing more`)
}

const PROVIDERS: Provider[] = [
  {
    name: 'SendGrid Event Webhook (ECDSA P-256)',
    path: '/api/webhooks/email/sendgrid',
    unsigned: () => [
      { headers: json, body: '[]' },
      { headers: json, body: JSON.stringify([{ event: 'delivered', email: 'a@example.com', sb_log_id: randomUUID(), timestamp: now() }]) },
      { headers: { ...json, [SG_TIMESTAMP]: String(now()) }, body: '[]' },
      { headers: { ...json, [SG_SIGNATURE]: 'MEUCIQDforged', [SG_TIMESTAMP]: String(now()) }, body: '[]' }
    ],
    async signed (t, s) {
      const log = s.stack.shared.activityLog
      const id = randomUUID()
      log.record('email_logs', { id, request_id: 'webhook-test', mode: 'mock', to_email: 'someone@example.com', status: 'sent' })
      await log.flush()
      const { privateKey } = loadSigningKey(s.env.SWITCHBOARD_DATA_DIR)
      const body = JSON.stringify([{ email: 'someone@example.com', event: 'bounce', reason: 'forged bounce', timestamp: now(), sg_event_id: randomBytes(11).toString('hex'), sg_message_id: 'x.filter', sb_log_id: id }])
      const signedAt = (ts: string, b = body): Post => ({ headers: { ...json, [SG_SIGNATURE]: signEvents(privateKey, ts, b), [SG_TIMESTAMP]: ts }, body: b })
      const row = async () => { await log.flush(); return (await log.select('email_logs', { where: { id } }))[0] }

      refused(t, await post(s, this.path, signedAt(STALE())), 'signed an hour ago')
      refused(t, await post(s, this.path, signedAt(FUTURE())), 'signed an hour from now')
      const fresh = signedAt(String(now()))
      refused(t, await post(s, this.path, { ...fresh, body: fresh.body.replace('bounce', 'delivered') }), 'body changed after signing')
      t.equal((await row())?.status, 'sent', 'none of those changed the row')

      const first = await post(s, this.path, fresh)
      t.match(first, { status: 200, body: { received: 1, applied: 1 } }, 'a fresh, correctly signed post is applied')
      const after = await row()
      t.equal(after?.status, 'bounced')
      const again = await post(s, this.path, fresh)
      t.ok(again.status === 401 || again.status === 200, `the same post again: ${again.status}`)
      t.same(await row(), after, 'replayed: a no-op (SendGrid events only move a row forward, and it already moved)')
    }
  },
  {
    name: 'Zoom webhooks (HMAC-SHA256, v0)',
    path: '/api/webhooks/zoom',
    unsigned: () => [
      { headers: json, body: JSON.stringify({ event: 'meeting.started', event_ts: Date.now(), payload: { object: { id: 123456789 } } }) },
      { headers: json, body: JSON.stringify({ event: 'endpoint.url_validation', payload: { plainToken: 'abc' } }) },
      { headers: { ...json, [ZM_SIGNATURE]: 'v0=' + '0'.repeat(64), [ZM_TIMESTAMP]: String(now()) }, body: '{}' }
    ],
    async signed (t, s) {
      const created = await s.call('POST', '/api/zoom/meetings', { topic: 'Webhook replay test', start_time: '2030-01-15T10:00:00Z' }, api)
      t.equal(created.status, 201, 'a meeting to aim at')
      const id = created.body.id as number
      const status = async () => (await s.call('GET', `/api/zoom/meetings/${id}`, undefined, api)).body.status
      const event = (name: string, eventTs: number) => JSON.stringify({ event: name, event_ts: eventTs, payload: { account_id: 'acct', object: { id, uuid: created.body.uuid, topic: 'Webhook replay test' } } })
      const signedAt = (ts: string, body: string): Post => ({ headers: { ...json, [ZM_SIGNATURE]: signZoomWebhook(ZOOM_SECRET, ts, body), [ZM_TIMESTAMP]: ts }, body })
      const forged = { ...signedAt(String(now()), event('meeting.started', Date.now())), headers: { ...json, [ZM_SIGNATURE]: signZoomWebhook('not-the-secret-token', String(now()), event('meeting.started', Date.now())), [ZM_TIMESTAMP]: String(now()) } }
      refused(t, await post(s, this.path, forged), 'signed with another secret')

      const startedAt = Date.now()
      const started = event('meeting.started', startedAt)
      refused(t, await post(s, this.path, signedAt(STALE(), started)), 'signed an hour ago')
      t.equal(await status(), 'waiting', 'still waiting')
      const first = signedAt(String(now()), started)
      t.match(await post(s, this.path, first), { status: 200, body: { applied: true } }, 'a fresh signed meeting.started is applied')
      t.match(await post(s, this.path, signedAt(String(now()), event('meeting.ended', startedAt + 1000))), { status: 200, body: { applied: true } })
      t.equal(await status(), 'ended', 'a signed meeting.ended ends it')
      const replay = await post(s, this.path, first)
      t.ok(replay.status === 401 || (replay.status === 200 && replay.body.applied === false), `the old meeting.started again: ${replay.status} ${JSON.stringify(replay.body)}`)
      t.equal(await status(), 'ended', 'replayed: the meeting does not go back to started')
    }
  },
  {
    name: 'AiSensy project webhook (a secret token in the URL; AiSensy signs nothing)',
    path: '/api/webhooks/whatsapp/aisensy/{token}',
    forgedUrl: '/api/webhooks/whatsapp/aisensy/a-guessed-token-a-guessed-token',
    unsigned: () => [
      { headers: json, body: JSON.stringify({ id: 'n-forged', topic: 'message.status.updated', data: { message: { id: randomUUID(), status: 'failed' } } }) },
      { headers: { ...json, [SB_SIGNATURE]: 'f'.repeat(64), [SB_TIMESTAMP]: String(now()) }, body: JSON.stringify({ id: 'n-forged-2', topic: 'message.sender.user', data: { message: { id: 'i1', phone_number: '919876543210', message_content: { text: 'forged' } } } }) }
    ],
    async signed (t, s) {
      const sent = await s.call('POST', '/api/automation/trigger/whatsapp', { to_number: '+919876543210', template_name: 'welcome_message', params: ['Asha'] }, api)
      t.equal(sent.status, 202, 'a message to aim at')
      const body = JSON.stringify({ id: randomBytes(12).toString('hex'), topic: 'message.status.updated', project_id: 'p', delivery_attempt: '1', data: { message: { id: sent.body.provider_message_id, status: 'failed', phone_number: '919876543210', failureResponse: { code: 131026, title: 'forged failure' } } } })
      const url = `/api/webhooks/whatsapp/aisensy/${AISENSY_TOKEN}`
      refused(t, await s.call('POST', `${url.slice(0, -1)}x`, body, json), 'the token with its last character changed')
      const first = await s.call('POST', url, body, json)
      t.match(first, { status: 200, body: { received: 1, applied: 1, duplicate: 0 } }, 'at the right token URL it is applied')
      t.match(await s.call('POST', url, body, json), { status: 200, body: { received: 1, applied: 0, duplicate: 1 } }, 'the same notification again: acknowledged as a duplicate, not applied')
      t.comment('AiSensy signs no timestamp, so there is no stale post to refuse: the URL token authenticates, replays are inert')
    }
  },
  {
    name: 'Instamojo payment webhook (HMAC-SHA1 mac)',
    path: '/api/webhooks/payment/webhook',
    unsigned: () => [
      { headers: form, body: 'payment_id=MOJO0000000001&payment_request_id=' + 'a'.repeat(32) + '&status=Credit&amount=100.00' },
      { headers: form, body: 'payment_id=MOJO0000000001&payment_request_id=' + 'a'.repeat(32) + '&status=Credit&amount=100.00&mac=' + '0'.repeat(40) },
      { headers: form, body: '' }
    ],
    async signed (t, s) {
      const link = await s.call('POST', '/api/admin/payment-links', { amount: '100.00', purpose: 'Webhook replay test', buyer_name: 'Asha', email: 'asha@example.com' }, admin)
      t.equal(link.status, 201, 'a payment link to aim at')
      const requestId = link.body.payment_request_id as string
      const fields: Record<string, string> = { payment_id: 'MOJO5a06005J21512197', payment_request_id: requestId, status: 'Credit', amount: '100.00', fees: '2.00', buyer: 'asha@example.com', buyer_name: 'Asha', buyer_phone: '', currency: 'INR', purpose: 'Webhook replay test', shorturl: '', longurl: '' }
      const signed = (f: Record<string, string>, salt = INSTAMOJO_SALT): Post => ({ headers: form, body: new URLSearchParams({ ...f, mac: computeMac(f, salt) }).toString() })
      refused(t, await post(s, this.path, signed(fields, 'another-salt-another-salt')), 'signed with another salt')
      refused(t, await post(s, this.path, { headers: form, body: signed(fields).body.replace('amount=100.00', 'amount=1.00') }), 'amount changed after signing')
      const paid = signed(fields)
      t.match(await post(s, this.path, paid), { status: 200, body: { applied: true, status: 'Credit' } }, 'a correctly signed Credit is applied')
      const row = (await s.call('GET', `/api/admin/payment-links/${requestId}`, undefined, admin)).body
      t.equal(row.status, 'paid')
      const again = await post(s, this.path, paid)
      t.match(again, { status: 200, body: { applied: false } }, `the same post again is not applied (${again.body?.reason})`)
      const failed = signed({ ...fields, payment_id: 'MOJO5a06005J21512198', status: 'Failed' })
      t.match(await post(s, this.path, failed), { status: 200, body: { applied: false } }, 'nor is a later Failed for a paid link')
      t.same((await s.call('GET', `/api/admin/payment-links/${requestId}`, undefined, admin)).body, row, 'the link is exactly as it was after the first post')
      t.comment('Instamojo signs no timestamp, so there is no stale post to refuse: replays are inert instead')
    }
  },
  {
    name: 'Bolna execution webhook (source address, or the emulator\'s HMAC-SHA256)',
    path: '/api/webhooks/voice/bolna',
    unsigned: () => [
      { headers: json, body: JSON.stringify({ id: randomUUID(), status: 'completed' }) },
      { headers: { ...json, 'x-forwarded-for': '13.203.39.153' }, body: JSON.stringify({ id: randomUUID(), status: 'completed' }) },
      { headers: { ...json, [SB_SIGNATURE]: 'a'.repeat(64), [SB_TIMESTAMP]: String(now()) }, body: JSON.stringify({ id: randomUUID(), status: 'completed' }) }
    ],
    async signed (t, s) {
      const secret = readFileSync(join(s.env.SWITCHBOARD_DATA_DIR!, 'bolna-emulator-webhook-secret'), 'utf8').trim()
      const call = await s.call('POST', '/api/automation/trigger/call', { to_number: '+919855550100', script_id: 'appointment_reminder' }, api)
      t.equal(call.status, 202, 'a call to aim at')
      const executionId = call.body.execution_id as string
      // The emulator's own posts about this call come first; the forged one is sent after them.
      await eventually(async () => {
        await s.stack.shared.activityLog.flush()
        const [row] = await s.stack.shared.activityLog.select('call_logs', { where: { execution_id: executionId } })
        return row && ['completed', 'failed', 'no-answer', 'busy'].includes(String(row.status))
      }, 15_000, 50)
      const body = JSON.stringify({ id: executionId, agent_id: call.body.agent_id, status: 'completed', conversation_duration: 42, total_cost: 1.5, transcript: 'forged', telephony_data: { to_number: '+919855550100', duration: '42' } })
      const signedAt = (ts: string, key = secret): Post => ({ headers: { ...json, [SB_SIGNATURE]: signSwitchboardWebhook(key, ts, body), [SB_TIMESTAMP]: ts }, body })
      refused(t, await post(s, this.path, signedAt(String(now()), 'another-secret-another-secret')), 'signed with another secret')
      refused(t, await post(s, this.path, signedAt(STALE())), 'signed an hour ago')
      const fresh = signedAt(String(now()))
      const first = await post(s, this.path, fresh)
      t.equal(first.status, 200, 'a fresh signed post is accepted')
      await s.stack.shared.activityLog.flush()
      const [before] = await s.stack.shared.activityLog.select('call_logs', { where: { execution_id: executionId } })
      const again = await post(s, this.path, fresh)
      t.match(again, { status: 200, body: { duplicate: true } }, 'the same post again is acknowledged as a duplicate')
      await s.stack.shared.activityLog.flush()
      t.same((await s.stack.shared.activityLog.select('call_logs', { where: { execution_id: executionId } }))[0], before, 'and changes nothing')
    }
  }
]

t.test('every provider webhook route: forged posts refused, stale ones refused, replays inert', async t => {
  const running = await startStack(t, {
    ZOOM_WEBHOOK_SECRET_TOKEN: ZOOM_SECRET,
    ZOOM_WEBHOOK_URL: 'off',
    AISENSY_WEBHOOK_TOKEN: AISENSY_TOKEN,
    INSTAMOJO_MOCK_SALT: INSTAMOJO_SALT,
    EMAIL_LATENCY_MS: '0-0',
    EMAIL_SUCCESS_RATE: '1'
  })
  const doc = (await running.call('GET', '/docs/json')).body
  const routes = Object.keys(doc.paths).filter(p => p.startsWith('/api/webhooks/'))
  t.ok(routes.length >= 1, `webhook routes in the document: ${routes.join(', ')}`)

  for (const path of routes) {
    const provider = PROVIDERS.find(p => p.path === path)
    if (!provider) {
      t.fail(`${path} has no forged/replayed-webhook test here: add its provider's signing scheme to PROVIDERS`)
      continue
    }
    await t.test(provider.name, async t => {
      for (const [i, p] of provider.unsigned(running).entries()) refused(t, await post(running, provider.forgedUrl ?? path, p), `unsigned or forged post ${i + 1}`)
      await provider.signed(t, running)
    })
  }
  const missing = PROVIDERS.filter(p => !routes.includes(p.path)).map(p => p.path)
  if (missing.length) t.comment(`not in the document (yet), not tested: ${missing.join(', ')}`)
})
