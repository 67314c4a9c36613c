import t from 'tap'
import { ADMIN_TOKEN, api, startStack } from './helper.ts'

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

t.test('event endpoints: the admin API refuses what it must, naming the field; a secret is shown once', async t => {
  const s = await startStack(t)
  const bad = [
    [{ url: 'http://203.0.113.9/hook' }, 422, 'ADMIN_ENDPOINT_NOT_ALLOWED', /url/],
    [{ url: 'ftp://127.0.0.1/hook' }, 400, undefined, /url/],
    [{ url: 'http://127.0.0.1:9/hook', types: ['email.nope'] }, 400, undefined, /types/],
    [{ url: 'http://127.0.0.1:9/hook', secret: 'whsec_short' }, 400, 'ADMIN_ENDPOINT_SECRET_INVALID', /secret/],
    [{ url: 'http://127.0.0.1:9/hook', extra: 1 }, 400, undefined, /extra|additional/]
  ] as const
  for (const [body, status, code, field] of bad) {
    const res = await s.call('POST', '/api/admin/endpoints', body, admin)
    t.equal(res.status, status, JSON.stringify(body))
    if (code) t.equal(res.body.code, code)
    t.match(res.body.message, field, 'the message names the field')
  }
  const missing = '00000000-0000-4000-8000-000000000000'
  t.equal((await s.call('GET', `/api/admin/endpoints/${missing}`, undefined, admin)).status, 404)
  t.equal((await s.call('PATCH', `/api/admin/endpoints/${missing}`, { enabled: false }, admin)).status, 404)
  t.equal((await s.call('DELETE', `/api/admin/endpoints/${missing}`, undefined, admin)).status, 404)
  t.equal((await s.call('PATCH', '/api/admin/endpoints/not-a-uuid', { enabled: false }, admin)).status, 400)
  t.equal((await s.call('PATCH', `/api/admin/endpoints/${missing}`, {}, admin)).status, 400, 'an empty patch')
  t.equal((await s.call('GET', '/api/admin/events?status=lost', undefined, admin)).status, 400)
  t.equal((await s.call('GET', '/api/admin/endpoints', undefined, api)).status, 401, 'the API token is not enough')

  // A secret of one's own is accepted and, like a generated one, shown only in the creation answer.
  const own = `whsec_${Buffer.from('0123456789abcdef0123').toString('base64')}`
  const created = await s.call('POST', '/api/admin/endpoints', { url: 'http://localhost:9/hook', secret: own, types: ['call.completed'] }, admin)
  t.equal(created.status, 201)
  t.equal(created.body.secret, own)
  const generated = await s.call('POST', '/api/admin/endpoints', { url: 'http://127.0.0.1:9/other' }, admin)
  t.match(generated.body.secret, /^whsec_[A-Za-z0-9+/]{32}$/)
  t.not(generated.body.secret, own)
  for (const path of ['/api/admin/endpoints', `/api/admin/endpoints/${created.body.id}`, `/api/admin/endpoints/${generated.body.id}`, '/api/admin/events']) {
    const res = await s.call('GET', path, undefined, admin)
    t.equal(res.status, 200)
    t.notOk(JSON.stringify(res.body).includes('whsec_'), `${path}: no secret`)
  }
  const patched = await s.call('PATCH', `/api/admin/endpoints/${created.body.id}`, { url: 'http://127.0.0.1:9/moved', types: [] }, admin)
  t.match(patched.body, { url: 'http://127.0.0.1:9/moved', types: [] })
  t.notOk('secret' in patched.body)
  const deleted = await s.call('DELETE', `/api/admin/endpoints/${created.body.id}`, undefined, admin)
  t.same(deleted.body, { deleted: true, id: created.body.id })
  t.same((await s.call('GET', '/api/admin/endpoints', undefined, admin)).body.items.map((e: { id: string }) => e.id), [generated.body.id])
})

t.test('SWITCHBOARD_EVENTS_URL without a whsec_ secret, or with an unknown type, stops the start naming the variable', async t => {
  await t.rejects(startStack(t, { gatewayEnv: { SWITCHBOARD_EVENTS_URL: 'http://127.0.0.1:9/hook' } }), /SWITCHBOARD_EVENTS_SECRET/)
  const secret = `whsec_${Buffer.from('0123456789abcdef0123').toString('base64')}`
  await t.rejects(startStack(t, { gatewayEnv: { SWITCHBOARD_EVENTS_URL: 'http://127.0.0.1:9/hook', SWITCHBOARD_EVENTS_SECRET: secret, SWITCHBOARD_EVENTS_TYPES: 'payment.maybe' } }), /SWITCHBOARD_EVENTS_TYPES/)
  await t.rejects(startStack(t, { gatewayEnv: { SWITCHBOARD_EVENTS_URL: 'http://203.0.113.9/hook', SWITCHBOARD_EVENTS_SECRET: secret } }), /SWITCHBOARD_EVENTS_URL/)
})
