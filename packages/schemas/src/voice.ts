import { Type, type Static } from '@sinclair/typebox'
import { ModeSchema, Nullable, Timestamp, Uuid, JobContactsSchema } from './common.ts'

// Field names follow the spec's method parameters (make_call(to_number, script_id, agent_id),
// make_bulk_calls(contacts, script_id), create_campaign(name, contacts, script_id),
// get_call_logs(limit, status), ...) so code written against the spec maps one to one.

/** Every status a Bolna execution can have (Bolna's own enum); 'failed' is also ours for a call Bolna refused. */
export const CALL_STATUSES = [
  'scheduled', 'queued', 'rescheduled', 'initiated', 'ringing', 'in-progress', 'call-disconnected',
  'completed', 'balance-low', 'busy', 'no-answer', 'canceled', 'failed', 'stopped', 'error'
] as const
export type CallStatus = typeof CALL_STATUSES[number]

/** Statuses after which nothing more happens to a call. */
export const FINAL_CALL_STATUSES: readonly CallStatus[] = ['completed', 'balance-low', 'busy', 'no-answer', 'canceled', 'failed', 'stopped', 'error']

const CallStatusSchema = Type.Union(CALL_STATUSES.map(s => Type.Literal(s)), { description: 'Bolna\'s execution status' })

export const PhoneNumber = Type.String({ pattern: '^\\+[1-9][0-9]{6,14}$', description: 'E.164 with the country code, e.g. +919876543210' })

const ScriptId = Type.String({
  minLength: 1,
  maxLength: 100,
  description: 'Which Bolna agent speaks: a script id from GET /call/scripts (the agent name as a slug, or a BOLNA_SCRIPTS alias), or a Bolna agent id'
})
const AgentId = Type.String({ format: 'uuid', description: 'A Bolna agent id; when given, this agent places the call and script_id is recorded as given' })
const UserData = Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.String({ maxLength: 2000 }), Type.Number(), Type.Boolean()]), {
  maxProperties: 50,
  description: 'Values for the {variables} in the agent\'s script (Bolna user_data)'
})

export const MakeCallRequestSchema = Type.Object({
  to_number: PhoneNumber,
  script_id: ScriptId,
  agent_id: Type.Optional(AgentId),
  user_data: Type.Optional(UserData),
  from_number: Type.Optional(PhoneNumber),
  scheduled_at: Type.Optional(Type.String({ format: 'date-time', description: 'Place the call later (ISO-8601); it stays "scheduled" until then and can be stopped' }))
}, { additionalProperties: false })
export type MakeCallRequest = Static<typeof MakeCallRequestSchema>

export const MakeCallReplySchema = Type.Object({
  success: Type.Literal(true),
  id: Uuid,
  execution_id: Type.String({ description: 'Bolna\'s execution id' }),
  status: Type.String(),
  mode: ModeSchema,
  to_number: Type.String(),
  script_id: Type.String(),
  agent_id: Type.String(),
  latency_ms: Type.Integer()
})
export type MakeCallReply = Static<typeof MakeCallReplySchema>

export const ContactSchema = Type.Union([
  PhoneNumber,
  Type.Object({
    to_number: PhoneNumber,
    name: Type.Optional(Type.String({ maxLength: 200, description: 'Passed to the script as {name}' })),
    user_data: Type.Optional(UserData)
  }, { additionalProperties: false })
])
export type Contact = Static<typeof ContactSchema>

export const BulkCallRequestSchema = Type.Object({
  contacts: Type.Array(ContactSchema, { minItems: 1, maxItems: 1000 }),
  script_id: ScriptId,
  agent_id: Type.Optional(AgentId),
  from_number: Type.Optional(PhoneNumber)
}, { additionalProperties: false })
export type BulkCallRequest = Static<typeof BulkCallRequestSchema>

export const BulkCallReplySchema = Type.Object({
  batch_id: Type.String({ format: 'uuid', description: 'Also a call_campaigns row: GET /call/campaigns/{batch_id} follows the calls to their end' }),
  mode: ModeSchema,
  script_id: Type.String(),
  agent_id: Type.String(),
  total: Type.Integer(),
  initiated: Type.Integer({ description: 'Calls Bolna accepted' }),
  failed: Type.Integer({ description: 'Calls not placed: refused by Bolna (or, rarely, unknown or stopped: see calls[].status)' }),
  duration_ms: Type.Integer(),
  calls: Type.Array(Type.Object({
    // The call's row; null for a contact never called (stopped) or in flight when its worker died (unknown).
    id: Nullable(Uuid),
    to_number: Type.String(),
    status: Type.String({ description: 'Bolna\'s status for a placed call; failed (refused), unknown or stopped otherwise' }),
    execution_id: Nullable(Type.String()),
    error: Type.Optional(Type.String())
  }))
})
export type BulkCallReply = Static<typeof BulkCallReplySchema>

export const CreateCampaignRequestSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  contacts: Type.Array(ContactSchema, { minItems: 1, maxItems: 10_000 }),
  script_id: ScriptId,
  agent_id: Type.Optional(AgentId),
  from_number: Type.Optional(PhoneNumber)
}, { additionalProperties: false })
export type CreateCampaignRequest = Static<typeof CreateCampaignRequestSchema>

