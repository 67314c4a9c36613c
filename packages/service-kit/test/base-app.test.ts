/**
 * What every app built on createBaseApp answers to bad input the router or Ajv sees first: our
 * envelope, the field named, and no non-finite number slipping past validation.
 */
import t, { type Test } from 'tap'
import { connect, type AddressInfo } from 'node:net'
import { once } from 'node:events'
import { gzipSync } from 'node:zlib'
import { Type } from '@sinclair/typebox'
import { loadEnv, CommonEnvSchema } from '../src/server/env.ts'
import { compileAllSchemas, createBaseApp } from '../src/server/service-app.ts'
import { rawExchange } from '../src/testing/testing.ts'
import { request } from 'undici'

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

t.test('a caller\'s X-Request-Id is kept when it is an id (1-200 printable ASCII characters), else replaced by one of ours', async t => {
  // An 8 KB one went whole into the rows the request wrote, where the request_id index refused it.
  const a = await app(t)
  const kept = await a.inject({ url: '/items/1', headers: { 'x-request-id': 'trace-42:a/b' } })
  t.equal(kept.headers['x-request-id'], 'trace-42:a/b')
  t.equal(kept.json().limit, 50)
  for (const given of ['x'.repeat(201), 'has space', 'caf\u00e9', '']) {
    const res = await a.inject({ url: '/items/%zz', headers: { 'x-request-id': given } })
    t.match(res.headers['x-request-id'], /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, `${JSON.stringify(given.slice(0, 20))}: an id of ours`)
    t.equal(res.json().requestId, res.headers['x-request-id'])
  }
  t.equal((await a.inject({ url: '/items/1', headers: { 'x-request-id': 'y'.repeat(200) } })).headers['x-request-id'], 'y'.repeat(200))
})

t.test('an unknown field is named, wherever it is', async t => {
  const a = await app(t)
  const top = await a.inject({ method: 'POST', url: '/items', payload: { name: 'x', isAdmin: true } })
  t.equal(top.statusCode, 400)
  t.match(top.json(), { code: 'DEMO_INVALID_REQUEST', message: /^body must NOT have additional properties: 'isAdmin' is not a known field$/, details: [{ field: 'body/isAdmin' }] })
  const nested = await a.inject({ method: 'POST', url: '/items', payload: { name: 'x', tags: { a: 'y', b: 'z' } } })
  t.match(nested.json(), { message: /^body\/tags must NOT have additional properties: 'b'/, details: [{ field: 'body/tags/b' }] })
  const other = await a.inject({ method: 'POST', url: '/items', payload: { name: 'x', size: 'big' } })
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
  t.match(body.json(), { message: 'body/size must be number' }, 'a JSON body is not coerced: the text is not a number at all')
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
  t.same((await post({ contacts: ['+919876543210', { to_number: '+919876543211' }], n: 5 })).json(), { contacts: ['+919876543210', { to_number: '+919876543211' }], n: 5 })
  t.same((await a.inject({ url: '/calls?status=sent&limit=5' })).json(), { status: ['sent'], limit: 5 }, 'a query string still gets its arrays and numbers')
})

