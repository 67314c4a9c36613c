import type { Test } from 'tap'
import { request } from 'undici'
import { buildApp as buildEmail } from '@switchboard/email/app'
import { loadEmailEnv } from '@switchboard/email/config'
import { selfBaseUrl, type App } from '@switchboard/service-kit/service-app'
import { createTestInfrastructure, type TestInfrastructure } from '@switchboard/service-kit/testing'
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
  call: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<{ status: number, headers: Record<string, unknown>, body: any, ms: number }>
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
  const call: GatewayTestStack['call'] = async (method, path, body, headers = {}) => {
    const t0 = Date.now()
    const res = await request(gatewayUrl + path, { method: method as 'GET', headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) })
    const text = await res.body.text()
    let parsed: unknown = text
    try { parsed = text ? JSON.parse(text) : undefined } catch { /* not JSON */ }
    return { status: res.statusCode, headers: res.headers, body: parsed, ms: Date.now() - t0 }
  }
  return { ...infra, gateway, email, gatewayUrl, emailUrl, call }
}
