import type { Test } from 'tap'
import { requestJson, startServiceApp, type JsonReply, type ServiceTestApp, type ServiceTestAppOptions } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { loadWhatsAppEnv, type WhatsAppEnv } from '../src/config.ts'

export type Reply = JsonReply

export type WhatsAppTestApp = ServiceTestApp

/** The token in the AiSensy webhook URL: /webhooks/aisensy/<token>. */
export const WEBHOOK_TOKEN = 'test-webhook-token-0123456789abcdef'
export const WEBHOOK_PATH = `/webhooks/aisensy/${WEBHOOK_TOKEN}`

/** An AiSensy status notification (aisensy-webhooks.ts) for one message. */
export const statusNotification = (messageId: string, status: string, extra: Record<string, unknown> = {}, id = `n-${messageId}-${status}`) =>
  ({ id, created_at: new Date().toISOString(), topic: 'message.status.updated', project_id: 'p1', delivery_attempt: '1', data: { message: { id: messageId, phone_number: '919876543210', status, ...extra } } })

/** One JSON (or raw string/Buffer) request to any URL: the shared requestJson. */
export const httpCall = requestJson

/** The WhatsApp service listening on a free port, on a test database, instant and always successful by default. */
export const startWhatsAppApp = (t: Test, opts: Pick<ServiceTestAppOptions<WhatsAppEnv>, 'env' | 'simulation' | 'mockMode' | 'logger' | 'activityLog'> = {}): Promise<WhatsAppTestApp> =>
  startServiceApp(t, { service: 'whatsapp', buildApp, loadEnv: loadWhatsAppEnv, ...opts, env: { AISENSY_WEBHOOK_TOKEN: WEBHOOK_TOKEN, AISENSY_STATUS_GAP_MS: '20-80', ...opts.env } })

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
