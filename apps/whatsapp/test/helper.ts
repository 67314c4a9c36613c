import type { Test } from 'tap'
import { request } from 'undici'
import type { App } from '@switchboard/service-kit/service-app'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import type { SimulationSettings } from '@switchboard/service-kit/simulation'
import { createTestInfrastructure, type TestInfrastructure } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { loadWhatsAppEnv } from '../src/config.ts'

export interface Reply { status: number, headers: Record<string, unknown>, body: any, text: string }

export interface WhatsAppTestApp extends TestInfrastructure {
  app: App
  url: string
  /** JSON POST/GET against the running app. */
  call: (method: 'GET' | 'POST', path: string, body?: unknown, headers?: Record<string, string>) => Promise<Reply>
}

export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789'

export async function httpCall (url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await request(url, { method: method as 'GET', headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, body: body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) })
  const text = await res.body.text()
  let parsed: unknown = text
  try { parsed = text ? JSON.parse(text) : undefined } catch { /* not JSON */ }
  return { status: res.statusCode, headers: res.headers, body: parsed, text }
}

/** The WhatsApp service listening on a free port, on a test database, instant and always successful by default. */
export async function startWhatsAppApp (t: Test, opts: { env?: Record<string, string>, simulation?: Partial<SimulationSettings>, mockMode?: boolean } = {}): Promise<WhatsAppTestApp> {
  const infra = await createTestInfrastructure(t, { mockMode: opts.mockMode, simulation: { whatsapp: { ...opts.simulation } } })
  const env = loadWhatsAppEnv({ WHATSAPP_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent', AISENSY_WEBHOOK_SECRET: WEBHOOK_SECRET, AISENSY_STATUS_GAP_MS: '20-80', ...opts.env })
  const app = await buildApp({ env, shared: infra, logger: false })
  infra.closeWithInfrastructure(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = selfBaseUrl(app)
  return { ...infra, app, url, call: (method, path, body, headers) => httpCall(url + path, method, body, headers) }
}

/** A well-formed AiSensy-style key (a JWT): the emulator accepts any. */
export const API_KEY = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6InRlc3QiLCJhcHBOYW1lIjoiQWlTZW5zeSJ9.c2lnbmF0dXJl'

/** A v2 body as AiSensy's dashboard generates it (empty defaults for the extras). */
export const campaignBody = (extra: Record<string, unknown> = {}) => ({
  apiKey: API_KEY,
  campaignName: 'welcome_message',
  destination: '+919876543210',
  userName: 'Asha Rao',
  source: 'test',
  templateParams: ['Asha'],
  media: {},
  buttons: [],
  carouselCards: [],
  location: {},
  attributes: {},
  paramsFallbackValue: { FirstName: 'user' },
  ...extra
})

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
