import { Type, type Static } from '@sinclair/typebox'
import { CommonEnvSchema, loadEnv, parseRange } from '@switchboard/service-kit/env'
import type { SimulationSettings } from '@switchboard/service-kit/simulation'

export const WhatsAppEnvSchema = Type.Composite([CommonEnvSchema, Type.Object({
  WHATSAPP_PORT: Type.Integer({ default: 3002, minimum: 0, maximum: 65535 }),
  AISENSY_API_KEY: Type.Optional(Type.String({ description: 'Live mode only: the project API key (AiSensy dashboard → Manage → API Key)' })),
  AISENSY_BASE_URL: Type.String({ default: 'https://backend.aisensy.com', description: 'Live AiSensy host' }),
  AISENSY_API_VERSION: Type.Union([Type.Literal('v2'), Type.Literal('v1')], { default: 'v2', description: 'v2: /campaign/t1/api/v2 (buttons, fallback values); v1: /campaign/t1/api' }),
  AISENSY_SOURCE: Type.String({ default: 'switchboard', description: 'The lead source tag sent with every message' }),
  AISENSY_WEBHOOK_TOKEN: Type.Optional(Type.String({ minLength: 24, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$', description: 'The secret in the webhook URL set in AiSensy\'s dashboard (…/api/webhooks/whatsapp/aisensy/<token>); generated into the data folder when unset' })),
  AISENSY_WEBHOOK_ALLOWED_IPS: Type.String({ default: '', description: 'Addresses or CIDR ranges, comma-separated, AiSensy webhooks must come from; empty: any (the URL token still applies)' }),
  WHATSAPP_TRUSTED_PROXIES: Type.String({ default: '127.0.0.1,::1', description: 'Addresses or CIDR ranges whose X-Forwarded-For is believed (the gateway); empty: nobody\'s' }),
  AISENSY_WEBHOOK_URL: Type.Optional(Type.String({ description: 'Where the emulator posts status changes and inbound messages; default: this service\'s own receiver with its token; "off" posts none (no project webhook set)' })),
  WHATSAPP_DEFAULT_CONTACT_NAME: Type.String({ default: 'Customer', minLength: 1, maxLength: 256, description: 'The userName sent to AiSensy for a contact without a name (AiSensy requires one and creates the contact with it); also $FirstName\'s fallback' }),
  AISENSY_STATUS_GAP_MS: Type.String({ default: '100-600', description: 'Emulator: time between a message\'s status changes (sent, delivered, read), e.g. 100-600' }),
  WHATSAPP_TEMPLATES_FILE: Type.Optional(Type.String({ description: 'JSON list of templates (the catalogue); default: the emulator\'s seeded campaigns' })),
  WHATSAPP_LATENCY_MS: Type.Optional(Type.String({ description: 'Simulated latency range, e.g. 400-1200' })),
  WHATSAPP_SUCCESS_RATE: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  WHATSAPP_BULK_CONCURRENCY: Type.Integer({ default: 64, minimum: 1, maximum: 512, description: 'AiSensy requests in flight during a bulk send (one message per request)' }),
  // AiSensy publishes no rate limit (providers.md §2). What it sends on to is WhatsApp's Cloud API,
  // whose default throughput is 80 messages a second per business number (Meta's docs; upgraded
  // numbers get 1,000): 64 in flight at the emulator's mean latency of 0.8 s is that rate, so a
  // 5,000-contact campaign takes about 5,000 / 64 × 0.8 s ≈ 63 s. Sending faster would only queue
  // at AiSensy for a default-tier number (unverified: AiSensy's own limit is not known).
  WHATSAPP_CAMPAIGN_CONCURRENCY: Type.Integer({ default: 64, minimum: 1, maximum: 512, description: 'AiSensy requests in flight per running campaign (64 ≈ WhatsApp\'s default 80 messages/s at 0.8 s per request)' }),
  PROVIDER_TIMEOUT_MS: Type.Integer({ default: 15_000, minimum: 100 })
})])
export type WhatsAppEnv = Static<typeof WhatsAppEnvSchema>

export const loadWhatsAppEnv = (env?: Record<string, string | undefined>) => loadEnv(WhatsAppEnvSchema, env)

/** Simulation settings this environment asks for (only what it sets). */
export function whatsappSimulationOverrides (env: WhatsAppEnv): Partial<SimulationSettings> {
  const out: Partial<SimulationSettings> = {}
  if (env.WHATSAPP_LATENCY_MS) out.latencyMs = parseRange(env.WHATSAPP_LATENCY_MS, 'WHATSAPP_LATENCY_MS')
  if (env.WHATSAPP_SUCCESS_RATE !== undefined) out.successRate = env.WHATSAPP_SUCCESS_RATE
  if (env.SIM_SEED !== undefined) out.seed = env.SIM_SEED
  return out
}
