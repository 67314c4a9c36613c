import { Type, type Static } from '@sinclair/typebox'
import { ModeSchema, Nullable, SERVICE_NAMES, SIMULATION_SCENARIOS, StringEnum } from './common.ts'

const ServiceName = StringEnum(SERVICE_NAMES)
const Scenario = StringEnum(SIMULATION_SCENARIOS)

export const SimulationViewSchema = Type.Object({
  latency_ms: Type.Object({ min: Type.Integer(), max: Type.Integer() }),
  success_rate: Type.Number(),
  seed: Nullable(Type.Integer()),
  scenario: Scenario
})

export const ServiceSettingsSchema = Type.Object({
  provider: Type.String(),
  mode: ModeSchema,
  reachable: Type.Boolean(),
  ready: Type.Boolean(),
  fallback: Type.Boolean(),
  fallback_allowed: Type.Boolean(),
  fallback_note: Nullable(Type.String({ description: 'Why this service never falls back, when it does not' })),
  credentials: Type.Array(Type.Object({ variable: Type.String(), configured: Type.Boolean(), display: Type.String() })),
  missing: Type.Array(Type.String()),
  needs: Type.String({ description: 'What live mode needs that is not set, in words (either of two credential sets, where a provider takes both); empty when nothing is missing' }),
  simulation: SimulationViewSchema
})
export type ServiceSettings = Static<typeof ServiceSettingsSchema>

export const MockModeReplySchema = Type.Object({
  mock_mode: Type.Union([Type.Boolean(), Type.Literal('mixed')], { description: 'true when every service except zoom is in mock mode, false when every one is live, "mixed" otherwise (each service\'s own mode is in services)' }),
  use_mock_zoom: Type.Boolean(),
  services: Type.Record(Type.String(), ServiceSettingsSchema)
})
export type MockModeReply = Static<typeof MockModeReplySchema>

export const MockModeRequestSchema = Type.Object({
  mock_mode: Type.Boolean({ description: 'true or false (JSON booleans only: "true", 1 or null are refused)' }),
  service: Type.Optional(ServiceName)
}, { additionalProperties: false })
export type MockModeRequest = Static<typeof MockModeRequestSchema>

export const ServiceParamsSchema = Type.Object({ service: ServiceName })

export const ServiceSettingsPatchSchema = Type.Object({
  simulation: Type.Optional(Type.Object({
    latency_ms: Type.Optional(Type.Object({ min: Type.Integer({ minimum: 0, maximum: 120_000 }), max: Type.Integer({ minimum: 0, maximum: 120_000 }) }, { additionalProperties: false })),
    success_rate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    seed: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1 }))),
    scenario: Type.Optional(Scenario)
  }, { additionalProperties: false })),
  fallback: Type.Optional(Type.Boolean())
}, { additionalProperties: false, minProperties: 1 })
export type ServiceSettingsPatch = Static<typeof ServiceSettingsPatchSchema>

export const SettingsChangesSchema = Type.Object({
  items: Type.Array(Type.Object({ key: Type.String(), from_value: Type.Unknown(), to_value: Type.Unknown(), changed_by: Nullable(Type.String()), changed_at: Type.String() }))
})

export const JournalQuerySchema = Type.Object({
  service: Type.Optional(ServiceName),
  status: Type.Optional(Type.String({ maxLength: 64 })),
  request_id: Type.Optional(Type.String({ maxLength: 200 })),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  until: Type.Optional(Type.String({ format: 'date-time' })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 })
}, { additionalProperties: false })
export type JournalQuery = Static<typeof JournalQuerySchema>

export const JournalEntrySchema = Type.Object({
  service: Type.String(),
  id: Type.String(),
  request_id: Nullable(Type.String()),
  status: Type.String(),
  mode: ModeSchema,
  fallback: Type.Boolean(),
  contact: Nullable(Type.String()),
  summary: Nullable(Type.String()),
  error: Nullable(Type.String()),
  latency_ms: Nullable(Type.Integer()),
  created_at: Type.String(),
  updated_at: Type.String()
})
export const JournalReplySchema = Type.Object({ items: Type.Array(JournalEntrySchema) })

