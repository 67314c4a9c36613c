/**
 * EMULATOR_AUTH=issued on the Instamojo emulator: only the stack's own OAuth client gets a token,
 * and a token issued to any client before the switch (tokens are stored, and outlive restarts) is
 * not taken. Runs on PostgreSQL with TEST_DATABASE_URL, else PGlite.
 */
import t, { type Test } from 'tap'
import { createTestInfrastructure, type TestInfrastructure } from '@switchboard/service-kit/testing'
import { encode, eventually, form, startInstance, v2Token } from './helper.ts'

const instance = async (t: Test, infra: TestInfrastructure, auth: 'any' | 'issued') => (await startInstance(t, infra, { EMULATOR_AUTH: auth })).call

t.test('issued: a token from before the switch is refused; the account\'s own client gets one that works', async t => {
  const infra = await createTestInfrastructure(t)
  const before = await instance(t, infra, 'any')
  const oldToken = await v2Token(before)
  t.equal((await before('GET', '/instamojo/v2/payment_requests/', undefined, oldToken)).status, 200, 'any: the token of any client works')

  // Tokens are stored in the background: another instance knows it once it is.
  const other = await instance(t, infra, 'any')
  t.ok(await eventually(async () => (await other('GET', '/instamojo/v2/payment_requests/', undefined, oldToken)).status === 200), 'the token is stored')

  // The same account (INTERNAL_TOKEN), the same database: as after a restart with EMULATOR_AUTH=issued.
  const after = await instance(t, infra, 'issued')
  const refused = await after('GET', '/instamojo/v2/payment_requests/', undefined, oldToken)
  t.equal(refused.status, 401, 'the token issued to another client before the switch')
  t.same(refused.body, { success: false, message: 'Invalid or expired token.' })
  t.equal((await after('POST', '/instamojo/oauth2/token/', encode({ grant_type: 'client_credentials', client_id: 'test_client', client_secret: 'test_secret' }), form)).status, 401, 'another client gets no token')

  const { credentials } = (await after('GET', '/instamojo/_switchboard/account')).body as { credentials: Record<string, string> }
  const issued = await after('POST', '/instamojo/oauth2/token/', encode({ grant_type: 'client_credentials', client_id: credentials.client_id!, client_secret: credentials.client_secret! }), form)
  t.equal(issued.status, 200)
  t.match(issued.body.access_token, /^[0-9a-f]{30}$/, 'shaped as before')
  t.equal((await after('GET', '/instamojo/v2/payment_requests/', undefined, { authorization: `Bearer ${issued.body.access_token as string}` })).status, 200)
  const made = await after('POST', '/instamojo/v2/payment_requests/', encode({ amount: '499', purpose: 'Order 9' }), { authorization: `Bearer ${issued.body.access_token as string}`, ...form })
  // Instamojo answers shorturl null at creation and fills it in later: read back.
  const shortUrl = async (call: typeof after, id: string, auth: Record<string, string>) => (await eventually(async () => {
    const r = await call('GET', `/instamojo/v2/payment_requests/${id}/`, undefined, auth)
    return r.body.shorturl ? r : undefined
  })).body.shorturl as string
  t.match(await shortUrl(after, made.body.id, { authorization: `Bearer ${issued.body.access_token as string}` }), /\/s\/[A-Za-z0-9]{12}$/, 'its short link is not one to find by trying: twelve characters, not Instamojo\'s five')
  const anyMode = await before('POST', '/instamojo/v2/payment_requests/', encode({ amount: '499', purpose: 'Order 10' }), { ...oldToken, ...form })
  t.match(await shortUrl(before, anyMode.body.id, oldToken), /\/s\/[A-Za-z0-9]{5}$/, 'with any, five as Instamojo\'s')

  // The service's own path (the gateway's) presents the account.
  const link = await after('POST', '/payment-links', { amount: '499.00', purpose: 'Order 7', buyer_name: 'Asha Rao', email: 'asha@example.com' })
  t.equal(link.status, 201, JSON.stringify(link.body))
})
