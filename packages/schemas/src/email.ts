import { Type, type Static } from '@sinclair/typebox'
import { ModeSchema, Nullable, Timestamp, Uuid } from './common.ts'

// Field names follow the spec's method parameters (send_email(to_email, subject, content), ...)
// so code written against the spec maps one to one.

const EmailAddress = Type.String({ format: 'email', maxLength: 320 })

export const SendEmailRequestSchema = Type.Object({
  to_email: EmailAddress,
  subject: Type.String({ minLength: 1, maxLength: 998 }),
  content: Type.String({ minLength: 1, maxLength: 1_000_000 }),
  content_type: Type.Optional(Type.Union([Type.Literal('text/plain'), Type.Literal('text/html')], { default: 'text/html' })),
  from_email: Type.Optional(EmailAddress),
  from_name: Type.Optional(Type.String({ maxLength: 256 }))
}, { additionalProperties: false })
export type SendEmailRequest = Static<typeof SendEmailRequestSchema>

export const EmailLogSchema = Type.Object({
  id: Uuid,
  mode: ModeSchema,
  fallback: Type.Boolean(),
  to_email: Type.String(),
  subject: Nullable(Type.String()),
  status: Type.String({ description: 'queued, sent, failed, processed, delivered, deferred, bounced, dropped, opened, clicked, ...' }),
  provider_message_id: Nullable(Type.String()),
  error: Nullable(Type.String()),
  latency_ms: Nullable(Type.Integer()),
  batch_id: Nullable(Type.String()),
  request_id: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp
})
export type EmailLog = Static<typeof EmailLogSchema>

export const SendEmailReplySchema = Type.Object({
  success: Type.Literal(true),
  id: Uuid,
  status: Type.String(),
  provider_message_id: Type.String(),
  mode: ModeSchema,
  latency_ms: Type.Integer()
})
export type SendEmailReply = Static<typeof SendEmailReplySchema>

export const BulkEmailRequestSchema = Type.Object({
  email_list: Type.Array(Type.Object({
    to_email: EmailAddress,
    subject: Type.String({ minLength: 1, maxLength: 998 }),
    content: Type.String({ minLength: 1, maxLength: 100_000 }),
    content_type: Type.Optional(Type.Union([Type.Literal('text/plain'), Type.Literal('text/html')]))
  }, { additionalProperties: false }), { minItems: 1, maxItems: 50_000 }),
  from_email: Type.Optional(EmailAddress),
  from_name: Type.Optional(Type.String({ maxLength: 256 }))
}, { additionalProperties: false })
export type BulkEmailRequest = Static<typeof BulkEmailRequestSchema>

export const BulkEmailReplySchema = Type.Object({
  batch_id: Uuid,
  mode: ModeSchema,
  total: Type.Integer(),
  accepted: Type.Integer(),
  failed: Type.Integer(),
  requests: Type.Integer({ description: 'Provider requests made (up to 1,000 recipients each)' }),
  duration_ms: Type.Integer(),
  failures: Type.Array(Type.Object({ to_email: Type.String(), error: Type.String() }), { description: 'At most 100 listed' })
})
export type BulkEmailReply = Static<typeof BulkEmailReplySchema>

export const EmailStatsSchema = Type.Object({
  total: Type.Integer(),
  sent: Type.Integer({ description: 'Accepted by the provider (whatever happened next)' }),
  failed: Type.Integer({ description: 'Rejected by the provider, or bounced/dropped afterwards' }),
  errors: Type.Integer({ description: 'Provider errors only: refused by SendGrid or failed to reach it. Bounces and drops are outcomes, not errors' }),
  outcomes: Type.Object({ bounced: Type.Integer(), dropped: Type.Integer() }, { description: 'Business outcomes: SendGrid accepted the email and reported what happened at the recipient\'s end' }),
  delivered: Type.Integer(),
  success_rate: Type.Number({ description: 'Share of sends without a provider error, 0..1 (a bounce is an outcome, not a failure)' }),
  avg_latency_ms: Nullable(Type.Number()),
  by_status: Type.Record(Type.String(), Type.Integer()),
  by_mode: Type.Record(Type.String(), Type.Integer()),
  last_24h: Type.Integer()
})
export type EmailStats = Static<typeof EmailStatsSchema>

export const ValidateTemplateRequestSchema = Type.Object({
  template_data: Type.Object({
    subject: Type.Optional(Type.String()),
    html: Type.Optional(Type.String()),
    text: Type.Optional(Type.String()),
    from_email: Type.Optional(Type.String()),
    data: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Values for the {{placeholders}}' }))
  })
}, { additionalProperties: false })
export type ValidateTemplateRequest = Static<typeof ValidateTemplateRequestSchema>

export const ValidateTemplateReplySchema = Type.Object({
  valid: Type.Boolean(),
  errors: Type.Array(Type.Object({ field: Type.String(), message: Type.String() })),
  warnings: Type.Array(Type.Object({ field: Type.String(), message: Type.String() })),
  placeholders: Type.Array(Type.String()),
  size_bytes: Type.Integer()
})
export type ValidateTemplateReply = Static<typeof ValidateTemplateReplySchema>

export const EmailIdParamsSchema = Type.Object({ id: Uuid })
