import { Type, type Static, type TSchema } from '@sinclair/typebox'

/** Every error our own APIs answer (emulators answer in their provider's envelope instead). */
export const ErrorEnvelopeSchema = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String({ description: 'Stable machine-readable code, <SERVICE>_<REASON>' }),
  error: Type.String({ description: 'HTTP reason phrase' }),
  message: Type.String({ description: 'What happened and what to do' }),
  requestId: Type.Optional(Type.String()),
  details: Type.Optional(Type.Unknown())
}, { title: 'Error' })
export type ErrorEnvelope = Static<typeof ErrorEnvelopeSchema>

/** The replies every route may give besides its success reply. */
export const errorResponses = {
  '4xx': ErrorEnvelopeSchema,
  '5xx': ErrorEnvelopeSchema
} as const

/** The five services: the one list the schemas, service-kit's SERVICES (typed by it) and the admin API follow. */
export const SERVICE_NAMES = ['email', 'whatsapp', 'payments', 'voice', 'zoom'] as const
export type ServiceName = typeof SERVICE_NAMES[number]

/** The simulation's failure scenarios (spec: "Mock Services Features"), 'none' first. */
export const SIMULATION_SCENARIOS = ['none', 'outage', 'rate_limit', 'slow', 'timeout'] as const
export type SimulationScenario = typeof SIMULATION_SCENARIOS[number]

export const ModeSchema = Type.Union([Type.Literal('mock'), Type.Literal('live')])
export type Mode = Static<typeof ModeSchema>

export const Uuid = Type.String({ format: 'uuid' })
/** A UUID in any case, for ids checked outside a schema (Bolna's agent ids, a link's id or request id). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const Timestamp = Type.String({ format: 'date-time' })

export const HealthSchema = Type.Object({ status: Type.Literal('ok') })

export const ReadinessSchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  service: Type.String(),
  mode: Type.Optional(ModeSchema),
  checks: Type.Record(Type.String(), Type.Object({
    ok: Type.Boolean(),
    message: Type.Optional(Type.String())
  }))
})
export type Readiness = Static<typeof ReadinessSchema>

export const PageQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  offset: Type.Integer({ minimum: 0, default: 0 })
})

/** A union of string literals whose static type stays the literal union (not string). */
export function StringEnum<T extends string> (values: readonly T[], options: { description?: string, default?: T } = {}) {
  return Type.Union(values.map(v => Type.Literal(v)), options)
}

export function Nullable<T extends TSchema> (schema: T) {
  // Null first: where Ajv coerces types (never in our JSON bodies: service-kit's
  // schema-compilers.ts), it tries branches in order and would turn a null into 0 or "" through
  // the other branch.
  return Type.Union([Type.Null(), schema])
}

export const SimulationSchema = Type.Object({
  latencyMs: Type.Object({ min: Type.Integer({ minimum: 0 }), max: Type.Integer({ minimum: 0 }) }),
  successRate: Type.Number({ minimum: 0, maximum: 1 }),
  seed: Type.Union([Type.Integer(), Type.Null()]),
  scenario: StringEnum(SIMULATION_SCENARIOS)
})

/** A service's own report for the admin API (GET /admin/status on each service). */
export const ServiceStatusSchema = Type.Object({
  service: Type.String(),
  provider: Type.String(),
  mode: ModeSchema,
  fallback: Type.Boolean(),
  simulation: SimulationSchema,
  ready: Type.Boolean(),
  missing: Type.Array(Type.String()),
  /** What to set for live mode, in words: `missing` joined, or the alternatives a provider accepts. */
  needs: Type.String(),
  credentials: Type.Array(Type.Object({ variable: Type.String(), configured: Type.Boolean(), display: Type.String() }))
})
export type ServiceStatus = Static<typeof ServiceStatusSchema>

/**
 * Every contact of a campaign or bulk send, by state; the states add up to the total. unknown: the
 * contact was in flight when the worker sending it died, so nobody knows whether the provider got
 * it; it is never re-sent by itself (POST …/retry sends the unknown and failed ones again).
 */
export const JobContactsSchema = Type.Object({
  pending: Type.Integer({ description: 'Not sent yet' }),
  in_flight: Type.Integer({ description: 'Claimed by a worker, waiting for the provider\'s answer' }),
  sent: Type.Integer({ description: 'Accepted by the provider' }),
  failed: Type.Integer({ description: 'Refused by the provider (or not sendable, e.g. not a phone number)' }),
  unknown: Type.Integer({ description: 'In flight when its worker died: maybe sent, maybe not; retry to send again' }),
  stopped: Type.Integer({ description: 'Not sent because the job was stopped on request' })
})
export type JobContacts = Static<typeof JobContactsSchema>

export const JobStatusSchema = Type.Union(['running', 'stopping', 'completed', 'completed_with_errors', 'stopped', 'failed'].map(s => Type.Literal(s)), {
  description: 'running (or stopping) until every contact has an answer; then completed, completed_with_errors (some failed or unknown), stopped or failed'
})

/** A bulk send still running when its reply was due (202), or read back later. */
export const BatchProgressSchema = Type.Object({
  batch_id: Uuid,
  status: JobStatusSchema,
  total: Type.Integer(),
  progress: Type.Number({ description: 'Contacts with an answer (or stopped) over total, 0..1' }),
  contacts: JobContactsSchema,
  progress_url: Type.String({ description: 'Where to follow it (GET, same authentication)' }),
  error: Nullable(Type.String()),
  created_at: Timestamp,
  completed_at: Nullable(Timestamp),
  problems: Type.Optional(Type.Array(Type.Object({
    contact: Nullable(Type.String({ description: 'The recipient (email address or phone number) as given' })),
    state: Type.Union([Type.Literal('failed'), Type.Literal('unknown')]),
    reason: Nullable(Type.String())
  }), { description: 'The first 100 contacts that failed or are unknown, with why (present when there are any); POST …/retry sends them again' }))
})
export type BatchProgress = Static<typeof BatchProgressSchema>
export const BatchIdParamsSchema = Type.Object({ id: Uuid })

/** A provider emulator's fake account: where it answers and the credentials it takes (EMULATOR_AUTH). */
export const EmulatorAccountViewSchema = Type.Object({
  provider: Type.String(),
  auth: Type.Union([Type.Literal('any'), Type.Literal('issued')], { description: 'any: any credential of the provider\'s shape is taken; issued: only these' }),
  base_url: Type.String({ description: 'The emulator\'s base URL: point the provider\'s SDK or your own client here' }),
  credentials: Type.Record(Type.String(), Type.String(), { description: 'The provider\'s credential names (apiKey, client_id, …) and this stack\'s values' })
})
export type EmulatorAccountView = Static<typeof EmulatorAccountViewSchema>
