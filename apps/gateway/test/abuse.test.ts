/**
 * The gateway under abuse: paths spelled to slip past the token check, too many requests, bodies
 * too big.
 */
import t from 'tap'
import { ADMIN_TOKEN, api, startStack } from './helper.ts'

t.test('a route reached through %-escapes or other spellings still needs its token', async t => {
  const { call } = await startStack(t)
  // The router decodes %61 to "a": these reach /api/admin/... and /api/automation/... routes.
  const admin = ['/api/%61dmin/settings/mock-mode', '/%61pi/admin/settings/mock-mode', '/api/admi%6E/journal', '/%61%70%69/%61dmin/stats']
  const automation = ['/api/%61utomation/email/stats', '/%61pi/automation/email/stats', '/api/automation/%65mail/stats']
  for (const path of [...admin, ...automation]) {
    const res = await call('GET', path)
    t.equal(res.status, 401, `${path} without a token`)
    t.equal(res.body.code, 'GATEWAY_UNAUTHORIZED')
  }
  for (const path of admin) t.equal((await call('GET', path, undefined, api)).status, 401, `${path} with the API token`)
  t.equal((await call('GET', admin[0]!, undefined, { authorization: `Bearer ${ADMIN_TOKEN}` })).status, 200, 'with the admin token it is the admin route')
  t.equal((await call('GET', automation[0]!, undefined, api)).status, 200, 'with the API token it is the automation route')
  for (const path of ['/API/admin/settings/mock-mode', '/api//admin/settings/mock-mode', '/api/admin/settings/mock-mode/']) {
    t.not((await call('GET', path)).status, 200, `${path} reaches nothing without a token`)
  }
})

const headerNumber = (v: unknown) => Number(Array.isArray(v) ? v[0] : v)

t.test('rate limit: per API token, else per IP, on the public routes only, answered in our envelope', async t => {
  const { call } = await startStack(t, { gatewayEnv: { RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '60000' } })
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

  // No token: counted per IP, before the token check (so guessing tokens is limited too).
  for (let i = 0; i < 5; i++) t.equal((await call('GET', '/api/automation/email/stats')).status, 401)
  const guessed = await call('GET', '/api/automation/email/stats', undefined, { authorization: 'Bearer a-guessed-token-0000000' })
  t.equal(guessed.status, 429, 'a wrong token shares the IP\'s bucket')

  // The API token has a bucket of its own.
  for (let i = 0; i < 5; i++) {
    const ok = await call('GET', '/api/automation/email/stats', undefined, api)
    t.equal(ok.status, 200)
    t.equal(headerNumber(ok.headers['x-ratelimit-limit']), 5)
    t.equal(headerNumber(ok.headers['x-ratelimit-remaining']), 4 - i)
  }
  const limited = await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Hi', content: 'x' }, { ...api, 'x-request-id': 'limited-1' })
  t.equal(limited.status, 429)
  t.match(limited.body, { statusCode: 429, code: 'GATEWAY_RATE_LIMITED', error: 'Too Many Requests', message: /at most 5 per 60 s.*Retry in/, requestId: 'limited-1' })
  const retryAfter = headerNumber(limited.headers['retry-after'])
  t.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter} s`)
  t.equal(headerNumber(limited.headers['x-ratelimit-limit']), 5)
  t.equal(headerNumber(limited.headers['x-ratelimit-remaining']), 0)
  t.ok(headerNumber(limited.headers['x-ratelimit-reset']) > 0)
  t.equal(limited.headers['x-request-id'], 'limited-1')

  t.equal((await call('GET', '/api/automation/email/stats', undefined, admin)).status, 200, 'the admin token is another bucket')
  t.equal((await call('POST', '/api/webhooks/email/sendgrid', '[]', { 'content-type': 'application/json' })).status, 429, 'webhooks: per IP')
  t.equal((await call('GET', '/api/%61utomation/email/stats', undefined, api)).status, 429, 'a %-escaped path is the same route and the same bucket')
  for (let i = 0; i < 8; i++) {
    t.equal((await call('GET', '/api/admin/settings/changes', undefined, admin)).status, 200, 'admin routes are not limited')
    t.equal((await call('GET', '/health')).status, 200, 'health is not limited')
  }
})

t.test('rate limit: the window passes and the token may call again', async t => {
  const { call } = await startStack(t, { gatewayEnv: { RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_MS: '1000' } })
  for (let i = 0; i < 2; i++) t.equal((await call('GET', '/api/automation/email/stats', undefined, api)).status, 200)
  t.equal((await call('GET', '/api/automation/email/stats', undefined, api)).status, 429)
  const until = Date.now() + 5000
  let status = 429
  while (status === 429 && Date.now() < until) {
    await new Promise(resolve => setTimeout(resolve, 100))
    status = (await call('GET', '/api/automation/email/stats', undefined, api)).status
  }
  t.equal(status, 200, 'allowed again after the window')
})

t.test('rate limit: RATE_LIMIT_MAX=0 turns it off; a bad value stops start-up naming it', async t => {
  const { call } = await startStack(t, { gatewayEnv: { RATE_LIMIT_MAX: '0' } })
  const statuses = new Set<number>()
  let headers = 0
  for (let i = 0; i < 30; i++) {
    const res = await call('GET', '/api/automation/email/stats', undefined, api)
    statuses.add(res.status)
    if (res.headers['x-ratelimit-limit'] !== undefined) headers++
  }
  t.same([...statuses], [200])
  t.equal(headers, 0, 'no rate-limit headers when it is off')
  const { loadGatewayEnv } = await import('../src/config.ts')
  t.throws(() => loadGatewayEnv({ RATE_LIMIT_MAX: '-1' }), /RATE_LIMIT_MAX/)
  t.throws(() => loadGatewayEnv({ RATE_LIMIT_WINDOW_MS: 'soon' }), /RATE_LIMIT_WINDOW_MS/)
  t.match(loadGatewayEnv({}), { RATE_LIMIT_MAX: 6000, RATE_LIMIT_WINDOW_MS: 60_000 }, 'generous defaults')
})