t.test('a JSON body has real types: nothing is coerced, and the field is named; query strings and params are text and are', async t => {
  const a = createBaseApp('DEMO', false, loadEnv(CommonEnvSchema, {}), { emulatorPrefix: '/emu' })
  t.teardown(() => a.close())
  const Body = Type.Object({
    enabled: Type.Optional(Type.Boolean()),
    n: Type.Optional(Type.Integer()),
    rate: Type.Optional(Type.Number()),
    text: Type.Optional(Type.String()),
    list: Type.Optional(Type.Array(Type.String()))
  }, { additionalProperties: false })
  const schema = { params: Type.Object({ id: Type.Integer() }), querystring: Type.Object({ dry: Type.Optional(Type.Boolean()) }), body: Body }
  a.patch('/things/:id', { schema }, async request => ({ id: request.params.id, query: request.query, body: request.body }))
  a.post('/emu/form', { schema: { body: Body } }, async request => request.body)
  const patch = (payload: unknown, url = '/things/7') => a.inject({ method: 'PATCH', url, payload: payload as object })
  const refused: Array<[Record<string, unknown>, string, string]> = [
    [{ enabled: null }, 'body/enabled', 'must be boolean'],
    [{ enabled: 'false' }, 'body/enabled', 'must be boolean'],
    [{ enabled: 0 }, 'body/enabled', 'must be boolean'],
    [{ n: '30' }, 'body/n', 'must be integer'],
    [{ rate: '1' }, 'body/rate', 'must be number'],
    [{ text: 123 }, 'body/text', 'must be string'],
    [{ text: true }, 'body/text', 'must be string'],
    [{ list: [42] }, 'body/list/0', 'must be string'],
    [{ list: 'a' }, 'body/list', 'must be array']
  ]
  for (const [payload, field, message] of refused) {
    const res = await patch(payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.match(res.json(), { code: 'DEMO_INVALID_REQUEST', message: `${field} ${message}`, details: [{ field, message }] })
  }
  t.same((await patch({ enabled: false, n: 30, rate: 1, text: '123', list: ['42'] }, '/things/7?dry=true')).json(),
    { id: 7, query: { dry: true }, body: { enabled: false, n: 30, rate: 1, text: '123', list: ['42'] } }, 'real types pass; the path and query string are coerced from text')
  const form = await a.inject({ method: 'POST', url: '/emu/form', headers: { 'content-type': 'text/plain' }, payload: 'x' })
  t.equal(form.statusCode, 400, 'a provider emulator still reads text (its schema then refuses a string for an object)')
  t.same((await a.inject({ method: 'POST', url: '/emu/form', payload: { enabled: 'false', n: '30', text: 123 } })).json(), { enabled: false, n: 30, text: '123' },
    'under the emulator prefix bodies keep their scalar coercion: providers\' form-encoded bodies are all text')
})

t.test('a union of literals that fails is one message with the allowed values, not one per value', async t => {
  const a = createBaseApp('DEMO', false, loadEnv(CommonEnvSchema, {}))
  t.teardown(() => a.close())
  const Status = Type.Union(['open', 'paid', 'failed'].map(s => Type.Literal(s)))
  a.post('/links/:kind', {
    schema: {
      params: Type.Object({ kind: Type.Union([Type.Literal('email'), Type.Literal('sms')]) }),
      querystring: Type.Object({ status: Type.Optional(Status) }),
      body: Type.Object({
        types: Type.Optional(Type.Array(Status)),
        maybe: Type.Optional(Type.Union([Type.Null(), Status])),
        n: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)])),
        either: Type.Optional(Type.Union([Type.String({ maxLength: 2 }), Type.Integer()]))
      })
    }
  }, async () => ({ ok: true }))
  const cases: Array<[string, Record<string, unknown>, string, string]> = [
    ['/links/email?status=weird', {}, 'querystring/status', 'must be one of: open, paid, failed'],
    ['/links/fax', {}, 'params/kind', 'must be one of: email, sms'],
    ['/links/email', { types: ['open', 'nope'] }, 'body/types/1', 'must be one of: open, paid, failed'],
    ['/links/email', { maybe: 'nope' }, 'body/maybe', 'must be one of: null, open, paid, failed'],
    ['/links/email', { n: 3 }, 'body/n', 'must be one of: 1, 2']
  ]
  for (const [url, payload, field, message] of cases) {
    const res = await a.inject({ method: 'POST', url, payload })
    t.equal(res.statusCode, 400, url)
    t.same(res.json().details, [{ field, message }], `${field}: one detail`)
    t.equal(res.json().message, `${field} ${message}`)
  }
  const other = await a.inject({ method: 'POST', url: '/links/email', payload: { either: 'long' } })
  t.equal(other.json().details.length, 3, 'a union of other schemas still says what each branch wanted')
})

t.test('JSON routes take JSON: text/plain is a 415 like any other type, naming the one to send; a 413 names the limit', async t => {
  const a = createBaseApp('DEMO', false, loadEnv(CommonEnvSchema, {}))
  t.teardown(() => a.close())
  a.post('/items', { bodyLimit: 1024, schema: { body: Type.Object({ name: Type.String() }) } }, async request => request.body)
  a.get('/keys/:key', { schema: { params: Type.Object({ key: Type.String({ pattern: '^[a-z]+$', title: 'lower-case letters' }) }) } }, async () => ({}))
  for (const type of ['text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded']) {
    const res = await a.inject({ method: 'POST', url: '/items', headers: { 'content-type': type }, payload: '{"name":"x"}' })
    t.equal(res.statusCode, 415, type)
    t.match(res.json(), { code: 'DEMO_UNSUPPORTED_MEDIA_TYPE', message: /send Content-Type: application\/json\.$/, requestId: String })
  }
  t.match((await a.inject({ method: 'POST', url: '/nothing-here', headers: { 'content-type': 'text/plain' }, payload: 'x' })).json(), { statusCode: 404, code: 'DEMO_ROUTE_NOT_FOUND' }, 'no route: a 404 still')
  const large = await a.inject({ method: 'POST', url: '/items', payload: { name: 'x'.repeat(2000) } })
  t.equal(large.statusCode, 413)
  t.match(large.json(), { code: 'DEMO_PAYLOAD_TOO_LARGE', message: /at most 1 KB/ })
  t.same((await a.inject({ method: 'POST', url: '/items', payload: { name: 'x' } })).json(), { name: 'x' })
  // A pattern with a title says in words what it takes (the route is added with the others, above).
  t.match((await a.inject({ method: 'GET', url: '/keys/ABC' })).json(), { message: 'params/key must be lower-case letters' })
  // A fetch helper that always sends the header, on a POST with nothing to say.
  const empty = await a.inject({ method: 'POST', url: '/items', headers: { 'content-type': 'application/json' } })
  t.equal(empty.statusCode, 400)
  t.match(empty.json(), { code: 'DEMO_INVALID_JSON', message: /has no body\. Send a JSON body \(\{\} when the route needs nothing\), or leave the header out\./ })
})

