import t, { type Test } from 'tap'
import { loadEnv, CommonEnvSchema } from '../src/server/env.ts'
import { createBaseApp } from '../src/server/service-app.ts'
import { rawBodyOf, readRawBody, webhookUnauthorized } from '../src/server/webhook-receiver.ts'

async function app (t: Test, contentTypes: Parameters<typeof readRawBody>[1], bodyLimit?: number) {
  const a = createBaseApp('DEMO', false, loadEnv(CommonEnvSchema, {}))
  await a.register(async scope => {
    readRawBody(scope, contentTypes, bodyLimit === undefined ? {} : { bodyLimit })
    scope.post('/hook', async request => {
      const raw = rawBodyOf(request)
      return { raw: raw ? raw.toString('latin1') : null, type: typeof request.body }
    })
  })
  a.post('/parsed', async request => ({ body: request.body }))
  t.teardown(() => a.close())
  return a
}

t.test('one media type: its bodies arrive as the exact bytes; other types keep their parsers; the rest of the app still parses JSON', async t => {
  const a = await app(t, 'application/json')
  const payload = '{ "b": 1,\r\n"a": [ ] }'
  const json = await a.inject({ method: 'POST', url: '/hook', headers: { 'content-type': 'application/json; charset=utf-8' }, payload })
  t.same(json.json(), { raw: payload, type: 'object' })
  const text = await a.inject({ method: 'POST', url: '/hook', headers: { 'content-type': 'text/plain' }, payload: 'hello' })
  t.match(text.json(), { statusCode: 415, code: 'DEMO_UNSUPPORTED_MEDIA_TYPE' }, 'text/plain is a 415, as on every JSON route (service-app.ts)')
  const other = await a.inject({ method: 'POST', url: '/hook', headers: { 'content-type': 'application/xml' }, payload: '<a/>' })
  t.equal(other.statusCode, 415, 'a type no parser takes is still refused')
  const parsed = await a.inject({ method: 'POST', url: '/parsed', payload: { a: 1 } })
  t.same(parsed.json(), { body: { a: 1 } }, 'outside the receiver\'s plugin JSON is parsed as before')
})

t.test('"*": every type is read raw, up to the body limit', async t => {
  const a = await app(t, '*', 16)
  const form = await a.inject({ method: 'POST', url: '/hook', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=1&b=%20' })
  t.same(form.json(), { raw: 'a=1&b=%20', type: 'object' })
  const xml = await a.inject({ method: 'POST', url: '/hook', headers: { 'content-type': 'application/xml' }, payload: '<a/>' })
  t.same(xml.json(), { raw: '<a/>', type: 'object' }, 'no 415: the route checks the type itself')
  const big = await a.inject({ method: 'POST', url: '/hook', headers: { 'content-type': 'application/json' }, payload: 'x'.repeat(17) })
  t.equal(big.statusCode, 413)
  const none = await a.inject({ method: 'POST', url: '/hook' })
  t.same(none.json(), { raw: null, type: 'undefined' }, 'no body: rawBodyOf gives undefined')
})

t.test('the one refusal of a webhook: 401 <PREFIX>_WEBHOOK_UNAUTHORIZED, "Unauthorized"', async t => {
  const e = webhookUnauthorized('ZOOM')
  t.same([e.statusCode, e.code, e.message], [401, 'ZOOM_WEBHOOK_UNAUTHORIZED', 'Unauthorized'])
})
