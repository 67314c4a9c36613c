import { Type, type Static } from '@sinclair/typebox'
import { CommonEnvSchema, loadEnv, parseRange } from '@switchboard/service-kit/env'
import { SERVICES } from '@switchboard/service-kit/services'
import type { SimulationSettings } from '@switchboard/service-kit/simulation'

export const PaymentsEnvSchema = Type.Composite([CommonEnvSchema, Type.Object({
  PAYMENTS_PORT: Type.Integer({ default: 3003, minimum: 0, maximum: 65535 }),
  INSTAMOJO_CLIENT_ID: Type.Optional(Type.String({ description: 'Live mode, v2 API (OAuth2 client credentials)' })),
  INSTAMOJO_CLIENT_SECRET: Type.Optional(Type.String({ description: 'Live mode, v2 API' })),
  INSTAMOJO_API_KEY: Type.Optional(Type.String({ description: 'Live mode, legacy v1.1 API (used when no client id/secret is set)' })),
  INSTAMOJO_AUTH_TOKEN: Type.Optional(Type.String({ description: 'Live mode, legacy v1.1 API' })),
  INSTAMOJO_SALT: Type.Optional(Type.String({ description: 'Live mode: the private salt that signs webhooks (developers page)' })),
  INSTAMOJO_ENV: Type.Union([Type.Literal('test'), Type.Literal('production')], { default: 'test', description: 'Which Instamojo: test.instamojo.com (sandbox) or the production hosts' }),
  INSTAMOJO_BASE_URL: Type.Optional(Type.String({ description: 'Overrides the live host chosen by INSTAMOJO_ENV (a proxy, or another emulator)' })),
  INSTAMOJO_MOCK_SALT: Type.Optional(Type.String({ minLength: 8, description: 'Salt the emulator signs webhooks with; generated into the data folder when unset' })),
  PAYMENTS_WEBHOOK_URL: Type.Optional(Type.String({ description: 'Public URL Instamojo posts webhooks to in live mode, e.g. https://example.com/api/webhooks/payment/webhook' })),
  PAYMENTS_REDIRECT_URL: Type.Optional(Type.String({ description: 'Where buyers land after paying, unless a link sets its own redirect_url' })),
  PAYMENTS_LATENCY_MS: Type.Optional(Type.String({ description: 'Simulated latency range, e.g. 400-1000' })),
  PAYMENTS_SUCCESS_RATE: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  EMAIL_SERVICE_URL: Type.String({ description: 'The email service, for resending links; default http://127.0.0.1:<EMAIL_PORT> (under the stack: where its email service listens)' }),
  WHATSAPP_SERVICE_URL: Type.String({ description: 'The WhatsApp service, for resending links; default http://127.0.0.1:<WHATSAPP_PORT> (under the stack: where its WhatsApp service listens)' }),
  PROVIDER_TIMEOUT_MS: Type.Integer({ default: 15_000, minimum: 100 })
})])
export type PaymentsEnv = Static<typeof PaymentsEnvSchema>

/**
 * The sibling services' URLs not set explicitly follow their port variables, as the gateway's do:
 * a resend must not go (with the internal credential) to whatever else listens on a default port.
 */
function siblingUrlDefaults (env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of ['email', 'whatsapp'] as const) {
    const NAME = name.toUpperCase()
    if (!env[`${NAME}_SERVICE_URL`]) out[`${NAME}_SERVICE_URL`] = `http://127.0.0.1:${env[`${NAME}_PORT`] || SERVICES[name].port}`
  }
  return out
}

export const loadPaymentsEnv = (env: Record<string, string | undefined> = process.env) => loadEnv(PaymentsEnvSchema, { ...env, ...siblingUrlDefaults(env) })

/** Simulation settings this environment asks for (only what it sets). */
export function paymentsSimulationOverrides (env: PaymentsEnv): Partial<SimulationSettings> {
  const out: Partial<SimulationSettings> = {}
  if (env.PAYMENTS_LATENCY_MS) out.latencyMs = parseRange(env.PAYMENTS_LATENCY_MS, 'PAYMENTS_LATENCY_MS')
  if (env.PAYMENTS_SUCCESS_RATE !== undefined) out.successRate = env.PAYMENTS_SUCCESS_RATE
  if (env.SIM_SEED !== undefined) out.seed = env.SIM_SEED
  return out
}

/** Instamojo's hosts (providers.md §3, "Environments"): v2 and the token on api., v1.1 on www.; the sandbox serves both. */
export function instamojoHost (env: PaymentsEnv, api: 'v2' | 'v1.1'): string {
  if (env.INSTAMOJO_BASE_URL) return env.INSTAMOJO_BASE_URL
  if (env.INSTAMOJO_ENV === 'test') return 'https://test.instamojo.com'
  return api === 'v2' ? 'https://api.instamojo.com' : 'https://www.instamojo.com'
}

export type LiveCredentials =
  | { ok: true, auth: { kind: 'oauth', clientId: string, clientSecret: string } | { kind: 'legacy', apiKey: string, authToken: string } }
  | { ok: false, missing: string[], needs: string }

/** What to set when no Instamojo credential is: either API's pair. */
export const EITHER_PAIR = 'INSTAMOJO_CLIENT_ID and INSTAMOJO_CLIENT_SECRET (v2 API), or INSTAMOJO_API_KEY and INSTAMOJO_AUTH_TOKEN (v1.1 API)'

/**
 * Which live API the credentials allow: v2 when a client id/secret pair is set, else v1.1 with an
 * API key/auth token pair. A half-set pair names its missing half; nothing set names both pairs
 * (`missing` lists v2's, the one to prefer; `needs` says either will do).
 */
export function liveCredentials (env: PaymentsEnv): LiveCredentials {
  const { INSTAMOJO_CLIENT_ID: id, INSTAMOJO_CLIENT_SECRET: secret, INSTAMOJO_API_KEY: key, INSTAMOJO_AUTH_TOKEN: token } = env
  if (id && secret) return { ok: true, auth: { kind: 'oauth', clientId: id, clientSecret: secret } }
  if (key && token) return { ok: true, auth: { kind: 'legacy', apiKey: key, authToken: token } }
  const half = (name: string) => ({ ok: false as const, missing: [name], needs: name })
  if (id || secret) return half(id ? 'INSTAMOJO_CLIENT_SECRET' : 'INSTAMOJO_CLIENT_ID')
  if (key || token) return half(key ? 'INSTAMOJO_AUTH_TOKEN' : 'INSTAMOJO_API_KEY')
  return { ok: false, missing: ['INSTAMOJO_CLIENT_ID', 'INSTAMOJO_CLIENT_SECRET'], needs: EITHER_PAIR }
}
