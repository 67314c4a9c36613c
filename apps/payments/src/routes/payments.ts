import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '@switchboard/schemas/common'
import {
  amountAsText, CreatePaymentLinkRequestSchema, ListPaymentLinksQuerySchema, PaymentLinkIdParamsSchema, PaymentLinkListSchema, PaymentLinkSchema,
  PaymentStatsSchema, ResendPaymentLinkReplySchema, ResendPaymentLinkRequestSchema, SimulatePaymentReplySchema, SimulatePaymentRequestSchema
} from '@switchboard/schemas/payments'
import { callContext } from '@switchboard/service-kit/provider-clients'
import type { PaymentService } from '../service/payment-service.ts'

/** The payments service's own API: validate → one service call → reply. */
export const paymentRoutes: FastifyPluginAsyncTypebox<{ service: PaymentService }> = async (app, { service }) => {
  // simulate and resend take an optional body: an empty POST means "the defaults".
  const emptyBodyIsDefaults = async (request: { body: unknown }) => { request.body ??= {} }

  app.post('/payment-links', {
    config: { idempotent: true },
    preValidation: amountAsText,
    schema: {
      summary: 'create_payment_link(amount, purpose, buyer_name, email, phone)',
      body: CreatePaymentLinkRequestSchema,
      response: { 201: PaymentLinkSchema, 200: PaymentLinkSchema, ...errorResponses }
    }
  }, async (request, reply) => {
    const link = await service.createPaymentLink(request.body, callContext(request))
    return reply.code(201).send(link)
  })

  app.get('/payment-links', {
    schema: { summary: 'Payment links, newest first', querystring: ListPaymentLinksQuerySchema, response: { 200: PaymentLinkListSchema, ...errorResponses } }
  }, async (request) => service.listPaymentLinks(request.query))

  app.get('/payment-stats', {
    schema: { summary: 'get_payment_stats()', response: { 200: PaymentStatsSchema, ...errorResponses } }
  }, async () => service.getPaymentStats())

  app.get('/payment-links/:id', {
    schema: { summary: 'get_payment_status(payment_id)', params: PaymentLinkIdParamsSchema, response: { 200: PaymentLinkSchema, ...errorResponses } }
  }, async (request) => service.getPaymentStatus(request.params.id, callContext(request)))

  app.post('/payment-links/:id/simulate', {
    config: { idempotent: true },
    preValidation: emptyBodyIsDefaults,
    schema: { summary: 'simulate_payment_completion(payment_id, success_rate) — mock mode only', params: PaymentLinkIdParamsSchema, body: SimulatePaymentRequestSchema, response: { 200: SimulatePaymentReplySchema, ...errorResponses } }
  }, async (request) => service.simulatePaymentCompletion(request.params.id, request.body, callContext(request)))

  app.post('/payment-links/:id/resend', {
    config: { idempotent: true },
    preValidation: emptyBodyIsDefaults,
    schema: { summary: 'Send the link to the buyer again (email and WhatsApp)', params: PaymentLinkIdParamsSchema, body: ResendPaymentLinkRequestSchema, response: { 200: ResendPaymentLinkReplySchema, ...errorResponses } }
  }, async (request) => service.resendPaymentLink(request.params.id, request.body, callContext(request)))
}