/** GET /api/admin/journal/{service}/{id}, for `services`: those with a log table (service-kit's LOGGED_SERVICES). */
export const journalDetailParamsSchema = <S extends string>(services: readonly S[]) => Type.Object({ service: StringEnum(services), id: Type.String({ format: 'uuid' }) })
export const JournalDetailSchema = Type.Object({ service: Type.String(), row: Type.Record(Type.String(), Type.Unknown()) })

export const StatsQuerySchema = Type.Object({ minutes: Type.Integer({ minimum: 1, maximum: 1440, default: 60 }) }, { additionalProperties: false })
export const AdminStatsSchema = Type.Object({
  services: Type.Record(Type.String(), Type.Object({
    total: Type.Integer(),
    failed: Type.Integer({ description: 'Provider errors (the same number as errors; the name older pages read)' }),
    errors: Type.Integer({ description: 'Calls that failed: refused by the provider, unreachable, or errored' }),
    outcomes: Type.Integer({ description: 'Business outcomes: the provider did its job and reported a bounce, a decline, a busy line…' }),
    by_outcome: Type.Record(Type.String(), Type.Integer(), { description: 'bounced, dropped, undelivered, declined, busy, no-answer, unreachable, canceled, stopped' }),
    success_rate: Type.Number({ description: 'Share of calls without a provider error, 0..1: outcomes are not failures' }),
    avg_latency_ms: Nullable(Type.Number()),
    series: Type.Array(Type.Object({ bucket: Type.String(), count: Type.Integer(), failed: Type.Integer({ description: 'errors' }), outcomes: Type.Integer(), avg_latency_ms: Nullable(Type.Number()) })),
    meetings: Type.Optional(Type.Object({
      created: Type.Integer({ description: 'Meetings the Zoom API created' }),
      started: Type.Integer({ description: 'meeting.started webhooks accepted' }),
      ended: Type.Integer({ description: 'meeting.ended webhooks accepted' }),
      recordings: Type.Integer({ description: 'recording.completed webhooks accepted' })
    }, { description: 'Zoom only' }))
  }))
})

export const ResetQuerySchema = Type.Object({
  settings: Type.Optional(StringEnum(['keep', 'defaults'] as const, { description: 'keep (the default): simulation settings stay as they are; defaults: every service\'s latency, success rate, seed, scenario and fallback go back to their start-up values (the spec\'s defaults plus the environment\'s overrides); modes stay' }))
}, { additionalProperties: false })

export const ResetReplySchema = Type.Object({
  cleared: Type.Record(Type.String(), Type.Integer()),
  services: Type.Record(Type.String(), Type.String()),
  settings: StringEnum(['kept', 'defaults'] as const)
})

// --- Inspect (issue #22): every item with its content, raw exchanges, webhooks and timeline -----

export const ActivityChannel = StringEnum(SERVICE_NAMES)
export type ActivityChannelName = Static<typeof ActivityChannel>

export const ActivityQuerySchema = Type.Object({
  channel: Type.Optional(ActivityChannel),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Case-insensitive text over recipient, summary, ids (row, request, provider) and the stored content' })),
  status: Type.Optional(Type.String({ maxLength: 64 })),
  direct: Type.Optional(StringEnum(['true', 'false'] as const, { description: 'true: only traffic sent straight to an emulator; false: only traffic that came through the API' })),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  until: Type.Optional(Type.String({ format: 'date-time' })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'The next_cursor of the previous page' })),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 })
}, { additionalProperties: false })
export type ActivityQuery = Static<typeof ActivityQuerySchema>

export const ActivityItemSchema = Type.Object({
  channel: ActivityChannel,
  id: Type.String({ description: 'The log row\'s id, or the exchange\'s id for direct traffic and Zoom' }),
  direct: Type.Boolean({ description: 'Sent straight to an emulator by a client (an SDK, curl), not through Switchboard\'s API' }),
  request_id: Nullable(Type.String()),
  status: Type.String({ description: 'The row\'s status; for direct traffic and Zoom, the emulator\'s HTTP status' }),
  mode: ModeSchema,
  fallback: Type.Boolean(),
  contact: Nullable(Type.String()),
  summary: Nullable(Type.String()),
  provider_id: Nullable(Type.String()),
  error: Nullable(Type.String()),
  latency_ms: Nullable(Type.Integer()),
  created_at: Type.String({ description: 'On the emulators\' test clock (a data set\'s history lands on past days)' }),
  updated_at: Type.String({ description: 'The last status move, on the test clock' }),
  changed_at: Type.String({ description: 'The last change in real time, whatever the test clock says: the live stream\'s order' })
})
export type ActivityItem = Static<typeof ActivityItemSchema>

