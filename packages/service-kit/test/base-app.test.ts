/**
 * What every app built on createBaseApp answers to bad input the router or Ajv sees first: our
 * envelope, the field named, and no non-finite number slipping past validation.
 */
import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import { loadEnv, CommonEnvSchema } from '../src/server/env.ts'
import { compileAllSchemas, createBaseApp } from '../src/server/service-app.ts'

async function app (t: Test) {
  const a = createBaseApp('DEMO', false, loadEnv(CommonEnvSchema, {}))
  a.get('/items/:id', { schema: { params: Type.Object({ id: Type.String() }), querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }) } }, async request => ({ limit: request.query.limit }))
  a.post('/items', { schema: { body: Type.Object({ name: Type.String(), size: Type.Optional(Type.Number({ maximum: 10 })), tags: Type.Optional(Type.Object({ a: Type.String() }, { additionalProperties: false })) }, { additionalProperties: false }) } }, async request => request.body)
  t.teardown(() => a.close())
  return a
}

const envelope = (requestId?: string) => ({ statusCode: Number, code: /^DEMO_[A-Z_]+$/, error: String, message: String, requestId: requestId ?? String })

t.test('a URL that does not decode and an over-long path parameter: our envelope, with the request id', async t => {
  const a = await app(t)
  const bad = await a.inject({ url: '/items/%zz', headers: { 'x-request-id': 'bad-url-1' } })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { ...envelope('bad-url-1'), code: 'DEMO_BAD_REQUEST' })
  t.equal(bad.headers['x-request-id'], 'bad-url-1')
  const long = await a.inject({ url: `/items/${'x'.repeat(101)}` })
  t.equal(long.statusCode, 414)
  t.match(long.json(), { ...envelope(), code: 'DEMO_URI_TOO_LONG' })
})

t.test('an unknown field is named, wherever it is', async t => {
  const a = await app(t)
  const top = await a.inject({ method: 'POST', url: '/items', payload: { name: 'x', isAdmin: true } })
  t.equal(top.statusCode, 400)
  t.match(top.json(), { code: 'DEMO_INVALID_REQUEST', message: /^body must NOT have additional properties: 'isAdmin' is not a known field$/, details: [{ field: 'body/isAdmin' }] })
  const nested = await a.inject({ method: 'POST', url: '/items', payload: { name: 'x', tags: { a: 'y', b: 'z' } } })
  t.match(nested.json(), { message: /^body\/tags must NOT have additional properties: 'b'/, details: [{ field: 'body/tags/b' }] })
  const other = await a.inject({ method: 'POST', url: '/items', payload: { name: 1.5, size: 'big' } })
  t.match(other.json(), { message: /^body\/size must be number$/ }, 'other messages are Fastify\'s own')
})

t.test('"Infinity" and "1e999" are coerced to Infinity, which Ajv lets past its bounds: refused', async t => {
  const a = await app(t)
  for (const q of ['1e999', 'Infinity', '-1e999']) {
    const res = await a.inject({ url: `/items/a?limit=${q}` })
    t.equal(res.statusCode, 400, q)
    t.match(res.json(), { code: 'DEMO_INVALID_REQUEST', message: 'querystring/limit must be a finite number', details: [{ field: 'querystring/limit' }] })
  }
  t.same((await a.inject({ url: '/items/a?limit=1e2' })).json(), { limit: 100 }, 'a finite exponent is still fine')
  const body = await a.inject({ method: 'POST', url: '/items', payload: { name: 'x', size: '1e999' } })
  t.equal(body.statusCode, 400)
  t.match(body.json(), { message: 'body/size must be a finite number' })
  t.equal((await a.inject({ method: 'POST', url: '/items', payload: { name: 'Infinity', size: 2 } })).statusCode, 200, 'the word in a string field is just a string')
})

t.test('a JSON body gets no array coercion: an array where a contact belongs is refused', async t => {
  const a = createBaseApp('DEMO', false, loadEnv(CommonEnvSchema, {}))
  t.teardown(() => a.close())
  const Contact = Type.Union([Type.String({ pattern: '^\\+[0-9]{8,15}$' }), Type.Object({ to_number: Type.String({ pattern: '^\\+[0-9]{8,15}$' }) })])
  a.post('/calls', { schema: { body: Type.Object({ contacts: Type.Array(Contact), n: Type.Optional(Type.Integer()) }) } }, async request => request.body)
  a.get('/calls', { schema: { querystring: Type.Object({ status: Type.Optional(Type.Array(Type.String())), limit: Type.Optional(Type.Integer()) }) } }, async request => request.query)
  const post = (payload: unknown) => a.inject({ method: 'POST', url: '/calls', payload: payload as object })
  for (const contacts of [[[{ to_number: '+919876543210' }]], [['+919876543210']], '+919876543210']) {
    const res = await post({ contacts })
    t.equal(res.statusCode, 400, JSON.stringify(contacts))
    t.match(res.json(), { code: 'DEMO_INVALID_REQUEST', message: /^body\/contacts/ })
  }
  t.same((await post({ contacts: ['+919876543210', { to_number: '+919876543211' }], n: '5' })).json(), { contacts: ['+919876543210', { to_number: '+919876543211' }], n: 5 }, 'scalars are still coerced')
  t.same((await a.inject({ url: '/calls?status=sent&limit=5' })).json(), { status: ['sent'], limit: 5 }, 'a query string still gets its arrays and numbers')
})

t.test('route schemas compile at their first request, not at start; compileAllSchemas compiles the rest and reports a broken one', async t => {
  const a = createBaseApp('DEMO', false, loadEnv(CommonEnvSchema, {}))
  t.teardown(() => a.close())
  a.post('/one', { schema: { body: Type.Object({ n: Type.Integer() }), response: { 200: Type.Object({ n: Type.Integer() }) } } }, async request => request.body)
  a.get('/two', { schema: { querystring: Type.Object({ q: Type.Boolean() }) } }, async request => request.query)
  a.get('/broken', { schema: { querystring: { type: 'object', properties: { q: { type: 'no-such-type' } } } } }, async () => ({}))
  await a.ready()
  // /one's validator and serializer, /two's validator and /broken's: none compiled by ready().
  const refused = await a.inject({ method: 'POST', url: '/one', payload: { n: 'x' } })
  t.equal(refused.statusCode, 400, 'the first request compiles and validates')
  t.match(refused.json(), { message: 'body/n must be integer' }, 'with the validator\'s own errors')
  t.same((await a.inject({ method: 'POST', url: '/one', payload: { n: '7' } })).json(), { n: 7 })
  t.throws(() => compileAllSchemas(a), /route schema\(s\) do not compile: GET \/broken querystring: schema is invalid/, 'the broken schema is found, by its route (and its HEAD twin)')
  t.throws(() => compileAllSchemas(a), /^2 route schema\(s\) do not compile: GET \/broken [^;]*; HEAD \/broken [^;]*$/, 'the others were compiled by that same call: only it is left')
  t.same((await a.inject({ url: '/two?q=true' })).json(), { q: true })
  t.equal((await a.inject({ url: '/broken?q=1' })).statusCode, 500, 'a route with a broken schema fails loudly at its request')
})
