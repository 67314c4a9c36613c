import type { Test } from 'tap'
import type { App } from '@switchboard/service-kit/service-app'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import type { SimulationSettings } from '@switchboard/service-kit/simulation'
import { createTestInfrastructure, internalHeaders, jsonCaller, startRecorder, type JsonCall, type Recorded, type TestInfrastructure } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { loadPaymentsEnv } from '../src/config.ts'

export const MOCK_SALT = 'test-mock-salt-0123456789'

export interface PaymentsTestApp extends TestInfrastructure {
  app: App
  url: string
  /** JSON (or raw string) requests against the running app. */
  call: JsonCall
}

/** The payments service listening on a free port, on a test database, instant and always successful by default. */
export async function startPaymentsApp (t: Test, opts: { env?: Record<string, string>, simulation?: Partial<SimulationSettings>, mockMode?: boolean } = {}): Promise<PaymentsTestApp> {
  const infra = await createTestInfrastructure(t, { mockMode: opts.mockMode, simulation: { payments: { ...opts.simulation } } })
  const env = loadPaymentsEnv({ PAYMENTS_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent', INSTAMOJO_MOCK_SALT: MOCK_SALT, ...opts.env })
  const app = await buildApp({ env, shared: infra, logger: false })
  infra.closeWithInfrastructure(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = selfBaseUrl(app)
  return { ...infra, app, url, call: jsonCaller(url, internalHeaders()) }
}

export const form = { 'content-type': 'application/x-www-form-urlencoded' }
export const encode = (fields: Record<string, string>) => new URLSearchParams(fields).toString()

/** A v2 bearer token from the emulator. */
export async function v2Token (call: PaymentsTestApp['call']): Promise<Record<string, string>> {
  const res = await call('POST', '/instamojo/oauth2/token/', encode({ grant_type: 'client_credentials', client_id: 'test_client', client_secret: 'test_secret' }), form)
  return { authorization: `Bearer ${res.body.access_token}` }
}
export const v1Auth = { 'x-api-key': 'test_api_key_0123456789', 'x-auth-token': 'test_auth_token_0123456789' }

/** Polls until check() passes or the time runs out (for webhook-driven state): the shared one, 8 s unless told. */
export { eventually } from '@switchboard/service-kit/testing'

/** A webhook receiver on a free port; answers `statuses` in turn (then 200) and keeps every post. */
export async function startReceiver (t: Test, statuses: number[] = []): Promise<{ url: string, received: Recorded[] }> {
  const { origin, received } = await startRecorder(t, (_request, res) => {
    res.statusCode = statuses.shift() ?? 200
    res.end()
  })
  return { url: `${origin}/hook`, received }
}