t.test('malformed HTTP framing is answered in our envelope, with a code and a request id, and the connection closed', async t => {
  const a = createBaseApp('DEMO', false, loadEnv(CommonEnvSchema, {}))
  t.teardown(() => a.close())
  a.post('/items', async request => request.body)
  await a.listen({ port: 0, host: '127.0.0.1' })
  const port = (a.server.address() as AddressInfo).port
  const post = (headers: string, body = '{"a":1}') => `POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}\r\n${body}`
  const framings: Record<string, string> = {
    'Content-Length: abc': post('Content-Length: abc\r\n'),
    'Content-Length: -1': post('Content-Length: -1\r\n'),
    'two different Content-Lengths': post('Content-Length: 7\r\nContent-Length: 8\r\n'),
    'chunked and Content-Length': post('Transfer-Encoding: chunked\r\nContent-Length: 7\r\n', '7\r\n{"a":1}\r\n0\r\n\r\n'),
    'a bad chunk size': post('Transfer-Encoding: chunked\r\n', 'zz\r\n{"a":1}\r\n0\r\n\r\n'),
    'a Content-Length too short': post('Content-Length: 3\r\n')
  }
  for (const [what, raw] of Object.entries(framings)) {
    const answer = await rawExchange(`http://127.0.0.1:${port}`, raw)
    const last = answer.slice(answer.lastIndexOf('HTTP/1.1 '))
    t.match(last, /^HTTP\/1\.1 400 Bad Request\r\n/, what)
    const body = JSON.parse(last.slice(last.indexOf('\r\n\r\n') + 4))
    t.match(body, { statusCode: 400, code: 'DEMO_BAD_REQUEST', error: 'Bad Request', message: /not well-formed HTTP/, requestId: /^[0-9a-f-]{36}$/ }, what)
    t.match(last, new RegExp(`\r\nx-request-id: ${body.requestId}\r\n`), `${what}: the request id in its header too`)
    t.match(last, /\r\nconnection: close\r\n/i)
  }
  const headers = await rawExchange(`http://127.0.0.1:${port}`, `GET /items HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`)
  t.match(headers, /^HTTP\/1\.1 431 /)
  t.match(JSON.parse(headers.slice(headers.indexOf('\r\n\r\n') + 4)), { statusCode: 431, code: 'DEMO_HEADERS_TOO_LARGE', message: /16 KB/ })
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
  t.same((await a.inject({ method: 'POST', url: '/one', payload: { n: 7 } })).json(), { n: 7 })
  t.throws(() => compileAllSchemas(a), /route schema\(s\) do not compile: GET \/broken querystring: schema is invalid/, 'the broken schema is found, by its route (and its HEAD twin)')
  t.throws(() => compileAllSchemas(a), /^2 route schema\(s\) do not compile: GET \/broken [^;]*; HEAD \/broken [^;]*$/, 'the others were compiled by that same call: only it is left')
  t.same((await a.inject({ url: '/two?q=true' })).json(), { q: true })
  t.equal((await a.inject({ url: '/broken?q=1' })).statusCode, 500, 'a route with a broken schema fails loudly at its request')
})

