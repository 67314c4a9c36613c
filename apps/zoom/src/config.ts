import { Type, type Static } from '@sinclair/typebox'
import { CommonEnvSchema, loadEnv, parseRange } from '@switchboard/service-kit/env'
import type { SimulationSettings } from '@switchboard/service-kit/simulation'

export const ZoomEnvSchema = Type.Composite([CommonEnvSchema, Type.Object({
  ZOOM_PORT: Type.Integer({ default: 3005, minimum: 0, maximum: 65535 }),
  ZOOM_ACCOUNT_ID: Type.Optional(Type.String({ description: 'Live mode: the Server-to-Server OAuth app\'s account id' })),
  ZOOM_CLIENT_ID: Type.Optional(Type.String({ description: 'Live mode' })),
  ZOOM_CLIENT_SECRET: Type.Optional(Type.String({ description: 'Live mode' })),
  ZOOM_API_BASE_URL: Type.String({ default: 'https://api.zoom.us/v2', description: 'Live Zoom API (a regional host such as https://api-eu.zoom.us/v2 works too)' }),
  ZOOM_OAUTH_BASE_URL: Type.String({ default: 'https://zoom.us', description: 'Live Zoom OAuth host (POST /oauth/token)' }),
  ZOOM_USER_ID: Type.String({ default: 'me', description: 'Whose meetings: "me" (the app\'s owner), a user id or an email' }),
  ZOOM_WEBHOOK_SECRET_TOKEN: Type.Optional(Type.String({ minLength: 8, description: 'The app\'s Secret Token: verifies Zoom\'s webhooks (and signs the emulator\'s); generated into the data folder when unset' })),
  ZOOM_WEBHOOK_URL: Type.Optional(Type.String({ description: 'Where the emulator posts webhooks; default: this service\'s receiver; "off" sends none' })),
  ZOOM_WEBHOOK_MAX_PENDING: Type.Integer({ default: 256, minimum: 1, description: 'Webhook deliveries unfinished at once; further lifecycle steps wait (never dropped)' }),
  ZOOM_WEBHOOK_RETRY_MINUTE_MS: Type.Integer({ default: 1000, minimum: 1, maximum: 60_000, description: 'Emulator: how long one minute of Zoom\'s webhook retry schedule (5, 20, 60 minutes) lasts; 1000 retries after 5 s, 20 s, 60 s; 60000 is Zoom\'s own' }),
  ZOOM_WEBHOOK_MAX_AGE_S: Type.Integer({ default: 300, minimum: 1, description: 'Webhooks signed longer ago are refused as replays' }),
  ZOOM_LATENCY_MS: Type.Optional(Type.String({ description: 'Simulated latency range, e.g. 0-0 (the spec: instant)' })),
  ZOOM_SUCCESS_RATE: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'The spec: 1 (always succeeds)' })),
  ZOOM_TIME_SCALE: Type.Number({ default: 1, exclusiveMinimum: 0, maximum: 1_000_000, description: 'Emulated meeting minutes per real minute: 60 plays a 30-minute meeting in 30 s' }),
  ZOOM_RECORDING_DELAY_MS: Type.Integer({ default: 0, minimum: 0, description: 'Real ms between a meeting\'s end and its recordings being ready' }),
  // 90 days: a data set plays its meetings up to 90 days back on the test clock (history_days), and
  // Zoom keeps cloud recordings until deleted (accounts may auto-delete after 30 to 120 days); memory
  // stays bounded by ZOOM_MAX_MEETINGS whatever this is.
  ZOOM_ENDED_RETENTION_S: Type.Integer({ default: 90 * 86_400, minimum: 1, description: 'The emulator forgets meetings this long after they ended (default 90 days)' }),
  ZOOM_SWEEP_INTERVAL_MS: Type.Integer({ default: 60_000, minimum: 10, description: 'How often the emulator drops expired meetings' }),
  ZOOM_MAX_MEETINGS: Type.Integer({ default: 200_000, minimum: 1, description: 'Most meetings the emulator holds at once' }),
  ZOOM_EMULATOR_TOKEN_TTL_S: Type.Integer({ default: 3600, minimum: 1, description: 'Lifetime of the emulator\'s access tokens (Zoom: 3600)' }),
  PROVIDER_TIMEOUT_MS: Type.Integer({ default: 15_000, minimum: 100 })
})])
export type ZoomEnv = Static<typeof ZoomEnvSchema>

export const loadZoomEnv = (env?: Record<string, string | undefined>) => loadEnv(ZoomEnvSchema, env)

/** Simulation settings this environment asks for (only what it sets). */
export function zoomSimulationOverrides (env: ZoomEnv): Partial<SimulationSettings> {
  const out: Partial<SimulationSettings> = {}
  if (env.ZOOM_LATENCY_MS) out.latencyMs = parseRange(env.ZOOM_LATENCY_MS, 'ZOOM_LATENCY_MS')
  if (env.ZOOM_SUCCESS_RATE !== undefined) out.successRate = env.ZOOM_SUCCESS_RATE
  if (env.SIM_SEED !== undefined) out.seed = env.SIM_SEED
  return out
}
