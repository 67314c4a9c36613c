import t from 'tap'
import { requestJson } from '@switchboard/service-kit/testing'
import { INTERNAL_HEADER } from '@switchboard/service-kit/tokens'
import { ADMIN_TOKEN, api, startStack } from './helper.ts'

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

t.test('failed authentication is limited per address, at the gateway and at a service; successes never count', async t => {
  const { call, emailUrl } = await startStack(t, { gatewayEnv: { AUTH_FAILURE_LIMIT: '5' }, emailEnv: { AUTH_FAILURE_LIMIT: '5' } })
  // Many successful requests first: none of them counts toward the limit.
  for (let i = 0; i < 12; i++) t.equal((await call('GET', '/api/automation/email/stats', undefined, api)).status, 200)

  // At a service: wrong internal credentials are limited per address.
  const direct = []
  for (let i = 0; i < 7; i++) direct.push((await requestJson(`${emailUrl}/emails/stats`, 'GET', undefined, { [INTERNAL_HEADER]: `guess-${i}` })).status)
  t.same(direct, [401, 401, 401, 401, 401, 429, 429])
  t.equal((await requestJson(`${emailUrl}/emails/stats`, 'GET', undefined, admin)).status, 429, 'the admin token too, at a service')
  // The gateway reaches the service from the same address, with the internal credential: a
  // guesser on the machine does not take the service away from the gateway's users.
  t.equal((await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Still open', content: '<p>Hi</p>' }, api)).status, 202, 'the gateway still gets through to the locked-out service')

  const guesses = []
  for (let i = 0; i < 7; i++) guesses.push(await call('GET', '/api/admin/stats', undefined, { authorization: `Bearer guess-${i}` }))
  t.same(guesses.map(g => g.status), [401, 401, 401, 401, 401, 429, 429], 'the sixth failure from this address is refused')
  const limited = guesses[5]!
  t.match(limited.body, { code: 'GATEWAY_AUTH_RATE_LIMITED', message: /Too many failed authentication attempts/ })
  t.ok(Number(limited.headers['retry-after']) > 0 && Number(limited.headers['retry-after']) <= 60, 'with Retry-After')
  // The address is refused whatever it presents, so a right guess is not told apart from a wrong one.
  t.equal((await call('GET', '/api/admin/stats', undefined, admin)).status, 429)
  // Routes that take no token are not affected.
  t.equal((await call('GET', '/health')).status, 200)
})

t.test('behind a reverse proxy named in GATEWAY_TRUSTED_PROXIES, failed authentication is counted per client, not for the proxy', async t => {
  const { call } = await startStack(t, { gatewayEnv: { AUTH_FAILURE_LIMIT: '3', GATEWAY_TRUSTED_PROXIES: '127.0.0.1,::1' } })
  const from = (client: string, headers: Record<string, string> = {}) => ({ ...headers, 'x-forwarded-for': client })
  const guesses = []
  for (let i = 0; i < 4; i++) guesses.push((await call('GET', '/api/admin/stats', undefined, from('203.0.113.5', { authorization: `Bearer guess-${i}` }))).status)
  t.same(guesses, [401, 401, 401, 429], 'the guessing client is refused')
  t.equal((await call('GET', '/api/admin/stats', undefined, from('203.0.113.6', admin))).status, 200, 'another client behind the same proxy is not')
  t.equal((await call('GET', '/api/admin/stats', undefined, from('198.51.100.1, 203.0.113.5', admin))).status, 429, 'an address the client adds on the left does not get the guesser out')

  // Without the setting the header is ignored: every caller is the proxy's address, and shares its count.
  const plain = await startStack(t, { gatewayEnv: { AUTH_FAILURE_LIMIT: '3' } })
  for (let i = 0; i < 3; i++) await plain.call('GET', '/api/admin/stats', undefined, from('203.0.113.5', { authorization: `Bearer guess-${i}` }))
  t.equal((await plain.call('GET', '/api/admin/stats', undefined, from('203.0.113.6', admin))).status, 429)
})

t.test('GATEWAY_TRUSTED_PROXIES that is not a list of addresses stops the start, naming the variable', async t => {
  await t.rejects(startStack(t, { gatewayEnv: { GATEWAY_TRUSTED_PROXIES: '127.0.0.1,nginx' } }), { name: 'ConfigError', message: /GATEWAY_TRUSTED_PROXIES must list IP addresses or CIDR ranges .* got "nginx"/ })
})
