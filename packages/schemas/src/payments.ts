import { Type, type Static } from '@sinclair/typebox'
import { ModeSchema, Nullable, Timestamp, Uuid } from './common.ts'

// Field names follow the spec's method parameters: create_payment_link(amount, purpose, buyer_name,
// email, phone), get_payment_status(payment_id), simulate_payment_completion(payment_id,
// success_rate), process_webhook(webhook_data).

/**
 * Amounts are exact decimal strings ("2500.00"), never floats. A payment link's amount may come as
 * a JSON number too, taken as its decimal text (amountAsText, before validation: bodies are not
 * type-coerced); Instamojo's range, 9.00 to 200000.00, is checked by the service.
 */
export const AmountSchema = Type.String({ pattern: '^[0-9]{1,6}(\\.[0-9]{1,2})?$', description: 'Rupees as a decimal string, 9.00 to 200000.00, at most two decimals', examples: ['2500.00'] })

/**
 * The one number a body may send as text: the README's own example sends `"amount": 1499`. A
 * preValidation hook of the payment-link routes, at the gateway and at the service, so both
 * answer the same; any other field of the wrong type is refused.
 */
export async function amountAsText (request: { body: unknown }): Promise<void> {
  const body = request.body as { amount?: unknown } | null | undefined
  if (body !== null && typeof body === 'object' && typeof body.amount === 'number' && Number.isFinite(body.amount)) body.amount = String(body.amount)
}

export const PaymentStatusSchema = Type.Union([Type.Literal('pending'), Type.Literal('paid'), Type.Literal('failed')], { description: 'pending: link created, not paid; paid: a payment succeeded; failed: the last payment failed (or the link could not be created)' })

export const CreatePaymentLinkRequestSchema = Type.Object({
  amount: AmountSchema,
  purpose: Type.String({ minLength: 1, maxLength: 30, description: 'What the payment is for (Instamojo allows 30 characters)' }),
  buyer_name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
  phone: Type.Optional(Type.String({ pattern: '^\\+?[0-9][0-9 -]{8,16}$', description: '10-digit Indian mobile number, optionally with +91' })),
  redirect_url: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://', description: 'Where the buyer lands after paying' })),
  send_email: Type.Optional(Type.Boolean({ description: 'Ask Instamojo to email the link (needs email)' })),
  send_sms: Type.Optional(Type.Boolean({ description: 'Ask Instamojo to text the link (needs phone)' }))
}, { additionalProperties: false })
export type CreatePaymentLinkRequest = Static<typeof CreatePaymentLinkRequestSchema>

export const PaymentLinkSchema = Type.Object({
  id: Uuid,
  mode: ModeSchema,
  status: Type.String({ description: 'pending, paid or failed' }),
  amount: Type.String({ description: 'Exact decimal, e.g. "2500.00"' }),
  currency: Type.String(),
  purpose: Type.String(),
  buyer_name: Nullable(Type.String()),
  email: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  payment_request_id: Nullable(Type.String({ description: 'Instamojo payment request id (32 hex)' })),
  payment_id: Nullable(Type.String({ description: 'Instamojo payment id (MOJO…) once a payment was made' })),
  longurl: Nullable(Type.String({ description: 'The link the buyer pays at' })),
  shorturl: Nullable(Type.String()),
  fees: Nullable(Type.String()),
  error: Nullable(Type.String()),
  error_code: Nullable(Type.String()),
  latency_ms: Nullable(Type.Integer()),
  request_id: Nullable(Type.String()),
  paid_at: Nullable(Timestamp),
  created_at: Timestamp,
  updated_at: Timestamp
})
export type PaymentLink = Static<typeof PaymentLinkSchema>

export const PaymentLinkIdParamsSchema = Type.Object({
  id: Type.String({ pattern: '^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-f]{32})$', title: 'a payment link\'s id (a uuid) or its Instamojo payment request id (32 hex digits)', description: 'Our link id (uuid) or the Instamojo payment request id (32 hex)' })
})

