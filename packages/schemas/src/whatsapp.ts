import { Type, type Static } from '@sinclair/typebox'
import { JobContactsSchema, ModeSchema, Nullable, Timestamp, Uuid } from './common.ts'

// Field names follow the spec's method parameters: send_message(to_number, template_name, params),
// send_bulk_messages(contacts, template_name), create_campaign(name, contacts, template_name).

const PhoneNumber = Type.String({
  minLength: 7,
  maxLength: 32,
  pattern: '^\\+?[0-9(][0-9 ()./-]*$',
  description: 'E.164 (+919876543210) or an Indian number (9876543210, 09876543210, 919876543210, 98765-43210); +91 is assumed when no country code is given',
  examples: ['+919876543210']
})
const TemplateName = Type.String({ minLength: 1, maxLength: 200, description: 'A template of the catalogue (GET /api/automation/whatsapp/templates)', examples: ['welcome_message'] })
const TemplateParams = Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { maxItems: 20, description: 'Values for {{1}}, {{2}}, … in order; as many as the template takes' })
const ContactName = Type.String({ minLength: 1, maxLength: 256 })

export const MediaSchema = Type.Object({
  url: Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048, description: 'A publicly reachable file' }),
  filename: Type.Optional(Type.String({ minLength: 1, maxLength: 255 }))
}, { additionalProperties: false })

export const SendMessageRequestSchema = Type.Object({
  to_number: PhoneNumber,
  template_name: TemplateName,
  params: Type.Optional(TemplateParams),
  contact_name: Type.Optional(ContactName),
  media: Type.Optional(MediaSchema)
}, { additionalProperties: false })
export type SendMessageRequest = Static<typeof SendMessageRequestSchema>

export const SendMessageReplySchema = Type.Object({
  success: Type.Literal(true),
  id: Uuid,
  status: Type.String({ description: 'submitted: AiSensy accepted it; the status webhook moves it to sent, delivered, read or failed' }),
  provider_message_id: Type.String({ description: 'AiSensy\'s submitted_message_id' }),
  to_number: Type.String({ description: 'The number as sent, in E.164' }),
  template_name: Type.String(),
  mode: ModeSchema,
  latency_ms: Type.Integer()
})
export type SendMessageReply = Static<typeof SendMessageReplySchema>

export const ContactSchema = Type.Object({
  to_number: PhoneNumber,
  name: Type.Optional(ContactName),
  params: Type.Optional(TemplateParams)
}, { additionalProperties: false })
export type Contact = Static<typeof ContactSchema>

export const BulkMessagesRequestSchema = Type.Object({
  contacts: Type.Array(ContactSchema, { minItems: 1, maxItems: 1000, description: 'Up to 1,000; use a campaign for more' }),
  template_name: TemplateName
}, { additionalProperties: false })
export type BulkMessagesRequest = Static<typeof BulkMessagesRequestSchema>

export const BulkMessagesReplySchema = Type.Object({
  batch_id: Type.String({ format: 'uuid', description: 'The bulk send, as GET /api/automation/whatsapp/bulk/{batch_id} reads it' }),
  mode: ModeSchema,
  template_name: Type.String(),
  total: Type.Integer(),
  accepted: Type.Integer(),
  failed: Type.Integer(),
  duration_ms: Type.Integer(),
  results: Type.Array(Type.Object({
    to_number: Type.String(),
    id: Nullable(Type.String({ format: 'uuid', description: 'The message row; null for a contact whose send is unknown (its worker died) or stopped' })),
    status: Type.String(),
    provider_message_id: Nullable(Type.String()),
    error: Nullable(Type.String())
  }), { description: 'One per contact, in the order given' })
})
export type BulkMessagesReply = Static<typeof BulkMessagesReplySchema>

export const CreateCampaignRequestSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  contacts: Type.Array(ContactSchema, { minItems: 1, maxItems: 50_000 }),
  template_name: TemplateName
}, { additionalProperties: false })
export type CreateCampaignRequest = Static<typeof CreateCampaignRequestSchema>

export const CampaignSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  template_name: Type.String(),
  mode: ModeSchema,
  status: Type.String({ description: 'running (stopping) while contacts are pending or in flight; then completed, completed_with_errors (some failed or unknown), stopped or failed' }),
  total: Type.Integer(),
  processed: Type.Integer({ description: 'Contacts attempted so far' }),
  progress: Type.Number({ description: 'processed / total, 0..1' }),
  sent: Type.Integer({ description: 'Accepted by AiSensy (whatever happened next)' }),
  failed: Type.Integer({ description: 'Refused, or failed after sending' }),
  delivered: Type.Integer({ description: 'Delivered (read included)' }),
  read: Type.Integer(),
  contacts: JobContactsSchema,
  error: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
  completed_at: Nullable(Timestamp)
})
export type Campaign = Static<typeof CampaignSchema>

