/**
 * Closing a service while requests are in flight: in mock mode each of them still has to call the
 * provider emulator mounted on this same server, over HTTP. Those calls must be served until the
 * requests they belong to are done; anything new is refused in our envelope.
 */
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { CommonEnvSchema, loadEnv } from '../src/server/env.ts'
import { createServiceApp } from '../src/server/service-app.ts'
import { createTestInfrastructure, internalHeaders } from '../src/testing/testing.ts'

t.test('close() with sends in flight: each finishes, its emulator call included; new ones get a 503 envelope', async t => {
  const infra = await createTestInfrastructure(t)
  const app = await createServiceApp({ service: 'email', env: loadEnv(CommonEnvSchema, { LOG_LEVEL: 'silent' }), shared: infra, logger: false })
  // A stand-in for the provider emulator (mounted under the service's prefix) and a service route
  // that calls it over HTTP the way the real clients do, after some work of its own.
  const toSelf = new Agent({ keepAliveTimeout: 10_000 })
  t.teardown(() => toSelf.close())
  app.post('/sendgrid/v3/mail/send', async (_request, reply) => { await sleep(150); return reply.code(202).send({}) })
  let arrived = 0
  app.post('/emails', async (_request, reply) => {
    arrived++
    await sleep(200)
    const res = await request(`${app.selfBaseUrl()}/sendgrid/v3/mail/send`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' }, dispatcher: toSelf })
    await res.body.dump()
    return reply.code(res.statusCode === 202 ? 202 : 502).send({ emulator: res.statusCode })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = app.selfBaseUrl()
  // Warm the keep-alive pool to the emulator, as a running service has.
  await request(`${base}/emails`, { method: 'POST', headers: internalHeaders(), dispatcher: toSelf }).then(r => r.body.dump())

  const client = new Agent()
  t.teardown(() => client.close())
  const send = () => request(`${base}/emails`, { method: 'POST', headers: internalHeaders(), dispatcher: client }).then(async r => ({ status: r.statusCode, body: await r.body.json() as Record<string, unknown> }), (err: Error) => ({ status: 0, body: { error: err.message } as Record<string, unknown> }))
  arrived = 0
  const inFlight = Array.from({ length: 10 }, send)
  while (arrived < 10) await sleep(5) // all ten are in the handler, none has called the emulator yet
  const closing = app.close()
  await sleep(20)
  const late = await send()
  const answers = await Promise.all(inFlight)
  await closing

  t.same(answers.map(a => a.status), Array(10).fill(202), 'every send in flight finished, its emulator call answered')
  t.ok(late.status === 0 || (late.status === 503 && late.body.code === 'EMAIL_SHUTTING_DOWN'), `a send after close() began is refused (${late.status} ${JSON.stringify(late.body)})`)
})
