import { Type, type Static, type TObject } from '@sinclair/typebox'
import envSchema from 'env-schema'
import { EMULATOR_AUTH_MODES } from '../emulator/account.ts'

const Bool = (def: boolean, description: string) => Type.Boolean({ default: def, description })

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** Variables every app reads. Each app composes these with its own. */
export const CommonEnvSchema = Type.Object({
  NODE_ENV: Type.String({ default: 'development' }),
  HOST: Type.String({ default: '127.0.0.1', description: 'Interface to listen on (0.0.0.0 in containers)' }),
  LOG_LEVEL: Type.Union(LOG_LEVELS.map(l => Type.Literal(l)), { default: 'info' }),
  LOG_FORMAT: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('pretty')], { description: 'json (the default off a terminal) or pretty (readable lines, the default at a terminal)' })),
  MOCK_MODE: Bool(true, 'Seeds mock (true) or live (false) mode for email, whatsapp, payments and voice at first start'),
  USE_MOCK_ZOOM: Bool(true, 'Seeds mock (true) or live (false) mode for zoom at first start'),
  ALLOW_MOCK_IN_PRODUCTION: Bool(false, 'Mock mode under NODE_ENV=production refuses to start unless this is true'),
  SWITCHBOARD_DATA_DIR: Type.String({ default: '.data', description: 'Embedded database, generated tokens and keys' }),
  DATABASE_URL: Type.Optional(Type.String({ description: 'PostgreSQL connection string; the embedded database is used when unset' })),
  SUPABASE_URL: Type.Optional(Type.String()),
  SUPABASE_SERVICE_KEY: Type.Optional(Type.String()),
  SIM_SEED: Type.Optional(Type.Integer({ description: 'Makes simulated latencies and outcomes reproducible' })),
  ACTIVITY_CAPTURE: Bool(true, 'Keeps every emulator exchange and webhook post (redacted, capped) for the Activity view and GET /api/admin/messages; false saves a row per exchange'),
  ACTIVITY_LOG_MAX_PENDING: Type.Integer({ default: 100_000, minimum: 1, description: 'Writes the activity log keeps waiting in memory; past it a request is answered 503 with Retry-After' }),
  SETTINGS_POLL_MS: Type.Integer({ default: 1000, minimum: 50, description: 'How often a service re-reads the runtime settings' }),
  JOB_LEASE_MS: Type.Integer({ default: 30_000, minimum: 200, description: 'How long a worker holds the campaign and bulk contacts it claimed without renewing; a dead worker\'s contacts become unknown after it' }),
  BULK_WAIT_MS: Type.Integer({ default: 20_000, minimum: 0, description: 'How long a bulk send waits for its last answer before replying 202 with its batch id (well inside the gateway\'s UPSTREAM_TIMEOUT_MS)' }),
  ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 16, description: 'Bearer token for /api/admin/* and the emulators\' control routes; generated into the data folder when unset' })),
  INTERNAL_TOKEN: Type.Optional(Type.String({ minLength: 16, description: 'The credential the gateway sends to the services (X-Switchboard-Internal); generated into the data folder when unset. Set the same value for every app when they do not share a data folder.' })),
  EMULATOR_AUTH: Type.Union(EMULATOR_AUTH_MODES.map(m => Type.Literal(m)), { default: 'any', description: 'any: the emulators take any credential of the provider\'s shape; issued: only this stack\'s own fake accounts (GET /api/admin/emulators), for a shared box' }),
  WEBHOOK_ALLOWED_HOSTS: Type.String({ default: '', description: 'Comma-separated host names or host:port pairs an emulator may post webhooks to besides loopback' }),
  AUTH_FAILURE_LIMIT: Type.Integer({ default: 20, minimum: 0, description: 'Failed authentications per AUTH_FAILURE_WINDOW_MS per client address before 429; 0 turns it off' }),
  AUTH_FAILURE_WINDOW_MS: Type.Integer({ default: 60_000, minimum: 1000 }),
  BODY_BYTES_IN_FLIGHT: Type.Integer({ default: 64 * 1024 * 1024, minimum: 0, description: 'Request body bytes one server holds at once before answering 503 with Retry-After; 0 turns the cap off' })
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
    const problems = describeEnvErrors((err as { errors?: AjvError[] }).errors, env) ?? (err as Error).message.replace(/^env\/?/, '')
    throw new ConfigError(`Invalid configuration: ${problems}. Fix the variable in the environment or .env and start again.`)
  }
}

interface AjvError { instancePath: string, keyword: string, message?: string, params: { allowedValue?: unknown, allowedValues?: unknown[] } }

/**
 * One phrase per bad variable. A choice among values (a union of literals) makes Ajv report one
 * "must be equal to constant" per value: those become the list of allowed values instead.
 */
function describeEnvErrors (errors: AjvError[] | undefined, env: Record<string, string | undefined>): string | undefined {
  if (!errors?.length) return undefined
  const byVariable = new Map<string, AjvError[]>()
  for (const e of errors) {
    const name = e.instancePath.replace(/^\//, '') || 'environment'
    byVariable.set(name, [...(byVariable.get(name) ?? []), e])
  }
  return [...byVariable].map(([name, errs]) => {
    const allowed = errs.flatMap(e => e.keyword === 'const' ? [e.params.allowedValue] : e.keyword === 'enum' ? e.params.allowedValues ?? [] : [])
    // The value is echoed only for a choice: any other variable may hold a secret (a short token).
    const got = env[name] === undefined ? '' : ` (got "${String(env[name]).slice(0, 40)}")`
    if (allowed.length) return `${name} must be one of ${allowed.map(v => String(v)).join(', ')}${got}`
    const first = errs.find(e => e.keyword !== 'anyOf') ?? errs[0]!
    return `${name} ${first.message ?? 'is invalid'}`
  }).join('; ')
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
