import { Type, type Static } from '@sinclair/typebox'
import { CommonEnvSchema, loadEnv, parseRange } from '@switchboard/service-kit/env'
import type { SimulationSettings } from '@switchboard/service-kit/simulation'

export const EmailEnvSchema = Type.Composite([CommonEnvSchema, Type.Object({
  EMAIL_PORT: Type.Integer({ default: 3001, minimum: 0, maximum: 65535 }),
  SENDGRID_API_KEY: Type.Optional(Type.String({ description: 'Live mode only' })),
  SENDGRID_BASE_URL: Type.String({ default: 'https://api.sendgrid.com', description: 'Live SendGrid host (https://api.eu.sendgrid.com for EU subusers)' }),
  SENDGRID_WEBHOOK_PUBLIC_KEY: Type.Optional(Type.String({ description: 'Live mode: the Event Webhook verification key from SendGrid' })),
  SENDGRID_WEBHOOK_MAX_AGE_S: Type.Integer({ default: 600, minimum: 1, description: 'Event posts signed longer ago are refused as replays' }),
  SENDGRID_EVENT_WEBHOOK_URL: Type.Optional(Type.String({ description: 'Where the emulator posts events; default: this service\'s own receiver' })),
  EMAIL_FROM: Type.String({ default: 'noreply@switchboard.local' }),
  EMAIL_FROM_NAME: Type.String({ default: 'Switchboard' }),
  EMAIL_LATENCY_MS: Type.Optional(Type.String({ description: 'Simulated latency range, e.g. 300-1300' })),
  EMAIL_SUCCESS_RATE: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  EMAIL_BULK_CONCURRENCY: Type.Integer({ default: 64, minimum: 1, maximum: 256, description: 'SendGrid requests in flight during a bulk send (up to 1,000 recipients each)' }),
  EMAIL_BULK_SUBSTITUTIONS: Type.Boolean({ default: true, description: 'Bulk sends carry different bodies in one SendGrid request, each in its recipient\'s substitutions; false: one request per distinct body' }),
  PROVIDER_TIMEOUT_MS: Type.Integer({ default: 15_000, minimum: 100 })
})])
export type EmailEnv = Static<typeof EmailEnvSchema>

export const loadEmailEnv = (env?: Record<string, string | undefined>) => loadEnv(EmailEnvSchema, env)

/** Simulation settings this environment asks for (only what it sets). */
export function emailSimulationOverrides (env: EmailEnv): Partial<SimulationSettings> {
  const out: Partial<SimulationSettings> = {}
  if (env.EMAIL_LATENCY_MS) out.latencyMs = parseRange(env.EMAIL_LATENCY_MS, 'EMAIL_LATENCY_MS')
  if (env.EMAIL_SUCCESS_RATE !== undefined) out.successRate = env.EMAIL_SUCCESS_RATE
  if (env.SIM_SEED !== undefined) out.seed = env.SIM_SEED
  return out
}
