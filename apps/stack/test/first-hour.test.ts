/**
 * What stopped a newcomer in their first hour (issue 17), each on the real stack in this process:
 * port 0 for every server, a busy port named, the switch refusing what cannot work and reporting
 * what is true, admin bodies taken as typed, seeded outcomes that do not depend on arrival order,
 * and a reset that also restores the simulation settings.
 */
import t from 'tap'
import { createServer, type Server } from 'node:net'
import { SERVICE_NAMES } from '@switchboard/service-kit/services'
import { compileAllSchemas } from '@switchboard/service-kit/service-app'
import { admin, api, stackEnv, startStack, type Reply } from './helper.ts'
import { buildStack, listenStack, PortInUseError } from '../src/stack.ts'

const email = (i: number) => ({ to_email: `person${i}@example.com`, subject: `Seeded ${i}`, content: `<p>${i}</p>` })

t.test('port 0 for every server: the gateway forwards to the ports the services actually got', async t => {
  const env = await stackEnv(t)
  env.GATEWAY_PORT = '0'
  for (const name of SERVICE_NAMES) {
    env[`${name.toUpperCase()}_PORT`] = '0'
    delete env[`${name.toUpperCase()}_SERVICE_URL`] // as a user would: only the ports set
  }
  const stack = await buildStack(env, false)
  t.teardown(() => stack.close())
  const urls = await listenStack(stack)
  const ports = Object.values(urls).map(u => Number(new URL(u).port))
  t.equal(new Set(ports).size, SERVICE_NAMES.length + 1, 'six servers, six different ports')
  t.notOk(ports.includes(0), 'no server reports port 0')
  for (const s of stack.servers) t.equal(s.port, Number(new URL(urls[s.name]!).port), `${s.name}: the chosen port is recorded`)
  const res = await fetch(`${urls.gateway}/api/automation/trigger/email`, { method: 'POST', headers: { ...api, 'content-type': 'application/json' }, body: JSON.stringify(email(1)) })
  t.equal(res.status, 202, 'a send through the gateway reaches the email service on its chosen port')
  const ready = await (await fetch(`${urls.gateway}/ready`)).json() as { checks: Record<string, { ok: boolean }> }
  for (const name of SERVICE_NAMES) t.equal(ready.checks[name]?.ok, true, `the gateway reaches ${name}`)
  // Route schemas compile at their first request (start-up time): a broken one must not wait for its first caller.
  t.equal(stack.servers.length, SERVICE_NAMES.length + 1)
  for (const s of stack.servers) t.ok(compileAllSchemas(s.app) > 10, `${s.name}: every route's schemas compile`)
})

t.test('a busy port: listening fails naming the port and its variable, and what to do', async t => {
  const busy: Server = createServer()
  await new Promise<void>(resolve => busy.listen(0, '127.0.0.1', resolve))
  t.teardown(() => busy.close())
  const port = (busy.address() as { port: number }).port
  const env = await stackEnv(t, { WHATSAPP_PORT: String(port) })
  const stack = await buildStack(env, false)
  t.teardown(() => stack.close())
  const err = await listenStack(stack).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof PortInUseError, 'a PortInUseError, not a bare EADDRINUSE')
  t.match((err as Error).message, new RegExp(`^Port ${port} \\(WHATSAPP_PORT\\) on 127\\.0\\.0\\.1 is already in use`))
  t.match((err as Error).message, /WHATSAPP_PORT=0 picks any free port/)
})

t.test('the switch: payments refuses live mode without Instamojo credentials, mock_mode reports "mixed", admin bodies are not coerced', async t => {
  const { call } = await startStack(t, { SENDGRID_API_KEY: 'SG.live.abcdefghijklmnop' })
  const payments = await call('POST', '/api/admin/settings/mock-mode', { mock_mode: false, service: 'payments' }, admin)
  t.equal(payments.status, 422, 'refused like the other services')
  t.equal(payments.body.code, 'ADMIN_CREDENTIALS_MISSING')
  t.match(payments.body.message, /payments needs INSTAMOJO_CLIENT_ID and INSTAMOJO_CLIENT_SECRET \(v2 API\), or INSTAMOJO_API_KEY and INSTAMOJO_AUTH_TOKEN \(v1\.1 API\)/, 'either API\'s pair is named')
  const view = await call('GET', '/api/admin/settings/mock-mode', undefined, admin)
  t.same([view.body.services.payments.missing, view.body.services.payments.needs],
    [['INSTAMOJO_CLIENT_ID', 'INSTAMOJO_CLIENT_SECRET'], 'INSTAMOJO_CLIENT_ID and INSTAMOJO_CLIENT_SECRET (v2 API), or INSTAMOJO_API_KEY and INSTAMOJO_AUTH_TOKEN (v1.1 API)'],
    'the admin settings (and the page) say either pair will do')
  t.equal(view.body.services.email.needs, '', 'nothing missing: nothing needed')
  const all = await call('POST', '/api/admin/settings/mock-mode', { mock_mode: false }, admin)
  t.equal(all.status, 422, 'switching every service is refused as a whole')
  t.match(all.body.message, /payments needs INSTAMOJO_CLIENT_ID/)

  for (const [body, what] of [['{"mock_mode": null}', 'null'], ['{"mock_mode": "true"}', 'the string "true"'], ['{"mock_mode": "false"}', 'the string "false"'], ['{"mock_mode": 0}', 'the number 0']] as const) {
    const res = await call('POST', '/api/admin/settings/mock-mode', body, admin)
    t.equal(res.status, 400, `${what} is refused`)
    t.match(res.body, { code: 'GATEWAY_INVALID_REQUEST', message: /mock_mode/ }, `${what}: the field is named`)
  }
  const patch = await call('PATCH', '/api/admin/settings/services/email', '{"simulation": {"success_rate": "0.5"}}', admin)
  t.equal(patch.status, 400, 'a number sent as a string is refused on admin routes too')
  t.match(patch.body.message, /success_rate/)

  const settings = await call('GET', '/api/admin/settings/mock-mode', undefined, admin)
  t.equal(settings.body.mock_mode, true, 'all mock: true')
  t.equal(settings.body.services.payments.mode, 'mock', 'nothing switched by the refused or malformed requests')
  const one = await call('POST', '/api/admin/settings/mock-mode', { mock_mode: false, service: 'email' }, admin)
  t.equal(one.status, 200)
  t.equal(one.body.mock_mode, 'mixed', 'one live, three mock: "mixed", not false')
  t.equal(one.body.services.email.mode, 'live')
})

