import type { Test } from 'tap'
import type { App } from '@switchboard/service-kit/service-app'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import type { SimulationSettings } from '@switchboard/service-kit/simulation'
import { createTestInfrastructure, internalHeaders, eventually as eventuallyWithin, jsonCaller, type JsonCall, type TestInfrastructure } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { loadEmailEnv } from '../src/config.ts'

export interface EmailTestApp extends TestInfrastructure {
  app: App
  url: string
  /** JSON POST/GET against the running app. */
  call: JsonCall
}

/** The email service listening on a free port, on a test database, instant and always successful by default. */
export async function startEmailApp (t: Test, opts: { env?: Record<string, string>, simulation?: Partial<SimulationSettings>, mockMode?: boolean } = {}): Promise<EmailTestApp> {
  const infra = await createTestInfrastructure(t, { mockMode: opts.mockMode, simulation: { email: { ...opts.simulation } } })
  const env = loadEmailEnv({ EMAIL_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent', ...opts.env })
  const app = await buildApp({ env, shared: infra, logger: false })
  infra.closeWithInfrastructure(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = selfBaseUrl(app)
  return { ...infra, app, url, call: jsonCaller(url, internalHeaders()) }
}

export const MOCK_KEY = 'SG.test-key.abcdefghijklmnop'
export const auth = { authorization: `Bearer ${MOCK_KEY}` }

export const mail = (to: string | string[], extra: Record<string, unknown> = {}) => ({
  personalizations: (Array.isArray(to) ? to : [to]).map(email => ({ to: [{ email }] })),
  from: { email: 'sender@example.com' },
  subject: 'Hello',
  content: [{ type: 'text/plain', value: 'Hi there' }],
  ...extra
})

/** Polls until check() passes or the time runs out (for webhook-driven state): 5 s unless told. */
export const eventually = <T>(check: () => Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> => eventuallyWithin(check, timeoutMs)
