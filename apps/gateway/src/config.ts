import { Type, type Static } from '@sinclair/typebox'
import { CommonEnvSchema, loadEnv } from '@switchboard/service-kit/env'

export const GatewayEnvSchema = Type.Composite([CommonEnvSchema, Type.Object({
  GATEWAY_PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  API_TOKEN: Type.Optional(Type.String({ minLength: 16, description: 'Bearer token for /api/automation/*; generated into the data folder when unset' })),
  EMAIL_SERVICE_URL: Type.String({ default: 'http://127.0.0.1:3001' }),
  WHATSAPP_SERVICE_URL: Type.String({ default: 'http://127.0.0.1:3002' }),
  PAYMENTS_SERVICE_URL: Type.String({ default: 'http://127.0.0.1:3003' }),
  VOICE_SERVICE_URL: Type.String({ default: 'http://127.0.0.1:3004' }),
  ZOOM_SERVICE_URL: Type.String({ default: 'http://127.0.0.1:3005' }),
  UPSTREAM_TIMEOUT_MS: Type.Integer({ default: 30_000, minimum: 100, description: 'A service slower than this gets a 504' }),
  RATE_LIMIT_MAX: Type.Integer({ default: 6000, minimum: 0, description: 'Requests per RATE_LIMIT_WINDOW_MS per API token (per IP without one) on /api/automation, /api/zoom and /api/webhooks; 0 turns the limit off' }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ default: 60_000, minimum: 1000, description: 'The rate limit window' })
})])
export type GatewayEnv = Static<typeof GatewayEnvSchema>

export const loadGatewayEnv = (env?: Record<string, string | undefined>) => loadEnv(GatewayEnvSchema, env)