t.test('a reset can restore the simulation settings to their defaults; a plain reset keeps them', async t => {
  const { call } = await startStack(t)
  const tuned = { simulation: { success_rate: 0.25, seed: 7, scenario: 'slow', latency_ms: { min: 5, max: 9 } } }
  t.equal((await call('PATCH', '/api/admin/settings/services/email', tuned, admin)).status, 200)
  t.equal((await call('PATCH', '/api/admin/settings/services/whatsapp', { simulation: { scenario: 'outage' }, fallback: true }, admin)).status, 200)

  const kept = await call('POST', '/api/admin/reset', undefined, admin)
  t.equal(kept.status, 200)
  t.equal(kept.body.settings, 'kept')
  t.match((await call('GET', '/api/admin/settings/mock-mode', undefined, admin)).body.services.email.simulation, { success_rate: 0.25, seed: 7, scenario: 'slow' }, 'a plain reset keeps them')

  t.equal((await call('POST', '/api/admin/reset?settings=bogus', undefined, admin)).status, 400, 'an unknown value is refused')
  const restored = await call('POST', '/api/admin/reset?settings=defaults', undefined, admin)
  t.equal(restored.status, 200)
  t.equal(restored.body.settings, 'defaults')
  t.match(restored.body.services, { email: /settings restored/, whatsapp: /settings restored/ })
  const after = (await call('GET', '/api/admin/settings/mock-mode', undefined, admin)).body.services
  // The defaults this stack started with: the spec's, with the environment's overrides (the test
  // environment makes every service instant and always successful).
  t.same(after.email.simulation, { latency_ms: { min: 0, max: 0 }, success_rate: 1, seed: null, scenario: 'none' })
  t.same(after.whatsapp.simulation, { latency_ms: { min: 0, max: 0 }, success_rate: 1, seed: null, scenario: 'none' })
  t.equal(after.whatsapp.fallback, false, 'fallback back to off')
  t.equal(after.email.mode, 'mock', 'modes stay')
  const changes = (await call('GET', '/api/admin/settings/changes?limit=10', undefined, admin)).body.items as Array<{ changed_by: string }>
  t.ok(changes.some(c => c.changed_by === 'admin reset'), 'the restore is in the change history')
})

/** What a request's answer says about its outcome. */
const outcomeOf = (r: Reply) => `${r.status} ${r.body?.status ?? r.body?.code ?? ''}`

function shuffled<T> (items: T[], seed: number): T[] {
  const out = [...items]
  let a = seed
  for (let i = out.length - 1; i > 0; i--) {
    a = (a * 1103515245 + 12345) % 2147483648
    const j = a % (i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

t.test('a seed gives each request the same outcome whatever the concurrency and the order of arrival', async t => {
  const { call } = await startStack(t, { SIM_SEED: '42', EMAIL_SUCCESS_RATE: '0.5', EMAIL_LATENCY_MS: '0-30' })
  // Forty different mails and three sent twice: an identical mail's outcomes follow its occurrence.
  const script = [...Array.from({ length: 40 }, (_, i) => i), 3, 17, 29]

  /** The script, every request at once in the given order; each mail's outcomes, in occurrence order when sent twice. */
  async function run (order: number[]): Promise<Record<number, string[]>> {
    const answers = await Promise.all(order.map(async i => ({ i, outcome: outcomeOf(await call('POST', '/api/automation/trigger/email', email(i), api)) })))
    const byMail: Record<number, string[]> = {}
    for (const { i, outcome } of answers) (byMail[i] ??= []).push(outcome)
    for (const outcomes of Object.values(byMail)) outcomes.sort()
    return byMail
  }

  const first = await run(script)
  const reset = await call('POST', '/api/admin/reset', undefined, admin)
  t.equal(reset.status, 200, 'a reset starts the seeded run again')
  const second = await run(shuffled(script, 7).reverse())
  t.same(second, first, 'the same outcome for each mail, sent at once in another order')
  const outcomes = new Set(Object.values(first).flat())
  t.ok(outcomes.size > 1, `both outcomes happen at a 50 % success rate (${[...outcomes].join(', ')})`)
})
