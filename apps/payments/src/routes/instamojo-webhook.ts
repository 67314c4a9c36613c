import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '@switchboard/schemas/common'
import { PaymentWebhookReplySchema } from '@switchboard/schemas/payments'
import { appError } from '@switchboard/service-kit/errors'
import type { PaymentService } from '../service/payment-service.ts'

/**
 * process_webhook(webhook_data): Instamojo's form-encoded webhook. The body is read raw (the MAC
 * covers the decoded values of exactly what was sent) and parsed only by the service.
 */
export const instamojoWebhookRoutes: FastifyPluginAsyncTypebox<{ service: PaymentService }> = async (app, { service }) => {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 64 * 1024 }, (_request, body, done) => done(null, body))

  app.post('/webhooks/instamojo', {
    schema: { summary: 'process_webhook(webhook_data): Instamojo webhook receiver (MAC-signed, form-encoded)', response: { 200: PaymentWebhookReplySchema, ...errorResponses } }
  }, async (request) => {
    const raw = request.body as unknown
    const type = String(request.headers['content-type'] ?? '')
    if (!type.startsWith('application/x-www-form-urlencoded')) {
      throw appError('PAYMENTS_UNSUPPORTED_MEDIA_TYPE', 'Instamojo webhooks are application/x-www-form-urlencoded.')
    }
    return service.processWebhook(Buffer.isBuffer(raw) ? raw : Buffer.alloc(0))
  })
}
