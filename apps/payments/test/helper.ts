import type { Test } from 'tap'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { request } from 'undici'
import type { App } from '@switchboard/service-kit/service-app'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import type { SimulationSettings } from '@switchboard/service-kit/simulation'
import { createTestInfrastructure, type TestInfrastructure } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { loadPaymentsEnv } from '../src/config.ts'

export const MOCK_SALT = 'test-mock-salt-0123456789'

export interface PaymentsTestApp extends TestInfrastructure {
  app: App
  url: string
  /** JSON (or raw string) requests against the running app. */
  call: (method: 'GET' | 'POST', path: string, body?: unknown, headers?: Record<string, string>) => Promise<{ status: number, headers: Record<string, unknown>, body: any, text: string }>
}

/** The payments service listening on a free port, on a test database, instant and always successful by default. */
export async function startPaymentsApp (t: Test, opts: { env?: Record<string, string>, simulation?: Partial<SimulationSettings>, mockMode?: boolean } = {}): Promise<PaymentsTestApp> {
  const infra = await createTestInfrastructure(t, { mockMode: opts.mockMode, simulation: { payments: { ...opts.simulation } } })
  const env = loadPaymentsEnv({ PAYMENTS_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent', INSTAMOJO_MOCK_SALT: MOCK_SALT, ...opts.env })
  const app = await buildApp({ env, shared: infra, logger: false })
  infra.closeWithInfrastructure(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = selfBaseUrl(app)
  const call: PaymentsTestApp['call'] = async (method, path, body, headers = {}) => {
    const isString = typeof body === 'string'
    const res = await request(url + path, { method, headers: { ...(body !== undefined && !isString ? { 'content-type': 'application/json' } : {}), ...headers }, body: body === undefined ? undefined : isString ? body : JSON.stringify(body) })
    const text = await res.body.text()
    let parsed: unknown = text
    try { parsed = text ? JSON.parse(text) : undefined } catch { /* not JSON */ }
    return { status: res.statusCode, headers: res.headers, body: parsed, text }
  }
  return { ...infra, app, url, call }
}

export const form = { 'content-type': 'application/x-www-form-urlencoded' }
export const encode = (fields: Record<string, string>) => new URLSearchParams(fields).toString()

/** A v2 bearer token from the emulator. */
export async function v2Token (call: PaymentsTestApp['call']): Promise<Record<string, string>> {
  const res = await call('POST', '/instamojo/oauth2/token/', encode({ grant_type: 'client_credentials', client_id: 'test_client', client_secret: 'test_secret' }), form)
  return { authorization: `Bearer ${res.body.access_token}` }
}
export const v1Auth = { 'x-api-key': 'test_api_key_0123456789', 'x-auth-token': 'test_auth_token_0123456789' }

/** Polls until check() passes or the time runs out (for webhook-driven state). */
export async function eventually<T> (check: () => Promise<T | undefined | false>, timeoutMs = 8000): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > until) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

export interface Received { body: string, headers: Record<string, string | string[] | undefined> }

/** A webhook receiver on a free port; answers `statuses` in turn (then 200) and keeps every post. */
export async function startReceiver (t: Test, statuses: number[] = []): Promise<{ url: string, received: Received[] }> {
  const received: Received[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', c => { body += c })
    req.on('end', () => {
      received.push({ body, headers: req.headers })
      res.statusCode = statuses.shift() ?? 200
      res.end()
    })
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, received }
}
