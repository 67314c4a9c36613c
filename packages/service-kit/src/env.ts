import { Type, type Static, type TObject } from '@sinclair/typebox'
import envSchema from 'env-schema'

const Bool = (def: boolean, description: string) => Type.Boolean({ default: def, description })

/** Variables every app reads. Each app composes these with its own. */
export const CommonEnvSchema = Type.Object({
  NODE_ENV: Type.String({ default: 'development' }),
  HOST: Type.String({ default: '127.0.0.1', description: 'Interface to listen on (0.0.0.0 in containers)' }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map(l => Type.Literal(l)), { default: 'info' }),
  MOCK_MODE: Bool(true, 'Seeds mock (true) or live (false) mode for email, whatsapp, payments and voice at first start'),
  USE_MOCK_ZOOM: Bool(true, 'Seeds mock (true) or live (false) mode for zoom at first start'),
  ALLOW_MOCK_IN_PRODUCTION: Bool(false, 'Mock mode under NODE_ENV=production refuses to start unless this is true'),
  SWITCHBOARD_DATA_DIR: Type.String({ default: '.data', description: 'Embedded database, generated tokens and keys' }),
  DATABASE_URL: Type.Optional(Type.String({ description: 'PostgreSQL connection string; the embedded database is used when unset' })),
  SUPABASE_URL: Type.Optional(Type.String()),
  SUPABASE_SERVICE_KEY: Type.Optional(Type.String()),
  SIM_SEED: Type.Optional(Type.Integer({ description: 'Makes simulated latencies and outcomes reproducible' })),
  ACTIVITY_LOG_MAX_PENDING: Type.Integer({ default: 100_000, minimum: 1, description: 'Writes the activity log keeps waiting in memory; past it a request is answered 503 with Retry-After' }),
  SETTINGS_POLL_MS: Type.Integer({ default: 1000, minimum: 50, description: 'How often a service re-reads the runtime settings' })
})
export type CommonEnv = Static<typeof CommonEnvSchema>

export class ConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/**
 * Validates and types the environment against a TypeBox schema. A bad value stops start-up with a
 * message naming the variable. Tests pass plain objects instead of touching process.env.
 */
export function loadEnv<T extends TObject> (schema: T, env: Record<string, string | undefined> = process.env): Static<T> {
  try {
    return envSchema<Static<T>>({ schema, data: env, dotenv: false })
  } catch (err) {
    throw new ConfigError(`Invalid configuration: ${(err as Error).message.replace(/^env\/?/, '').replace(/ must /, ' must ')}. Fix the variable in the environment or .env and start again.`)
  }
}

/** Parses "300-1300" (ms) into a range. */
export function parseRange (value: string, name: string): { min: number, max: number } {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(value)
  if (!m) throw new ConfigError(`Invalid configuration: ${name} must look like "300-1300" (milliseconds), got "${value}".`)
  const min = Number(m[1])
  const max = m[2] === undefined ? min : Number(m[2])
  if (max < min) throw new ConfigError(`Invalid configuration: ${name} has its maximum below its minimum ("${value}").`)
  return { min, max }
}

/** Refuses mock mode in production unless explicitly allowed: a mock payment link there would lie to buyers. */
export function assertModeAllowed (env: CommonEnv): void {
  if (env.NODE_ENV === 'production' && (env.MOCK_MODE || env.USE_MOCK_ZOOM) && !env.ALLOW_MOCK_IN_PRODUCTION) {
    throw new ConfigError('Refusing to start: mock mode is on (MOCK_MODE or USE_MOCK_ZOOM) with NODE_ENV=production. ' +
      'Set MOCK_MODE=false and USE_MOCK_ZOOM=false for real providers, or ALLOW_MOCK_IN_PRODUCTION=true if a mock production is really meant.')
  }
}
