import t from 'tap'
import { createHmac } from 'node:crypto'
import { signSwitchboardWebhook, switchboardWebhookHeaders, verifySwitchboardWebhook } from '../src/outbound/switchboard-webhook.ts'

// printf '%s' '1763900000.{"object":"aisensy.message_status","events":[]}' | openssl dgst -sha256 -hmac 'whsec-test-vector-secret'
const SECRET = 'whsec-test-vector-secret'
const BODY = '{"object":"aisensy.message_status","events":[]}'
const VECTOR = '00e5c5a97feafe53c1320b39bd72938d082d83332026795eaa9be4f6282a884c'
const AT = 1763900000 * 1000

t.test('signs "<timestamp>.<body>" as openssl does', async t => {
  t.equal(signSwitchboardWebhook(SECRET, '1763900000', BODY), VECTOR)
  t.equal(signSwitchboardWebhook(SECRET, '1763900000', Buffer.from(BODY)), VECTOR, 'bytes or text, the same')
  t.same(switchboardWebhookHeaders(SECRET, BODY, AT + 999), { 'x-switchboard-timestamp': '1763900000', 'x-switchboard-signature': VECTOR })
  const mine = createHmac('sha256', SECRET).update(`1763900000.${BODY}`).digest('hex')
  t.equal(mine, VECTOR, 'what a receiver written from the README computes')
})

t.test('verifies: fresh and exact passes; stale, changed, truncated or missing is refused with the reason', async t => {
  const body = Buffer.from(BODY)
  const ok = (signature: unknown, timestamp: unknown, nowMs = AT, secrets: string | string[] = SECRET, raw = body) =>
    verifySwitchboardWebhook(secrets, { signature, timestamp }, raw, 300, nowMs)
  t.same(ok(VECTOR, '1763900000'), { ok: true })
  t.same(ok(VECTOR, '1763900000', AT + 300_000), { ok: true }, 'up to the maximum age')
  t.same(ok(VECTOR, '1763900000', AT + 301_000), { ok: false, reason: 'stale' })
  t.same(ok(VECTOR, '1763900000', AT - 301_000), { ok: false, reason: 'stale' }, 'from too far in the future too')
  t.same(ok(VECTOR, '1763900001'), { ok: false, reason: 'mismatch' }, 'the timestamp is signed')
  t.same(ok(VECTOR, '1763900000', AT, SECRET, Buffer.from(BODY.replace('[]', '[ ]'))), { ok: false, reason: 'mismatch' }, 'one byte of the body')
  t.same(ok(VECTOR.toUpperCase(), '1763900000'), { ok: false, reason: 'mismatch' })
  t.same(ok(VECTOR.slice(0, 63), '1763900000'), { ok: false, reason: 'mismatch' })
  t.same(ok(VECTOR, '1763900000', AT, ['old-secret', SECRET]), { ok: true }, 'any of several secrets (rotation)')
  t.same(ok(VECTOR, '1763900000', AT, ['old-secret']), { ok: false, reason: 'mismatch' })
  t.same(ok(undefined, '1763900000'), { ok: false, reason: 'missing' })
  t.same(ok('', '1763900000'), { ok: false, reason: 'missing' })
  t.same(ok(VECTOR, undefined), { ok: false, reason: 'missing' })
  t.same(ok(['a', 'b'], '1763900000'), { ok: false, reason: 'missing' }, 'a repeated header is not a signature')
  t.same(ok(VECTOR, 'yesterday'), { ok: false, reason: 'stale' })
})
