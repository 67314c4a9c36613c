import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BatchIdParamsSchema, BatchProgressSchema, errorResponses } from '@switchboard/schemas/common'
import {
  BulkEmailReplySchema, BulkEmailRequestSchema, EmailIdParamsSchema, EmailLogSchema, EmailStatsSchema,
  SendEmailReplySchema, SendEmailRequestSchema, ValidateTemplateReplySchema, ValidateTemplateRequestSchema
} from '@switchboard/schemas/email'
import { rawBody } from './raw-body.ts'

const tags = ['email']
const security = [{ apiToken: [] }]

/** The spec's email routes: validated here with the shared schemas, then forwarded. */
export const emailRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/api/automation/trigger/email', {
    config: { idempotent: true },
    schema: { tags, security, summary: 'Send one email', body: SendEmailRequestSchema, response: { 202: SendEmailReplySchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'email', '/emails'))

  app.post('/api/automation/trigger/email/batch', {
    config: { idempotent: true },
    bodyLimit: 64 * 1024 * 1024,
    schema: { tags, security, summary: 'Send many emails (up to 1,000 recipients per SendGrid request, sent concurrently): the totals (200), or, when the sends outlast BULK_WAIT_MS, 202 with the batch id while they go on', body: BulkEmailRequestSchema, response: { 200: BulkEmailReplySchema, 202: BatchProgressSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'email', '/emails/batch'))

  app.get('/api/automation/email/batch/:id', {
    schema: { tags, security, summary: 'A bulk send\'s progress (its batch_id from the bulk reply)', params: BatchIdParamsSchema, response: { 200: BatchProgressSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'email', `/emails/batch/${request.params.id}`))

  app.post('/api/automation/email/batch/:id/retry', {
    config: { idempotent: true },
    schema: { tags, security, summary: 'Send a bulk send\'s unknown and failed recipients again (202 with its progress)', params: BatchIdParamsSchema, response: { 202: BatchProgressSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'email', `/emails/batch/${request.params.id}/retry`))

  app.get('/api/automation/email/stats', {
    schema: { tags, security, summary: 'Email statistics', response: { 200: EmailStatsSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'email', '/emails/stats'))

  app.post('/api/automation/email/templates/validate', {
    schema: { tags, security, summary: 'Check a template: required parts, placeholders, size', body: ValidateTemplateRequestSchema, response: { 200: ValidateTemplateReplySchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'email', '/emails/templates/validate'))

  app.get('/api/automation/email/:id', {
    schema: { tags, security, summary: 'One email and its delivery status', params: EmailIdParamsSchema, response: { 200: EmailLogSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'email', `/emails/${request.params.id}`))

  await app.register(async (webhooks) => {
    rawBody(webhooks)
    webhooks.post('/api/webhooks/email/sendgrid', {
      schema: { tags, summary: 'SendGrid Event Webhook (authenticated by its ECDSA signature, not a token)' }
    }, (request, reply) => app.forward(request, reply, 'email', '/webhooks/sendgrid'))
  })
}
