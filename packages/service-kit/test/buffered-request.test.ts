/**
 * bufferedRequest against a real node:http server: what it returns (status, headers as undici
 * gives them, a body in several chunks, the request body and headers as sent) and how it fails
 * (undici's own timeout and connection errors, an answer over the size bound).
 */
import t from 'tap'
import { Agent, errors } from 'undici'
import { bufferedRequest } from '../src/outbound/buffered-request.ts'
import { freePort, startRecorder } from '../src/testing/testing.ts'

const agent = new Agent({ keepAliveTimeout: 1000 })
t.teardown(() => agent.close())

t.test('returns the status, the headers and the whole body; sends the method, path, headers and body', async t => {
  const { origin, received } = await startRecorder(t, (_request, res) => {
    res.setHeader('set-cookie', ['a=1', 'b=2'])
    res.setHeader('content-type', 'application/json')
    res.statusCode = 201
    // Three writes: the body arrives in more than one chunk.
    res.write('{"parts":[')
    res.write('"one",')
    res.end('"two"]}')
  })
  const res = await bufferedRequest(agent, { origin, path: '/emails?x=1', method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'r-1' }, body: '{"to":"a@example.com"}' })
  t.equal(res.statusCode, 201)
  t.same(res.headers['set-cookie'], ['a=1', 'b=2'])
  t.equal(res.headers['content-type'], 'application/json')
  t.same(JSON.parse(res.body.toString()), { parts: ['one', 'two'] })
  t.match(received, [{ method: 'POST', url: '/emails?x=1', headers: { 'content-type': 'application/json', 'x-request-id': 'r-1' }, body: '{"to":"a@example.com"}' }])
})

t.test('an empty answer is an empty Buffer', async t => {
  const { origin } = await startRecorder(t, (_request, res) => { res.statusCode = 204; res.end() })
  const res = await bufferedRequest(agent, { origin, path: '/', method: 'GET' })
  t.equal(res.statusCode, 204)
  t.equal(res.body.length, 0)
})

t.test('no headers within headersTimeout: rejects with undici\'s HeadersTimeoutError', async t => {
  const { origin } = await startRecorder(t, () => { /* never answers */ })
  await t.rejects(bufferedRequest(agent, { origin, path: '/', method: 'GET', headersTimeout: 100 }), errors.HeadersTimeoutError)
})

t.test('nobody listening: rejects with the connection error', async t => {
  await t.rejects(bufferedRequest(agent, { origin: `http://127.0.0.1:${await freePort()}`, path: '/', method: 'GET' }), { code: 'ECONNREFUSED' })
})

t.test('an answer over maxBytes is aborted with ResponseExceededMaxSizeError', async t => {
  const { origin } = await startRecorder(t, (_request, res) => {
    res.write('x'.repeat(600))
    setTimeout(() => res.end('x'.repeat(600)), 10)
  })
  await t.rejects(bufferedRequest(agent, { origin, path: '/', method: 'GET' }, { maxBytes: 1000 }), errors.ResponseExceededMaxSizeError)
  // The agent still works afterwards.
  const { origin: ok } = await startRecorder(t, (_request, res) => { res.end('fine') })
  t.equal((await bufferedRequest(agent, { origin: ok, path: '/', method: 'GET' })).body.toString(), 'fine')
})

t.test('keepBody: false reads the answer to its end and keeps none of it, whatever its size', async t => {
  const { origin } = await startRecorder(t, (_request, res) => {
    res.statusCode = 200
    res.write('x'.repeat(600))
    setTimeout(() => res.end('x'.repeat(600)), 10)
  })
  const res = await bufferedRequest(agent, { origin, path: '/', method: 'GET' }, { maxBytes: 1000, keepBody: false })
  t.equal(res.statusCode, 200)
  t.equal(res.body.length, 0)
})
