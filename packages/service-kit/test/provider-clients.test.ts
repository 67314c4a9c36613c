import t from 'tap'
import { requireAll } from '../src/server/credentials.ts'
import { ServiceError } from '../src/server/errors.ts'
import { callContext, modeClients } from '../src/outbound/provider-clients.ts'
import { ProviderError, providerErrorToServiceError } from '../src/outbound/provider-client.ts'

t.test('modeClients creates each client at its first use, once, and only the one the mode needs', async t => {
  const made: string[] = []
  const env: Record<string, string | undefined> = { ACME_KEY: 'key-1' }
  const clientFor = modeClients<{ kind: string, key?: string | undefined }>({
    provider: 'Acme',
    credentials: () => requireAll({ ACME_KEY: env.ACME_KEY }),
    mock: () => { made.push('mock'); return { kind: 'mock' } },
    live: () => { made.push('live'); return { kind: 'live', key: env.ACME_KEY } }
  })
  t.same(made, [], 'nothing is created before a call')
  const mock = clientFor('mock')
  t.same(made, ['mock'], 'a mock call creates the mock client only')
  t.equal(clientFor('mock'), mock, 'and keeps it')
  const live = clientFor('live')
  t.same(live, { kind: 'live', key: 'key-1' })
  t.equal(clientFor('live'), live, 'the live client is kept too')
  t.equal(clientFor('mock'), mock, 'switching back gives the same mock client')
  t.same(made, ['mock', 'live'], 'each created exactly once')
})

t.test('a live call with credentials missing is a 503 naming the variables; mock mode never needs them', async t => {
  let lives = 0
  const env: Record<string, string | undefined> = { ACME_ACCOUNT: 'acct' }
  const clientFor = modeClients({
    provider: 'Acme',
    credentials: () => requireAll({ ACME_ACCOUNT: env.ACME_ACCOUNT, ACME_ID: env.ACME_ID, ACME_SECRET: env.ACME_SECRET }),
    mock: () => 'mock-client',
    live: () => { lives++; return 'live-client' }
  })
  t.equal(clientFor('mock'), 'mock-client')
  const err = t.throws(() => clientFor('live')) as ServiceError
  t.ok(err instanceof ServiceError)
  t.same([err.statusCode, err.code, err.details], [503, 'PROVIDER_NOT_CONFIGURED', { missing: ['ACME_ID', 'ACME_SECRET'] }])
  t.equal(err.message, 'Acme is in live mode but ACME_ID and ACME_SECRET are not set. Set them in the environment, or switch this service back to mock mode.')
  t.equal(lives, 0, 'no live client was created')
  // The check runs on every live call: once the variables are there, the live client is made.
  env.ACME_ID = 'id'
  env.ACME_SECRET = 'secret'
  t.equal(clientFor('live'), 'live-client')
  t.equal(lives, 1)
})

t.test('a provider with its own rule for missing credentials gives its own error', async t => {
  const clientFor = modeClients({
    provider: 'Acme',
    credentials: () => ({ variables: [], missing: ['ACME_A', 'ACME_B'] }),
    notConfigured: missing => new ServiceError(503, 'PROVIDER_NOT_CONFIGURED', `either pair will do: ${missing.join(', ')}`),
    mock: () => 'mock-client',
    live: () => 'live-client'
  })
  t.throws(() => clientFor('live'), { statusCode: 503, message: 'either pair will do: ACME_A, ACME_B' })
})

t.test('callContext takes the request id and only the simulation headers', async t => {
  const headers = { 'x-switchboard-outcome': 'fail', 'x-switchboard-other': 'x', authorization: 'Bearer secret', 'content-type': 'application/json' }
  const ctx = callContext({ id: 'req-1', headers })
  t.equal(ctx.requestId, 'req-1')
  t.same(ctx.simulationHeaders, { 'x-switchboard-outcome': 'fail' })
  t.same(callContext({ id: 'req-2', headers: {} }), { requestId: 'req-2', simulationHeaders: {} })
})

t.test('a provider failure reads as one message: the provider\'s own full stop is not doubled, a 1-second wait is singular', async t => {
  const message = (err: ProviderError) => providerErrorToServiceError('ZOOM', err).message
  t.equal(message(new ProviderError('Zoom', 'unavailable', 'The service is temporarily unavailable. Try again later.', { statusCode: 503 })),
    'Zoom answered HTTP 503: The service is temporarily unavailable. Try again later. Retry later.')
  t.equal(message(new ProviderError('Zoom', 'unavailable', 'Internal Server Error', { statusCode: 500 })), 'Zoom answered HTTP 500: Internal Server Error. Retry later.')
  t.equal(providerErrorToServiceError('ZOOM', new ProviderError('Zoom', 'auth', 'Invalid access token.', { statusCode: 401 }), 'Check ZOOM_CLIENT_SECRET.').message,
    'Zoom refused our credentials (HTTP 401): Invalid access token. Check ZOOM_CLIENT_SECRET.')
  t.equal(message(new ProviderError('Zoom', 'unreachable', 'connect ECONNREFUSED.')), 'Zoom could not be reached: connect ECONNREFUSED. Check the network and the provider\'s base URL.')
  t.equal(message(new ProviderError('Zoom', 'rate_limited', 'Too many', { statusCode: 429, retryAfter: '1' })), 'Zoom is rate limiting us. Retry after 1 second.')
  t.equal(message(new ProviderError('Zoom', 'rate_limited', 'Too many', { statusCode: 429, retryAfter: '30' })), 'Zoom is rate limiting us. Retry after 30 seconds.')
  t.equal(message(new ProviderError('Zoom', 'rate_limited', 'Too many', { statusCode: 429, retryAfter: 'Wed, 21 Oct 2026 07:28:00 GMT' })), 'Zoom is rate limiting us. Retry after Wed, 21 Oct 2026 07:28:00 GMT.')
  t.equal(message(new ProviderError('Zoom', 'rate_limited', 'Too many', { statusCode: 429 })), 'Zoom is rate limiting us. Retry after a few seconds.')
})