export const ActivityPageSchema = Type.Object({
  items: Type.Array(ActivityItemSchema),
  next_cursor: Nullable(Type.String({ description: 'Pass as cursor for the next (older) page; null on the last page' }))
})

export const ActivityDetailParamsSchema = Type.Object({ channel: ActivityChannel, id: Type.String({ format: 'uuid' }) })

const Json = Type.Unknown()
export const ExchangeSchema = Type.Object({
  id: Type.String(),
  kind: StringEnum(['provider', 'webhook', 'checkout'] as const, { description: 'provider: a request to the emulator; webhook: an event received by Switchboard\'s receiver; checkout: a buyer\'s step on the emulated checkout page' }),
  channel: ActivityChannel,
  direct: Type.Boolean(),
  method: Type.String(),
  path: Type.String(),
  status_code: Nullable(Type.Integer()),
  latency_ms: Nullable(Type.Integer()),
  request: Type.Object({ headers: Type.Record(Type.String(), Json), body: Json }),
  response: Type.Object({ headers: Type.Record(Type.String(), Json), body: Json }),
  event: Nullable(Type.String({ description: 'Webhooks: the event(s) the post carried, comma-separated' })),
  verification: Nullable(Type.Object({ ok: Type.Boolean(), status_code: Nullable(Type.Integer()), detail: Type.String() }, { description: 'Webhooks: whether the receiver accepted the signature' })),
  scenario: Type.Optional(Nullable(Type.String({ description: 'Provider requests: the scenario rules that decided the answer (e.g. "story payment-fails-twice step 1/3"), when a scenario played' }))),
  truncated: Type.Boolean(),
  created_at: Type.String()
})
export type Exchange = Static<typeof ExchangeSchema>

export const TimelineEntrySchema = Type.Object({
  at: Type.String(),
  status: Type.String(),
  source: StringEnum(['api', 'provider', 'webhook', 'row'] as const),
  detail: Nullable(Type.String())
})

export const ActivityDetailSchema = Type.Object({
  channel: ActivityChannel,
  id: Type.String(),
  direct: Type.Boolean(),
  row: Nullable(Type.Record(Type.String(), Json)),
  content: Nullable(Type.Record(Type.String(), Json, { description: 'What was sent, per channel (kind: email | whatsapp | voice | payments | zoom); truncated: true when a part was cut' })),
  timeline: Type.Array(TimelineEntrySchema),
  exchanges: Type.Array(ExchangeSchema),
  webhooks: Type.Array(ExchangeSchema)
})
export type ActivityDetail = Static<typeof ActivityDetailSchema>

export const ActivityStreamQuerySchema = Type.Object({
  channel: Type.Optional(ActivityChannel)
}, { additionalProperties: false })

/** GET /api/admin/messages/{channel}, for `services`: those with a log table (service-kit's LOGGED_SERVICES). */
export const messagesParamsSchema = <S extends string>(services: readonly S[]) => Type.Object({ channel: StringEnum(services) })
export const MessagesQuerySchema = Type.Object({
  to: Type.String({ minLength: 1, maxLength: 320, description: 'The recipient exactly as sent: an email address or a phone number' }),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 1 })
}, { additionalProperties: false })
export const MessageSchema = Type.Object({
  id: Type.String({ description: 'The log row\'s id, or the exchange\'s id when the message was sent straight to the emulator' }),
  channel: Type.String(),
  direct: Type.Boolean(),
  to: Type.String(),
  status: Type.String(),
  created_at: Type.String(),
  subject: Nullable(Type.String()),
  text: Nullable(Type.String()),
  html: Nullable(Type.String()),
  content: Type.Record(Type.String(), Json)
})
export const MessagesReplySchema = Type.Object({ items: Type.Array(MessageSchema) })
