import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '@switchboard/schemas/common'
import {
  amountAsText, CreatePaymentLinkRequestSchema, ListPaymentLinksQuerySchema, PaymentLinkIdParamsSchema, PaymentLinkListSchema, PaymentLinkSchema,
  PaymentStatsSchema, PaymentWebhookReplySchema, ResendPaymentLinkReplySchema, ResendPaymentLinkRequestSchema, SimulatePaymentReplySchema,
  SimulatePaymentRequestSchema
} from '@switchboard/schemas/payments'
import { rawBody } from './raw-body.ts'

const tags = ['payments']
const security = [{ adminToken: [] }]
const query = (url: string) => { const i = url.indexOf('?'); return i < 0 ? '' : url.slice(i) }
// simulate and resend take an optional body: an empty POST means "the defaults". It is validated
// as {} here and forwarded empty, as it came.
const bodiless = new WeakSet<object>()
const emptyBodyIsDefaults = async (request: { body: unknown }) => {
  if (request.body === undefined || request.body === null) { bodiless.add(request); request.body = {} }
}
const forwardBody = (request: { body: unknown }) => { if (bodiless.has(request)) request.body = undefined }

/** The spec's payment routes: validated here with the shared schemas, then forwarded to the payments service. */
export const paymentsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/api/admin/payment-links', {
    config: { idempotent: true },
    preValidation: amountAsText,
    schema: {
      tags,
      security,
      summary: 'Create a payment link (create_payment_link)',
      body: CreatePaymentLinkRequestSchema,
      response: { 201: PaymentLinkSchema, 200: PaymentLinkSchema, ...errorResponses }
    }
  }, (request, reply) => app.forward(request, reply, 'payments', '/payment-links'))

  app.get('/api/admin/payment-links', {
    schema: { tags, security, summary: 'List payment links, newest first (limit/offset, status filter)', querystring: ListPaymentLinksQuerySchema, response: { 200: PaymentLinkListSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'payments', `/payment-links${query(request.url)}`))

  app.get('/api/admin/payment-links/:id', {
    schema: { tags, security, summary: 'One payment link and its status (get_payment_status)', params: PaymentLinkIdParamsSchema, response: { 200: PaymentLinkSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'payments', `/payment-links/${request.params.id}`))

  app.post('/api/admin/payment-links/:id/resend', {
    config: { idempotent: true },
    preValidation: emptyBodyIsDefaults,
    schema: { tags, security, summary: 'Send the link to the buyer again by email and WhatsApp', params: PaymentLinkIdParamsSchema, body: ResendPaymentLinkRequestSchema, response: { 200: ResendPaymentLinkReplySchema, ...errorResponses } }
  }, (request, reply) => { forwardBody(request); app.forward(request, reply, 'payments', `/payment-links/${request.params.id}/resend`) })

  app.post('/api/admin/payment-links/:id/simulate', {
    config: { idempotent: true },
    preValidation: emptyBodyIsDefaults,
    schema: { tags, security, summary: 'Simulate the buyer paying (simulate_payment_completion) — mock mode only', params: PaymentLinkIdParamsSchema, body: SimulatePaymentRequestSchema, response: { 200: SimulatePaymentReplySchema, ...errorResponses } }
  }, (request, reply) => { forwardBody(request); app.forward(request, reply, 'payments', `/payment-links/${request.params.id}/simulate`) })

  app.get('/api/admin/payment-stats', {
    schema: { tags, security, summary: 'Payment statistics (get_payment_stats)', response: { 200: PaymentStatsSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'payments', '/payment-stats'))

  await app.register(async (webhooks) => {
    rawBody(webhooks)
    webhooks.post('/api/webhooks/payment/webhook', {
      schema: { tags, summary: 'Instamojo payment webhook, form-encoded (authenticated by its MAC, not a token) — process_webhook', response: { 200: PaymentWebhookReplySchema, ...errorResponses } }
    }, (request, reply) => app.forward(request, reply, 'payments', '/webhooks/instamojo'))
  })
}
