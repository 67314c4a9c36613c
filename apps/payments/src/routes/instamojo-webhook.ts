import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '@switchboard/schemas/common'
import { PaymentWebhookReplySchema } from '@switchboard/schemas/payments'
import { appError } from '@switchboard/service-kit/errors'
import { rawBodyOf, readRawBody } from '@switchboard/service-kit/webhook-receiver'
import { isFormEncoded } from '../instamojo-webhooks.ts'
import type { PaymentService } from '../service/payment-service.ts'

/**
 * process_webhook(webhook_data): Instamojo's form-encoded webhook. The body is read raw (the MAC
 * covers the decoded values of exactly what was sent) and parsed only by the service.
 */
export const instamojoWebhookRoutes: FastifyPluginAsyncTypebox<{ service: PaymentService }> = async (app, { service }) => {
  readRawBody(app, '*', { bodyLimit: 64 * 1024 })

  app.post('/webhooks/instamojo', {
    schema: { summary: 'process_webhook(webhook_data): Instamojo webhook receiver (MAC-signed, form-encoded)', response: { 200: PaymentWebhookReplySchema, ...errorResponses } }
  }, async (request) => {
    if (!isFormEncoded(request.headers['content-type'])) {
      throw appError('PAYMENTS_UNSUPPORTED_MEDIA_TYPE', 'Instamojo webhooks are application/x-www-form-urlencoded.')
    }
    return service.processWebhook(rawBodyOf(request) ?? Buffer.alloc(0))
  })
}