export const ListPaymentLinksQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  offset: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 0 }),
  status: Type.Optional(PaymentStatusSchema)
}, { additionalProperties: false })
export type ListPaymentLinksQuery = Static<typeof ListPaymentLinksQuerySchema>

export const PaymentLinkListSchema = Type.Object({
  items: Type.Array(PaymentLinkSchema),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer()
})
export type PaymentLinkList = Static<typeof PaymentLinkListSchema>

export const SimulatePaymentRequestSchema = Type.Object({
  success_rate: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Probability the payment succeeds; default: the service\'s success rate' })),
  outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure')], { description: 'Force the outcome instead of drawing it' }))
}, { additionalProperties: false })
export type SimulatePaymentRequest = Static<typeof SimulatePaymentRequestSchema>

export const SimulatePaymentReplySchema = Type.Object({
  id: Uuid,
  mode: ModeSchema,
  status: Type.String({ description: 'paid or failed' }),
  payment_request_id: Type.String(),
  payment_id: Type.String(),
  payment_status: Type.Union([Type.Literal('Credit'), Type.Literal('Failed')]),
  amount: Type.String(),
  fees: Nullable(Type.String()),
  failure: Nullable(Type.String()),
  latency_ms: Type.Integer()
})
export type SimulatePaymentReply = Static<typeof SimulatePaymentReplySchema>

export const ResendChannelSchema = Type.Union([Type.Literal('email'), Type.Literal('whatsapp')])
export const ResendPaymentLinkRequestSchema = Type.Object({
  channels: Type.Optional(Type.Array(ResendChannelSchema, { minItems: 1, uniqueItems: true, description: 'Default: every channel the buyer has (email, whatsapp)' }))
}, { additionalProperties: false })
export type ResendPaymentLinkRequest = Static<typeof ResendPaymentLinkRequestSchema>

export const ChannelResultSchema = Type.Object({
  status: Type.Union([Type.Literal('sent'), Type.Literal('failed'), Type.Literal('skipped')]),
  id: Type.Optional(Type.String({ description: 'The email or WhatsApp service\'s id for the message' })),
  error: Type.Optional(Type.String())
})
export const ResendPaymentLinkReplySchema = Type.Object({
  id: Uuid,
  longurl: Type.String(),
  sent: Type.Integer({ description: 'Channels that went out' }),
  channels: Type.Object({ email: Type.Optional(ChannelResultSchema), whatsapp: Type.Optional(ChannelResultSchema) })
})
export type ResendPaymentLinkReply = Static<typeof ResendPaymentLinkReplySchema>

export const PaymentStatsSchema = Type.Object({
  total: Type.Integer({ description: 'Links asked for, including ones Instamojo refused' }),
  created: Type.Integer({ description: 'Links Instamojo created' }),
  pending: Type.Integer(),
  paid: Type.Integer(),
  failed: Type.Integer(),
  errors: Type.Integer({ description: 'Links Instamojo refused or could not be asked for (provider errors)' }),
  outcomes: Type.Object({ declined: Type.Integer({ description: 'Payments the buyer attempted and that failed: an outcome, not an error' }) }),
  paid_amount: Type.String({ description: 'Sum of paid amounts, exact decimal' }),
  fees: Type.String({ description: 'Sum of Instamojo fees on paid links, exact decimal' }),
  conversion_rate: Type.Number({ description: 'Share of created links that were paid, 0..1' }),
  avg_latency_ms: Nullable(Type.Number()),
  by_status: Type.Record(Type.String(), Type.Integer()),
  by_mode: Type.Record(Type.String(), Type.Integer()),
  last_24h: Type.Integer()
})
export type PaymentStats = Static<typeof PaymentStatsSchema>

export const PaymentWebhookReplySchema = Type.Object({
  received: Type.Literal(true),
  payment_request_id: Type.String(),
  payment_id: Type.String(),
  status: Type.String({ description: 'Instamojo\'s status: Credit or Failed' }),
  applied: Type.Boolean({ description: 'false when it changed nothing (a replay, an older event, an unknown link)' }),
  reason: Type.Optional(Type.String())
})
export type PaymentWebhookReply = Static<typeof PaymentWebhookReplySchema>
