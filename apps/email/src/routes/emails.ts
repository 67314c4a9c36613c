import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BatchIdParamsSchema, BatchProgressSchema, errorResponses } from '@switchboard/schemas/common'
import {
  BulkEmailReplySchema, BulkEmailRequestSchema, EmailIdParamsSchema, EmailLogSchema, EmailStatsSchema,
  SendEmailReplySchema, SendEmailRequestSchema, ValidateTemplateReplySchema, ValidateTemplateRequestSchema
} from '@switchboard/schemas/email'
import { callContext } from '@switchboard/service-kit/provider-clients'
import type { EmailService } from '../service/email-service.ts'
import { validateEmailTemplate } from '../service/template-validation.ts'

/** The email service's own API: validate → one service call → reply. */
export const emailRoutes: FastifyPluginAsyncTypebox<{ service: EmailService }> = async (app, { service }) => {
  app.post('/emails', {
    config: { idempotent: true },
    schema: { summary: 'send_email(to_email, subject, content)', body: SendEmailRequestSchema, response: { 202: SendEmailReplySchema, ...errorResponses } }
  }, async (request, reply) => reply.code(202).send(await service.sendEmail(request.body, callContext(request))))

  app.post('/emails/batch', {
    config: { idempotent: true },
    schema: { summary: 'send_bulk_emails(email_list): the totals (200), or the batch\'s progress (202) when it outlasts BULK_WAIT_MS', body: BulkEmailRequestSchema, response: { 200: BulkEmailReplySchema, 202: BatchProgressSchema, ...errorResponses } },
    bodyLimit: 64 * 1024 * 1024
  }, async (request, reply) => {
    const outcome = await service.sendBulkEmails(request.body, callContext(request))
    return outcome.done ? reply.code(200).send(outcome.reply) : reply.code(202).send(outcome.progress)
  })

  app.get('/emails/batch/:id', {
    schema: { summary: 'A bulk send\'s progress', params: BatchIdParamsSchema, response: { 200: BatchProgressSchema, ...errorResponses } }
  }, async (request) => service.getBatch(request.params.id))

  app.post('/emails/batch/:id/retry', {
    config: { idempotent: true },
    schema: { summary: 'Send a bulk send\'s unknown and failed recipients again', params: BatchIdParamsSchema, response: { 202: BatchProgressSchema, ...errorResponses } }
  }, async (request, reply) => reply.code(202).send(await service.retryBatch(request.params.id, callContext(request))))

  app.get('/emails/stats', {
    schema: { summary: 'get_email_stats()', response: { 200: EmailStatsSchema, ...errorResponses } }
  }, async () => service.getEmailStats())

  app.post('/emails/templates/validate', {
    schema: { summary: 'validate_email_template(template_data)', body: ValidateTemplateRequestSchema, response: { 200: ValidateTemplateReplySchema, ...errorResponses } }
  }, async (request) => validateEmailTemplate(request.body))

  app.get('/emails/:id', {
    schema: { summary: 'One email log row', params: EmailIdParamsSchema, response: { 200: EmailLogSchema, ...errorResponses } }
  }, async (request) => service.getEmail(request.params.id))
}
