import { Type, type Static } from '@sinclair/typebox'
import { CommonEnvSchema, ConfigError, loadEnv, parseRange } from '@switchboard/service-kit/env'
import type { SimulationSettings } from '@switchboard/service-kit/simulation'
import { UUID } from '@switchboard/schemas/common'

export const VoiceEnvSchema = Type.Composite([CommonEnvSchema, Type.Object({
  VOICE_PORT: Type.Integer({ default: 3004, minimum: 0, maximum: 65535 }),
  BOLNA_API_KEY: Type.Optional(Type.String({ description: 'Live mode only (bn-…, from the Bolna dashboard)' })),
  BOLNA_BASE_URL: Type.String({ default: 'https://api.bolna.ai', description: 'Live Bolna host' }),
  BOLNA_FROM_NUMBER: Type.Optional(Type.String({ pattern: '^\\+[1-9][0-9]{6,14}$', description: 'Caller id (E.164) for every call; unset: the Bolna account\'s default number' })),
  BOLNA_SCRIPTS: Type.Optional(Type.String({ description: 'Script aliases: "reminder=<agent uuid>,sales=<agent uuid>"' })),
  BOLNA_WEBHOOK_ALLOWED_IPS: Type.String({ default: '13.203.39.153', description: 'Addresses or CIDR ranges, comma-separated, that Bolna posts webhooks from (Bolna signs nothing)' }),
  VOICE_TRUSTED_PROXIES: Type.String({ default: '127.0.0.1,::1', description: 'Addresses or CIDR ranges whose X-Forwarded-For is believed (the gateway); empty: nobody\'s' }),
  BOLNA_WEBHOOK_MAX_AGE_S: Type.Integer({ default: 300, minimum: 1, description: 'Emulator-signed webhook posts older than this are refused as replays' }),
  BOLNA_MOCK_WEBHOOK_URL: Type.Optional(Type.String({ description: 'Where the emulator\'s agents post by default; default: this service\'s own receiver' })),
  VOICE_LATENCY_MS: Type.Optional(Type.String({ description: 'Simulated latency range, e.g. 500-1300' })),
  VOICE_SUCCESS_RATE: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  VOICE_CALL_STEP_MS: Type.String({ default: '300-800', description: 'Emulated time between a call\'s status changes (queued → initiated → ringing → …)' }),
  VOICE_BULK_CONCURRENCY: Type.Integer({ default: 8, minimum: 1, maximum: 100, description: 'Calls placed at once by bulk calls and campaigns' }),
  VOICE_RECONCILE_MS: Type.Integer({ default: 30_000, minimum: 20, description: 'How often a campaign asks Bolna about calls whose webhooks have not arrived' }),
  VOICE_RECONCILE_MAX_MS: Type.Integer({ default: 3_600_000, minimum: 100, description: 'How long a campaign keeps asking before it stops waiting' }),
  PROVIDER_TIMEOUT_MS: Type.Integer({ default: 15_000, minimum: 100 })
})])
export type VoiceEnv = Static<typeof VoiceEnvSchema>

export const loadVoiceEnv = (env?: Record<string, string | undefined>) => loadEnv(VoiceEnvSchema, env)

/** Simulation settings this environment asks for (only what it sets). */
export function voiceSimulationOverrides (env: VoiceEnv): Partial<SimulationSettings> {
  const out: Partial<SimulationSettings> = {}
  if (env.VOICE_LATENCY_MS) out.latencyMs = parseRange(env.VOICE_LATENCY_MS, 'VOICE_LATENCY_MS')
  if (env.VOICE_SUCCESS_RATE !== undefined) out.successRate = env.VOICE_SUCCESS_RATE
  if (env.SIM_SEED !== undefined) out.seed = env.SIM_SEED
  return out
}

export const callStepRange = (env: VoiceEnv) => parseRange(env.VOICE_CALL_STEP_MS, 'VOICE_CALL_STEP_MS')

export const listOf = (value: string) => value.split(',').map(s => s.trim()).filter(Boolean)

/**
 * BOLNA_SCRIPTS: "alias=<agent uuid>,…" → alias → agent id. A malformed entry stops start-up.
 * A Map, not an object: a script_id such as "constructor" must not find Object.prototype's.
 */
export function scriptAliases (env: VoiceEnv): ReadonlyMap<string, string> {
  const out = new Map<string, string>()
  for (const entry of listOf(env.BOLNA_SCRIPTS ?? '')) {
    const [alias, agentId] = entry.split('=').map(s => s.trim())
    if (!alias || !agentId || !UUID.test(agentId)) {
      throw new ConfigError(`Invalid configuration: BOLNA_SCRIPTS must look like "reminder=<agent uuid>,sales=<agent uuid>", got "${entry}".`)
    }
    out.set(alias.toLowerCase(), agentId.toLowerCase())
  }
  return out
}
