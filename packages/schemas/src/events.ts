import { Type, type Static } from '@sinclair/typebox'
import { Nullable, StringEnum, Timestamp, Uuid } from './common.ts'

/** Every event type Switchboard sends to a team's endpoints, by service. */
export const EVENT_TYPES = [
  'email.delivered', 'email.bounced', 'email.dropped', 'email.deferred', 'email.opened', 'email.clicked',
  'email.spam_report', 'email.unsubscribed', 'email.failed',
  'whatsapp.sent', 'whatsapp.delivered', 'whatsapp.read', 'whatsapp.failed',
  'payment.paid', 'payment.failed',
  'call.completed', 'call.failed', 'call.no-answer', 'call.busy', 'call.canceled', 'call.balance-low', 'call.stopped', 'call.error',
  'meeting.started', 'meeting.ended', 'recording.completed'
] as const
export type EventType = typeof EVENT_TYPES[number]

const EventTypeSchema = StringEnum(EVENT_TYPES, { description: 'An event type' })
const Types = Type.Array(EventTypeSchema, { uniqueItems: true, maxItems: EVENT_TYPES.length, description: 'Event types to deliver; empty or absent: every type' })
const EndpointUrl = Type.String({ minLength: 8, maxLength: 2048, pattern: '^https?://', description: 'Where events are posted: loopback, or a host in WEBHOOK_ALLOWED_HOSTS' })
const Description = Type.String({ maxLength: 500 })

export const EventEndpointSchema = Type.Object({
  id: Uuid,
  url: Type.String(),
  types: Type.Array(Type.String()),
  description: Type.String(),
  enabled: Type.Boolean(),
  origin: StringEnum(['admin', 'env'] as const, { description: 'admin: created through the API or page; env: SWITCHBOARD_EVENTS_URL' }),
  created_at: Timestamp,
  updated_at: Timestamp
})
export type EventEndpoint = Static<typeof EventEndpointSchema>

export const EventEndpointCreatedSchema = Type.Composite([EventEndpointSchema, Type.Object({
  secret: Type.String({ description: 'The whsec_ signing secret. Shown in this answer only: keep it now, it is never shown again.' })
})])

export const EventEndpointCreateSchema = Type.Object({
  url: EndpointUrl,
  types: Type.Optional(Types),
  description: Type.Optional(Description),
  enabled: Type.Optional(Type.Boolean()),
  secret: Type.Optional(Type.String({ pattern: '^whsec_[A-Za-z0-9+/]+={0,2}$', maxLength: 200, description: 'Your own whsec_ secret (base64 key of at least 16 bytes); default: a new one' }))
}, { additionalProperties: false })
export type EventEndpointCreate = Static<typeof EventEndpointCreateSchema>

export const EventEndpointPatchSchema = Type.Object({
  url: Type.Optional(EndpointUrl),
  types: Type.Optional(Types),
  description: Type.Optional(Description),
  enabled: Type.Optional(Type.Boolean())
}, { additionalProperties: false, minProperties: 1 })
export type EventEndpointPatch = Static<typeof EventEndpointPatchSchema>

export const EventEndpointParamsSchema = Type.Object({ id: Uuid })

export const EventEndpointListSchema = Type.Object({ items: Type.Array(EventEndpointSchema), types: Type.Array(Type.String({ description: 'Every event type there is' })) })

export const EventDeliveriesQuerySchema = Type.Object({
  endpoint_id: Type.Optional(Uuid),
  type: Type.Optional(EventTypeSchema),
  status: Type.Optional(StringEnum(['pending', 'delivering', 'delivered', 'gave_up'] as const)),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 })
}, { additionalProperties: false })

export const EventDeliverySchema = Type.Object({
  id: Uuid,
  event_id: Type.String({ description: 'The webhook-id header: the same on every retry and every endpoint' }),
  type: Type.String(),
  endpoint_id: Type.String(),
  url: Type.String(),
  status: StringEnum(['pending', 'delivering', 'delivered', 'gave_up'] as const),
  attempts: Type.Integer(),
  last_error: Nullable(Type.String()),
  next_attempt_at: Nullable(Timestamp),
  last_attempt_at: Nullable(Timestamp),
  delivered_at: Nullable(Timestamp),
  gave_up_at: Nullable(Timestamp),
  created_at: Timestamp,
  data: Type.Unknown({ description: 'The event\'s data: the row as the journal shows it (Zoom: the meeting)' })
})
export const EventDeliveriesReplySchema = Type.Object({ items: Type.Array(EventDeliverySchema) })

export const EventEndpointDeletedSchema = Type.Object({ deleted: Type.Literal(true), id: Uuid })
