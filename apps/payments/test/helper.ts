import type { Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { selfBaseUrl, type App } from '@switchboard/service-kit/service-app'
import { internalHeaders, jsonCaller, startRecorder, startServiceApp, TEST_TOKENS, type Recorded, type ServiceTestApp, type ServiceTestAppOptions, type TestInfrastructure } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { loadPaymentsEnv, type PaymentsEnv } from '../src/config.ts'

export const MOCK_SALT = 'test-mock-salt-0123456789'

export type PaymentsTestApp = ServiceTestApp

/** The payments service listening on a free port, on a test database, instant and always successful by default. */
export const startPaymentsApp = (t: Test, opts: Pick<ServiceTestAppOptions<PaymentsEnv>, 'env' | 'simulation' | 'mockMode'> = {}): Promise<PaymentsTestApp> =>
  startServiceApp(t, { service: 'payments', buildApp, loadEnv: loadPaymentsEnv, ...opts, env: { INSTAMOJO_MOCK_SALT: MOCK_SALT, ...opts.env } })

/**
 * One instance of the payments service on the given database, with a data folder of its own, as
 * instances behind a load balancer run (they share INTERNAL_TOKEN, so the same salt and account).
 * `env`: settings of its own (EMULATOR_AUTH, say).
 */
export async function startInstance (t: Test, infra: TestInfrastructure, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'payments-instance-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const app: App = await buildApp({ env: loadPaymentsEnv({ PAYMENTS_PORT: '0', SWITCHBOARD_DATA_DIR: dir, LOG_LEVEL: 'silent', INTERNAL_TOKEN: TEST_TOKENS.internalToken, ...env }), shared: infra, logger: false })
  let closed = false
  const close = async () => { if (!closed) { closed = true; await app.close() } }
  t.teardown(close)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const call: PaymentsTestApp['call'] = jsonCaller(selfBaseUrl(app), internalHeaders())
  return { app, call, close }
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
