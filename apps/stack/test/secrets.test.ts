/**
 * No secret in any log line, response or database row. The whole stack runs with every credential and secret
 * configured, logging at debug level to a stream this test reads, and every service pointed (in
 * live mode) at its own emulator, so the real credentials travel the real code paths offline.
 * Every route is exercised in mock and in live mode, with successes and errors, plus the admin
 * settings API; then every captured log line and every response (status, headers, body) is
 * searched for each secret's full value. Masked forms (SG.****cdef) are fine.
 */
import t from 'tap'
import { Writable } from 'node:stream'
import { TABLES, type Table } from '@switchboard/activity-log'
import { buildStack, listenStack } from '../src/stack.ts'
import { ADMIN_TOKEN, API_TOKEN, admin, api, eventually, send, seeded, stackEnv, type Reply } from './helper.ts'
import { operations, validRequest, fuzzCase } from './openapi-fuzz.ts'

const SECRETS: Record<string, string> = {
  API_TOKEN,
  ADMIN_TOKEN,
  SENDGRID_API_KEY: 'SG.secretkeyid0123456789.sendgrid-secret-value-0123456789abcdef',
  // AiSensy keys are JWTs; the emulator checks the shape.
  AISENSY_API_KEY: `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"project":"secret-project"}').toString('base64url')}.aisensy-secret-signature-0123456789`,
  AISENSY_WEBHOOK_TOKEN: 'aisensy-webhook-token-0123456789abcdef',
  INSTAMOJO_CLIENT_SECRET: 'instamojo-client-secret-0123456789abcdef',
  INSTAMOJO_API_KEY: 'instamojo-api-key-0123456789abcdef',
  INSTAMOJO_AUTH_TOKEN: 'instamojo-auth-token-0123456789abcdef',
  INSTAMOJO_SALT: 'instamojo-live-salt-0123456789abcdef',
  INSTAMOJO_MOCK_SALT: 'instamojo-mock-salt-0123456789abcdef',
  BOLNA_API_KEY: 'bn-bolnasecretkey0123456789abcdef',
  ZOOM_CLIENT_SECRET: 'zoom-client-secret-0123456789abcdef',
  ZOOM_WEBHOOK_SECRET_TOKEN: 'zoom-webhook-secret-0123456789abcdef'
}
const DATABASE_PASSWORD = 'database-password-0123456789abcdef'