export const CampaignIdParamsSchema = Type.Object({ id: Uuid })

export const WhatsAppStatsSchema = Type.Object({
  total: Type.Integer(),
  sent: Type.Integer({ description: 'Accepted by AiSensy (whatever happened next)' }),
  failed: Type.Integer(),
  errors: Type.Integer({ description: 'Provider errors only: refused by AiSensy (or an invalid number), or AiSensy unreachable' }),
  outcomes: Type.Object({ undelivered: Type.Integer({ description: 'Accepted by AiSensy, later reported failed (the number cannot receive it)' }) }),
  delivered: Type.Integer({ description: 'Delivered (read included)' }),
  read: Type.Integer(),
  success_rate: Type.Number({ description: 'Share of messages without a provider error, 0..1 (undelivered is an outcome, not an error)' }),
  delivery_rate: Type.Number({ description: 'delivered / sent, 0..1' }),
  read_rate: Type.Number({ description: 'read / delivered, 0..1' }),
  avg_latency_ms: Nullable(Type.Number()),
  by_status: Type.Record(Type.String(), Type.Integer()),
  by_mode: Type.Record(Type.String(), Type.Integer()),
  by_template: Type.Record(Type.String(), Type.Integer()),
  last_24h: Type.Integer(),
  campaigns: Type.Object({ total: Type.Integer(), running: Type.Integer(), completed: Type.Integer() })
})
export type WhatsAppStats = Static<typeof WhatsAppStatsSchema>

export const TemplatesReplySchema = Type.Object({
  source: Type.Literal('configuration'),
  note: Type.String(),
  templates: Type.Array(Type.Object({
    name: Type.String(),
    campaign_name: Type.String(),
    language: Type.String(),
    category: Type.String(),
    body: Type.String(),
    params: Type.Integer({ description: 'How many params a send must give' }),
    header: Type.String(),
    button: Nullable(Type.String()),
    default_params: Nullable(Type.Array(Type.String()))
  }))
})
export type TemplatesReply = Static<typeof TemplatesReplySchema>

export const WhatsAppLogSchema = Type.Object({
  id: Uuid,
  mode: ModeSchema,
  fallback: Type.Boolean(),
  campaign_id: Nullable(Type.String()),
  to_number: Type.String(),
  contact_name: Nullable(Type.String()),
  template_name: Type.String(),
  params: Type.Array(Type.String()),
  status: Type.String({ description: 'submitted, sent, delivered, read, failed' }),
  provider_message_id: Nullable(Type.String()),
  error: Nullable(Type.String()),
  error_code: Nullable(Type.String()),
  latency_ms: Nullable(Type.Integer()),
  request_id: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp
})
export type WhatsAppLog = Static<typeof WhatsAppLogSchema>

export const MessageIdParamsSchema = Type.Object({ id: Uuid })

/** One message a customer sent to the business number (a crm_messages row, direction inbound). */
export const InboundMessageSchema = Type.Object({
  id: Uuid,
  mode: ModeSchema,
  channel: Type.Literal('whatsapp'),
  direction: Type.Literal('inbound'),
  contact: Type.String({ description: 'The sender, E.164 when it normalises' }),
  contact_name: Nullable(Type.String()),
  content: Nullable(Type.String({ description: 'The text; for media, its type and URL' })),
  status: Type.String({ description: 'received' }),
  provider_message_id: Nullable(Type.String({ description: 'AiSensy\'s id for the inbound message' })),
  created_at: Timestamp,
  updated_at: Timestamp
}, { additionalProperties: true })
export const InboundMessagesQuerySchema = Type.Object({
  contact: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'Only this sender (any form normalizePhone takes)' })),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 })
})
export const InboundMessagesReplySchema = Type.Object({ items: Type.Array(InboundMessageSchema) })
export type InboundMessagesReply = Static<typeof InboundMessagesReplySchema>

/** Emulator control: a customer's message to the business number, delivered as AiSensy would. */
export const SimulateInboundRequestSchema = Type.Object({
  from: Type.String({ minLength: 1, maxLength: 32, description: 'The customer\'s number, e.g. +919876543210' }),
  text: Type.String({ minLength: 1, maxLength: 4096 }),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 }))
})
export const SimulateInboundReplySchema = Type.Object({
  delivered_to: Type.Literal('webhook'),
  notification_id: Type.String(),
  provider_message_id: Type.String()
})