t.test('chunked bodies are held by the bytes they sent: idle chunked posts do not turn every other body away; a chunk past the cap is a 503', async t => {
  // Reserved by the route's whole limit, eight connections that sent one chunk of a webhook post
  // and waited held the gateway's 64 MB, and every request with a body got 503 BUSY for 130 s.
  const a = createBaseApp('DEMO', false, loadEnv(CommonEnvSchema, { BODY_BYTES_IN_FLIGHT: String(1024 * 1024) }))
  a.post('/echo', async request => ({ size: JSON.stringify(request.body).length }))
  t.teardown(() => a.close())
  await a.listen({ port: 0, host: '127.0.0.1' })
  const { port } = a.server.address() as AddressInfo
  const idle = await Promise.all(Array.from({ length: 3 }, async () => {
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    await once(socket, 'connect')
    socket.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n[\r\n')
    return socket
  }))
  t.teardown(() => { for (const s of idle) s.destroy() })
  // (Connection: close: a kept-alive connection would keep the count of connections below up for the server's keep-alive timeout.)
  const small = await rawExchange(`http://127.0.0.1:${port}`, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{"a":1}')
  t.match(small, /^HTTP\/1\.1 200 /, 'a body with a length is read while three chunked posts wait')
  // A chunked body whose bytes would pass the cap while others hold some: 503 in our envelope.
  const big = `"${'x'.repeat(2 * 1024 * 1024)}"`
  const answer = await rawExchange(`http://127.0.0.1:${port}`, `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`)
  t.match(answer, /^HTTP\/1\.1 503 /)
  t.match(answer, /retry-after: 2/i)
  t.match(answer, /"code":"DEMO_BUSY"/)
  // Once they are gone, a chunked body is read whole.
  for (const s of idle) s.destroy()
  const connections = () => new Promise<number>((resolve, reject) => a.server.getConnections((err, n) => err ? reject(err) : resolve(n)))
  while (await connections() > 0) await new Promise(resolve => setTimeout(resolve, 10))
  const alone = await rawExchange(`http://127.0.0.1:${port}`, `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`)
  t.match(alone, /^HTTP\/1\.1 200 /)
})

t.test('x-switchboard-* headers on our API: a value the emulator would ignore is a 400 naming the header; the emulator\'s own routes read them as before', async t => {
  const a = createBaseApp('DEMO', false, loadEnv(CommonEnvSchema, {}), { emulatorPrefix: '/acme' })
  a.get('/things', async () => ({ ok: true }))
  a.get('/acme/v1/things', async () => ({ ok: true }))
  t.teardown(() => a.close())
  for (const [name, value, rule] of [
    ['x-switchboard-outcome', 'rate_limit', /must be one of: success, failure, outage, rate_limited, timeout$/],
    ['x-switchboard-outcome', 'FAILURE', /must be one of/],
    ['x-switchboard-latency-ms', 'abc', /must be a whole number of milliseconds, 0 to 120000$/],
    ['x-switchboard-latency-ms', '500000', /0 to 120000/],
    ['x-switchboard-latency-ms', '-5', /whole number/],
    ['x-switchboard-scenario', 'Not A Story', /must be a story's name/]
  ] as const) {
    const res = await a.inject({ url: '/things', headers: { [name]: value } })
    t.equal(res.statusCode, 400, `${name}: ${value} is refused`)
    t.match(res.json(), { ...envelope(), code: 'DEMO_INVALID_REQUEST', message: new RegExp(`^headers/${name} `), details: [{ field: `headers/${name}`, message: rule }] })
    t.equal((await a.inject({ url: '/acme/v1/things', headers: { [name]: value } })).statusCode, 200, 'the emulator ignores it, as a provider ignores a header it does not know')
  }
  for (const headers of [{}, { 'x-switchboard-outcome': 'rate_limited', 'x-switchboard-latency-ms': '0', 'x-switchboard-scenario': 'delivered-never-read' }, { 'x-switchboard-latency-ms': '120000' }]) {
    t.equal((await a.inject({ url: '/things', headers })).statusCode, 200, `valid: ${JSON.stringify(headers)}`)
  }
})

t.test('a gzip body (a route with config.gzipBody) is inflated before it is parsed, and counted by what it inflates to', async t => {
  const a = createBaseApp('DEMO', false, loadEnv(CommonEnvSchema, { BODY_BYTES_IN_FLIGHT: String(1024 * 1024) }))
  a.post('/gz', { config: { gzipBody: true } }, async request => ({ size: JSON.stringify(request.body).length }))
  t.teardown(() => a.close())
  await a.listen({ port: 0, host: '127.0.0.1' })
  const { port } = a.server.address() as AddressInfo
  const gzipped = (json: string) => gzipSync(json)
  const post = async (body: Buffer) => {
    const res = await request(`http://127.0.0.1:${port}/gz`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body })
    return { status: res.statusCode, text: await res.body.text() }
  }
  t.same(await post(gzipped('{"a":1}')), { status: 200, text: '{"size":7}' }, 'inflated, then parsed')
  t.equal((await post(Buffer.from('{"a":1}'))).status, 400, 'bytes that are not gzip: a 400')
  // Another request holds a byte of the 1 MB: 2 MB that arrive as 2 KB are refused as 2 MB would be.
  const idle = connect(port, '127.0.0.1')
  idle.on('error', () => {})
  t.teardown(() => idle.destroy())
  await once(idle, 'connect')
  idle.write('POST /gz HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n[\r\n')
  const bomb = gzipped(`"${' '.repeat(2 * 1024 * 1024)}"`)
  t.ok(bomb.length < 4096, `compressed to ${bomb.length} bytes`)
  const refused = await post(bomb)
  t.equal(refused.status, 503, 'refused by what it inflates to')
  t.match(JSON.parse(refused.text), { code: 'DEMO_BUSY' })
})