t.test('no secret in any log line, response or row, in mock mode, in live mode, on errors and in the admin API', async t => {
  const lines: string[] = []
  let partial = ''
  const stream = new Writable({
    write (chunk, _encoding, done) {
      const text = partial + chunk.toString()
      const parts = text.split('\n')
      partial = parts.pop() ?? ''
      lines.push(...parts.filter(Boolean))
      done()
    }
  })

  const base = await stackEnv(t)
  const url = (name: string, path: string) => `http://127.0.0.1:${base[`${name.toUpperCase()}_PORT`]}${path}`
  const secrets = { ...SECRETS }
  const env: Record<string, string> = {
    ...base,
    ...SECRETS,
    INSTAMOJO_CLIENT_ID: 'instamojo-client-id',
    ZOOM_ACCOUNT_ID: 'zoom-account-id',
    ZOOM_CLIENT_ID: 'zoom-client-id',
    // Live mode talks to each service's own emulator: the real credentials, no network.
    SENDGRID_BASE_URL: url('email', '/sendgrid'),
    AISENSY_BASE_URL: url('whatsapp', '/aisensy'),
    INSTAMOJO_BASE_URL: url('payments', '/instamojo'),
    BOLNA_BASE_URL: url('voice', '/bolna'),
    ZOOM_API_BASE_URL: url('zoom', '/zoom/v2'),
    ZOOM_OAUTH_BASE_URL: url('zoom', '/zoom'),
    LOG_LEVEL: 'debug',
    EMAIL_LATENCY_MS: '0-0',
    EMAIL_SUCCESS_RATE: '1'
  }
  if (env.DATABASE_URL) {
    const withPassword = new URL(env.DATABASE_URL)
    withPassword.password = DATABASE_PASSWORD // the test server trusts local connections: never asked for
    env.DATABASE_URL = withPassword.toString()
    secrets.DATABASE_PASSWORD = DATABASE_PASSWORD
  }
  const stack = await buildStack(env, { level: 'debug', stream })
  let closed = false
  t.teardown(async () => { if (!closed) await stack.close() })
  const gateway = (await listenStack(stack)).gateway!

  const responses: Array<{ what: string, res: Reply }> = []
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await send({ method, url: gateway + path, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body), timeoutMs: 20_000 })
    responses.push({ what: `${method} ${path}`, res })
    return res
  }

  const doc = (await call('GET', '/docs/json')).body
  const ops = operations(doc).filter(op => !(op.auth === 'admin' && op.method !== 'GET' && !op.path.startsWith('/api/admin/payment-links')))
  const rng = seeded(20261123)
  const auth = (op: { auth: string }) => op.auth === 'admin' ? admin : op.auth === 'api' ? api : {}

  async function exercise (mode: string): Promise<void> {
    // Successes that reach each provider (its emulator) with the configured credentials.
    const sends = [
      ['POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Secrets', content: '<p>hi</p>' }, api],
      ['POST', '/api/automation/trigger/email/batch', { email_list: [{ to_email: 'deliver@example.com', subject: 'a', content: 'b' }, { to_email: 'reject@example.com', subject: 'a', content: 'b' }] }, api],
      ['POST', '/api/automation/trigger/email', { to_email: 'fail@example.com', subject: 'Secrets', content: 'x' }, api],
      ['POST', '/api/automation/trigger/whatsapp', { to_number: '+919876543210', template_name: 'welcome_message', params: ['Asha'] }, api],
      ['POST', '/api/automation/trigger/whatsapp', { to_number: '+919000000006', template_name: 'welcome_message', params: ['Asha'] }, api],
      ['POST', '/api/admin/payment-links', { amount: '499.00', purpose: 'Secrets test', buyer_name: 'Asha', email: 'asha@example.com' }, admin],
      ['POST', '/api/admin/payment-links', { amount: '19.19', purpose: 'Secrets test, failing', buyer_name: 'Asha' }, admin],
      ['POST', '/api/automation/trigger/call', { to_number: '+919855550100', script_id: 'appointment_reminder' }, api],
      ['POST', '/api/zoom/meetings', { topic: 'Secrets test' }, api],
      ['GET', '/api/zoom/meetings', undefined, api]
    ] as const
    for (const [method, path, body, headers] of sends) {
      const res = await call(method, path, body, headers)
      t.ok(res.status < 500 || [502, 503].includes(res.status), `${mode}: ${method} ${path} → ${res.status}${res.status >= 300 ? ` ${res.text.slice(0, 160)}` : ''}`)
    }
    // Every operation once with a valid-looking request and once with a broken one.
    for (const [i, op] of ops.entries()) {
      const v = validRequest(op, rng)
      const path = op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => v.params[name] ?? '') + (Object.keys(v.query).length ? `?${new URLSearchParams(Object.entries(v.query).map(([k, x]) => [k, String(x)] as [string, string]))}` : '')
      await call(op.method, path, op.body ? v.body : op.rawBody ? '{}' : undefined, auth(op))
      const c = fuzzCase(op, rng, i, { maxBodyBytes: 64 * 1024 })
      await call(c.method, c.url, c.body === undefined ? undefined : c.body.toString(), { ...auth(op), ...c.headers })
    }
    await call('GET', '/api/automation/email/stats', undefined, { authorization: 'Bearer not-the-token-not-the-token' })
    await call('GET', '/api/admin/settings/mock-mode', undefined, api)
  }

  await exercise('mock')
  const toLive = await call('POST', '/api/admin/settings/mock-mode', { mock_mode: false }, admin)
  t.equal(toLive.status, 200, 'every service switched to live (its credentials are set)', { body: toLive.text.slice(0, 500) })
  t.equal((await call('POST', '/api/admin/settings/mock-mode', { mock_mode: false, service: 'zoom' }, admin)).status, 200, 'zoom too')
  const settings = await call('GET', '/api/admin/settings/mock-mode', undefined, admin)
  t.match(settings.body.services.email.credentials, [{ variable: 'SENDGRID_API_KEY', configured: true, display: /^SG\.\*{4}cdef$/ }], 'the admin API shows keys masked')
  await exercise('live')
  await call('PATCH', '/api/admin/settings/services/email', { simulation: { success_rate: 0.5 } }, admin)
  await call('GET', '/api/admin/settings/changes', undefined, admin)
  await call('GET', '/api/admin/journal?limit=200', undefined, admin)
  await call('GET', '/api/admin/stats?minutes=5', undefined, admin)
  await call('GET', '/ready')
  await call('POST', '/api/admin/settings/mock-mode', { mock_mode: true }, admin)

  // Let the emulators' webhooks arrive and be logged, then stop everything (shutdown logs too).
  await eventually(() => lines.length > 0 && lines.some(l => /webhook/i.test(l)), 5000)
  await new Promise(resolve => setTimeout(resolve, 1500))
  // Every row of every table the stack writes, as its JSON: a secret in a row is a leak too (a
  // database dump, a backup, a colleague with read access to the staging database).
  await stack.shared.activityLog.flush()
  const rows: string[] = []
  for (const table of TABLES) {
    for (const row of await stack.shared.activityLog.select(table as Table, { limit: 100_000 })) rows.push(`${table}: ${JSON.stringify(row)}`)
  }
  closed = true
  await stack.close()
  if (partial) lines.push(partial)

  t.ok(lines.length > 200, `${lines.length} log lines captured`)
  t.ok(lines.some(l => /"level":20/.test(l)), 'debug lines among them')
  t.ok(responses.length > 100, `${responses.length} responses captured`)
  t.ok(rows.length > 100, `${rows.length} rows read`)
  for (const [name, value] of Object.entries(secrets)) {
    const inLogs = lines.filter(l => l.includes(value))
    const inResponses = responses.filter(({ res }) => res.text.includes(value) || JSON.stringify(res.headers).includes(value))
    const show = (s: string) => { const i = s.indexOf(value); return s.slice(Math.max(0, i - 200), i).concat(`<${name}>`, s.slice(i + value.length, i + value.length + 100)) }
    t.equal(inLogs.length, 0, `${name}: in no log line`, inLogs.length ? { first: inLogs.slice(0, 3).map(show) } : {})
    t.equal(inResponses.length, 0, `${name}: in no response`, inResponses.length ? { first: inResponses.slice(0, 3).map(r => `${r.what}: ${show(r.res.text + JSON.stringify(r.res.headers))}`) } : {})
    const inRows = rows.filter(r => r.includes(value))
    t.equal(inRows.length, 0, `${name}: in no row of the database`, inRows.length ? { first: inRows.slice(0, 3).map(show) } : {})
  }
})
