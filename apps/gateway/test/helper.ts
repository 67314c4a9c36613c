import type { Test } from 'tap'
import { buildApp as buildEmail } from '@switchboard/email/app'
import { loadEmailEnv } from '@switchboard/email/config'
import { selfBaseUrl, type App } from '@switchboard/service-kit/service-app'
import { createTestInfrastructure, jsonCaller, type JsonCall, type TestInfrastructure } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { loadGatewayEnv } from '../src/config.ts'

export const API_TOKEN = 'test-api-token-0123456789'
export const ADMIN_TOKEN = 'test-admin-token-0123456789'
export const api = { authorization: `Bearer ${API_TOKEN}` }

export interface GatewayTestStack extends TestInfrastructure {
  gateway: App
  email: App
  gatewayUrl: string
  emailUrl: string
  /** JSON requests against the gateway; the reply carries `ms`, for the timing tests. */
  call: JsonCall
}

/** The gateway in front of a real email service, both on free ports, sharing a test database. */
export async function startStack (t: Test, opts: { gatewayEnv?: Record<string, string>, emailEnv?: Record<string, string>, emailUrl?: string } = {}): Promise<GatewayTestStack> {
  const infra = await createTestInfrastructure(t)
  const email = await buildEmail({ env: loadEmailEnv({ EMAIL_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent', ...opts.emailEnv }), shared: infra, logger: false })
  infra.closeWithInfrastructure(email)
  await email.listen({ port: 0, host: '127.0.0.1' })
  const emailUrl = opts.emailUrl ?? selfBaseUrl(email)
  const env = loadGatewayEnv({ GATEWAY_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, API_TOKEN, ADMIN_TOKEN, EMAIL_SERVICE_URL: emailUrl, ...opts.gatewayEnv })
  const gateway = await buildApp({ env, tokens: { apiToken: API_TOKEN, adminToken: ADMIN_TOKEN }, logger: false, services: ['email'], shared: infra })
  infra.closeWithInfrastructure(gateway)
  await gateway.listen({ port: 0, host: '127.0.0.1' })
  const gatewayUrl = selfBaseUrl(gateway)
  return { ...infra, gateway, email, gatewayUrl, emailUrl, call: jsonCaller(gatewayUrl) }
}
