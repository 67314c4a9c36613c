import type { Test } from 'tap'
import type { App } from '@switchboard/service-kit/service-app'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import type { SimulationSettings } from '@switchboard/service-kit/simulation'
import { createTestInfrastructure, internalHeaders, jsonCaller, requestJson, type JsonCall, type JsonReply, type TestInfrastructure } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { loadWhatsAppEnv } from '../src/config.ts'

export type Reply = JsonReply

export interface WhatsAppTestApp extends TestInfrastructure {
  app: App
  url: string
  /** JSON POST/GET against the running app. */
  call: JsonCall
}

/** The token in the AiSensy webhook URL: /webhooks/aisensy/<token>. */
export const WEBHOOK_TOKEN = 'test-webhook-token-0123456789abcdef'
export const WEBHOOK_PATH = `/webhooks/aisensy/${WEBHOOK_TOKEN}`

/** An AiSensy status notification (aisensy-webhooks.ts) for one message. */
export const statusNotification = (messageId: string, status: string, extra: Record<string, unknown> = {}, id = `n-${messageId}-${status}`) =>
  ({ id, created_at: new Date().toISOString(), topic: 'message.status.updated', project_id: 'p1', delivery_attempt: '1', data: { message: { id: messageId, phone_number: '919876543210', status, ...extra } } })

/** One JSON (or raw string/Buffer) request to any URL: the shared requestJson. */
export const httpCall = requestJson

/** The WhatsApp service listening on a free port, on a test database, instant and always successful by default. */
export async function startWhatsAppApp (t: Test, opts: { env?: Record<string, string>, simulation?: Partial<SimulationSettings>, mockMode?: boolean, logger?: object } = {}): Promise<WhatsAppTestApp> {
  const infra = await createTestInfrastructure(t, { mockMode: opts.mockMode, simulation: { whatsapp: { ...opts.simulation } } })
  const env = loadWhatsAppEnv({ WHATSAPP_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent', AISENSY_WEBHOOK_TOKEN: WEBHOOK_TOKEN, AISENSY_STATUS_GAP_MS: '20-80', ...opts.env })
  const app = await buildApp({ env, shared: infra, logger: opts.logger ?? false })
  infra.closeWithInfrastructure(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = selfBaseUrl(app)
  return { ...infra, app, url, call: jsonCaller(url, internalHeaders()) }
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

/** Polls until check() passes or the time runs out (for webhook-driven state): the shared one, 8 s unless told. */
export { eventually } from '@switchboard/service-kit/testing'
