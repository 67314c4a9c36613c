import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BatchIdParamsSchema, BatchProgressSchema, errorResponses } from '@switchboard/schemas/common'
import {
  BulkMessagesReplySchema, BulkMessagesRequestSchema, CampaignIdParamsSchema, CampaignSchema, CreateCampaignRequestSchema,
  InboundMessagesQuerySchema, InboundMessagesReplySchema, MessageIdParamsSchema, SendMessageReplySchema, SendMessageRequestSchema, TemplatesReplySchema, WhatsAppLogSchema, WhatsAppStatsSchema
} from '@switchboard/schemas/whatsapp'
import { callContext } from '@switchboard/service-kit/provider-clients'
import type { InboundMessages } from '../service/inbound-messages.ts'
import type { WhatsAppService } from '../service/whatsapp-service.ts'

/** The WhatsApp service's own API: validate → one service call → reply. */
export const whatsappRoutes: FastifyPluginAsyncTypebox<{ service: WhatsAppService, inbound: InboundMessages }> = async (app, { service, inbound }) => {
  app.post('/messages', {
    config: { idempotent: true },
    schema: { summary: 'send_message(to_number, template_name, params)', body: SendMessageRequestSchema, response: { 202: SendMessageReplySchema, ...errorResponses } }
  }, async (request, reply) => reply.code(202).send(await service.sendMessage(request.body, callContext(request))))

  app.post('/messages/bulk', {
    config: { idempotent: true },
    schema: { summary: 'send_bulk_messages(contacts, template_name): every result (200), or the batch\'s progress (202) when it outlasts BULK_WAIT_MS', body: BulkMessagesRequestSchema, response: { 200: BulkMessagesReplySchema, 202: BatchProgressSchema, ...errorResponses } },
    bodyLimit: 8 * 1024 * 1024
  }, async (request, reply) => {
    const outcome = await service.sendBulkMessages(request.body, callContext(request))
    return outcome.done ? reply.code(200).send(outcome.reply) : reply.code(202).send(outcome.progress)
  })

  app.get('/messages/bulk/:id', {
    schema: { summary: 'A bulk send\'s progress', params: BatchIdParamsSchema, response: { 200: BatchProgressSchema, ...errorResponses } }
  }, async (request) => service.getBulk(request.params.id))

  app.post('/messages/bulk/:id/retry', {
    config: { idempotent: true },
    schema: { summary: 'Send a bulk send\'s unknown and failed contacts again', params: BatchIdParamsSchema, response: { 202: BatchProgressSchema, ...errorResponses } }
  }, async (request, reply) => reply.code(202).send(await service.retryBulk(request.params.id, callContext(request))))

  app.post('/campaigns', {
    config: { idempotent: true },
    schema: { summary: 'create_campaign(name, contacts, template_name): runs in the background', body: CreateCampaignRequestSchema, response: { 202: CampaignSchema, ...errorResponses } },
    bodyLimit: 64 * 1024 * 1024
  }, async (request, reply) => reply.code(202).send(await service.createCampaign(request.body, callContext(request))))

  app.get('/campaigns/:id', {
    schema: { summary: 'A campaign\'s progress and counts', params: CampaignIdParamsSchema, response: { 200: CampaignSchema, ...errorResponses } }
  }, async (request) => service.getCampaign(request.params.id))

  app.post('/campaigns/:id/stop', {
    schema: { summary: 'Stop a campaign: contacts not yet sent become stopped', params: CampaignIdParamsSchema, response: { 200: CampaignSchema, ...errorResponses } }
  }, async (request) => service.stopCampaign(request.params.id))

  app.post('/campaigns/:id/retry', {
    config: { idempotent: true },
    schema: { summary: 'Send a campaign\'s unknown and failed contacts again', params: CampaignIdParamsSchema, response: { 202: CampaignSchema, ...errorResponses } }
  }, async (request, reply) => reply.code(202).send(await service.retryCampaign(request.params.id, callContext(request))))

  app.get('/stats', {
    schema: { summary: 'get_whatsapp_stats()', response: { 200: WhatsAppStatsSchema, ...errorResponses } }
  }, async () => service.getWhatsAppStats())

  app.get('/templates', {
    schema: { summary: 'get_templates(): the configured catalogue (AiSensy has no listing API)', response: { 200: TemplatesReplySchema, ...errorResponses } }
  }, async () => service.getTemplates())

  app.get('/inbound', {
    schema: { summary: 'Messages customers sent to the business number, newest first', querystring: InboundMessagesQuerySchema, response: { 200: InboundMessagesReplySchema, ...errorResponses } }
  }, async (request) => inbound.list(request.query))

  app.get('/messages/:id', {
    schema: { summary: 'One message and its delivery status', params: MessageIdParamsSchema, response: { 200: WhatsAppLogSchema, ...errorResponses } }
  }, async (request) => service.getMessage(request.params.id))
}