export const CampaignSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  mode: ModeSchema,
  script_id: Type.String(),
  agent_id: Nullable(Type.String()),
  status: Type.String({ description: 'running until every contact is placed and every call has ended; then completed, completed_with_errors (some refused, or unknown: in flight when a worker died), stopped or failed' }),
  total: Type.Integer({ description: 'Contacts in the campaign' }),
  placed: Type.Integer({ description: 'Calls attempted so far' }),
  initiated: Type.Integer({ description: 'Calls Bolna accepted' }),
  completed: Type.Integer({ description: 'Calls that ended completed (answered)' }),
  failed: Type.Integer({ description: 'Calls refused by Bolna or ended busy, no-answer, failed, stopped, …' }),
  in_progress: Type.Integer({ description: 'Calls not yet at a final status' }),
  by_status: Type.Record(Type.String(), Type.Integer()),
  contacts: JobContactsSchema,
  error: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
  completed_at: Nullable(Timestamp)
})
export type Campaign = Static<typeof CampaignSchema>

export const CallLogSchema = Type.Object({
  id: Uuid,
  mode: ModeSchema,
  fallback: Type.Boolean(),
  campaign_id: Nullable(Type.String()),
  execution_id: Nullable(Type.String()),
  agent_id: Nullable(Type.String()),
  script_id: Nullable(Type.String()),
  to_number: Type.String(),
  from_number: Nullable(Type.String()),
  status: Type.String({ description: CALL_STATUSES.join(', ') }),
  duration_seconds: Nullable(Type.Number()),
  cost: Nullable(Type.Number({ description: 'Bolna\'s total_cost, in cents' })),
  recording_url: Nullable(Type.String()),
  transcript: Nullable(Type.String()),
  answered_by_voice_mail: Nullable(Type.Boolean()),
  error: Nullable(Type.String()),
  error_code: Nullable(Type.String()),
  latency_ms: Nullable(Type.Integer()),
  request_id: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp
})
export type CallLog = Static<typeof CallLogSchema>

export const CallIdParamsSchema = Type.Object({ id: Type.String({ format: 'uuid', description: 'The call id from make_call (Bolna\'s execution id works too)' }) })
export const CampaignIdParamsSchema = Type.Object({ id: Uuid })

export const CallLogsQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  status: Type.Optional(CallStatusSchema),
  campaign_id: Type.Optional(Uuid)
}, { additionalProperties: false })
export type CallLogsQuery = Static<typeof CallLogsQuerySchema>

export const CallLogsReplySchema = Type.Object({
  calls: Type.Array(CallLogSchema, { description: 'Newest first' }),
  count: Type.Integer()
})
export type CallLogsReply = Static<typeof CallLogsReplySchema>

export const StopCallReplySchema = Type.Object({
  id: Uuid,
  execution_id: Type.String(),
  status: Type.Literal('stopped'),
  mode: ModeSchema
})
export type StopCallReply = Static<typeof StopCallReplySchema>

export const CallStatsSchema = Type.Object({
  total: Type.Integer(),
  in_progress: Type.Integer({ description: 'Not yet at a final status' }),
  completed: Type.Integer(),
  answered: Type.Integer({ description: 'Completed and answered by a person (not voicemail)' }),
  voicemail: Type.Integer(),
  not_answered: Type.Integer({ description: 'busy or no-answer' }),
  failed: Type.Integer({ description: 'Refused by Bolna, or ended failed / error / balance-low' }),
  errors: Type.Integer({ description: 'Provider errors only: refused by Bolna, or ended error / balance-low' }),
  outcomes: Type.Object({
    busy: Type.Integer(),
    'no-answer': Type.Integer(),
    unreachable: Type.Integer({ description: 'Dialled, and the call failed to connect' }),
    canceled: Type.Integer(),
    stopped: Type.Integer()
  }, { description: 'Business outcomes: Bolna placed or handled the call and reported how it ended' }),
  answer_rate: Nullable(Type.Number({ description: 'answered ÷ calls dialed to a final status (completed, busy, no-answer, failed, error); null before any' })),
  avg_duration_seconds: Nullable(Type.Number({ description: 'Over completed calls' })),
  total_duration_seconds: Type.Number(),
  total_cost: Type.Number({ description: 'Cents, as Bolna reports total_cost' }),
  avg_cost: Nullable(Type.Number({ description: 'Cents, over completed calls' })),
  by_status: Type.Record(Type.String(), Type.Integer()),
  by_mode: Type.Record(Type.String(), Type.Integer()),
  last_24h: Type.Integer()
})
export type CallStats = Static<typeof CallStatsSchema>

export const ScriptSchema = Type.Object({
  script_id: Type.String({ description: 'What make_call takes as script_id' }),
  agent_id: Type.String(),
  name: Type.String(),
  welcome_message: Nullable(Type.String()),
  prompt: Nullable(Type.String()),
  variables: Type.Array(Type.String(), { description: 'The {variables} the script uses (pass them in user_data)' })
})
export const ScriptsReplySchema = Type.Object({
  mode: ModeSchema,
  scripts: Type.Array(ScriptSchema)
})
export type ScriptsReply = Static<typeof ScriptsReplySchema>

export const BolnaWebhookReplySchema = Type.Object({
  received: Type.Literal(true),
  duplicate: Type.Boolean({ description: 'True when this (execution id, status) was already received; nothing changes then' })
})
