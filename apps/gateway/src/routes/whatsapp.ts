import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { BatchIdParamsSchema, BatchProgressSchema, errorResponses } from '@switchboard/schemas/common'
import {
  BulkMessagesReplySchema, BulkMessagesRequestSchema, CampaignIdParamsSchema, CampaignSchema, CreateCampaignRequestSchema,
  InboundMessagesQuerySchema, InboundMessagesReplySchema, MessageIdParamsSchema, SendMessageReplySchema, SimulateInboundReplySchema, SimulateInboundRequestSchema, SendMessageRequestSchema, TemplatesReplySchema, WhatsAppLogSchema, WhatsAppStatsSchema
} from '@switchboard/schemas/whatsapp'
import { rawBody } from './raw-body.ts'

const tags = ['whatsapp']
const security = [{ apiToken: [] }]

/** The spec's WhatsApp routes: validated here with the shared schemas, then forwarded to the whatsapp service. */
export const whatsappRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/api/automation/trigger/whatsapp', {
    config: { idempotent: true },
    schema: { tags, security, summary: 'Send one WhatsApp template message (send_message)', body: SendMessageRequestSchema, response: { 202: SendMessageReplySchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'whatsapp', '/messages'))

  app.post('/api/automation/trigger/whatsapp/bulk', {
    config: { idempotent: true },
    bodyLimit: 8 * 1024 * 1024,
    schema: { tags, security, summary: 'Send a template to up to 1,000 contacts, concurrently (send_bulk_messages): every result (200), or, when the sends outlast BULK_WAIT_MS, 202 with the batch id while they go on', body: BulkMessagesRequestSchema, response: { 200: BulkMessagesReplySchema, 202: BatchProgressSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'whatsapp', '/messages/bulk'))

  app.get('/api/automation/whatsapp/bulk/:id', {
    schema: { tags, security, summary: 'A bulk send\'s progress (its batch_id from the bulk reply)', params: BatchIdParamsSchema, response: { 200: BatchProgressSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'whatsapp', `/messages/bulk/${request.params.id}`))

  app.post('/api/automation/whatsapp/bulk/:id/retry', {
    config: { idempotent: true },
    schema: { tags, security, summary: 'Send a bulk send\'s unknown and failed contacts again (202 with its progress)', params: BatchIdParamsSchema, response: { 202: BatchProgressSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'whatsapp', `/messages/bulk/${request.params.id}/retry`))

  app.post('/api/automation/whatsapp/campaigns', {
    config: { idempotent: true },
    bodyLimit: 64 * 1024 * 1024,
    schema: { tags, security, summary: 'Create a campaign; it runs in the background (create_campaign)', body: CreateCampaignRequestSchema, response: { 202: CampaignSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'whatsapp', '/campaigns'))

  app.get('/api/automation/whatsapp/campaigns/:id', {
    schema: { tags, security, summary: 'A campaign\'s progress and delivery counts', params: CampaignIdParamsSchema, response: { 200: CampaignSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'whatsapp', `/campaigns/${request.params.id}`))

  app.post('/api/automation/whatsapp/campaigns/:id/stop', {
    schema: { tags, security, summary: 'Stop a campaign: contacts not yet sent become stopped; those in flight finish', params: CampaignIdParamsSchema, response: { 200: CampaignSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'whatsapp', `/campaigns/${request.params.id}/stop`))

  app.post('/api/automation/whatsapp/campaigns/:id/retry', {
    config: { idempotent: true },
    schema: { tags, security, summary: 'Send a campaign\'s unknown and failed contacts again', params: CampaignIdParamsSchema, response: { 202: CampaignSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'whatsapp', `/campaigns/${request.params.id}/retry`))

  app.get('/api/automation/whatsapp/stats', {
    schema: { tags, security, summary: 'WhatsApp statistics (get_whatsapp_stats)', response: { 200: WhatsAppStatsSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'whatsapp', '/stats'))

  app.get('/api/automation/whatsapp/templates', {
    schema: { tags, security, summary: 'The template catalogue (get_templates): configuration, as AiSensy has no listing API', response: { 200: TemplatesReplySchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'whatsapp', '/templates'))

  app.get('/api/automation/whatsapp/messages/:id', {
    schema: { tags, security, summary: 'One WhatsApp message and its delivery status', params: MessageIdParamsSchema, response: { 200: WhatsAppLogSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'whatsapp', `/messages/${request.params.id}`))

  app.get('/api/automation/whatsapp/inbound', {
    schema: { tags, security, summary: 'Messages customers sent to the business number (crm_messages, inbound), newest first', querystring: InboundMessagesQuerySchema, response: { 200: InboundMessagesReplySchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'whatsapp', '/inbound'))

  app.post('/api/admin/whatsapp/inbound', {
    schema: { tags, security: [{ adminToken: [] }], summary: 'Emulator: a customer\'s WhatsApp message to the business number, delivered in AiSensy\'s inbound format (mock mode)', body: SimulateInboundRequestSchema, response: { 202: SimulateInboundReplySchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'whatsapp', '/admin/inbound'))

  await app.register(async (webhooks) => {
    rawBody(webhooks)
    webhooks.post('/api/webhooks/whatsapp/aisensy/:token', {
      schema: {
        tags,
        summary: 'AiSensy project webhook (message status, inbound messages), authenticated by the secret token in its URL: set this URL in AiSensy\'s dashboard',
        params: Type.Object({ token: Type.String({ maxLength: 200 }) }),
        response: { 200: Type.Object({ received: Type.Integer(), applied: Type.Integer(), duplicate: Type.Integer(), ignored: Type.Integer() }), ...errorResponses }
      }
    }, (request, reply) => app.forward(request, reply, 'whatsapp', `/webhooks/aisensy/${encodeURIComponent((request.params as { token: string }).token)}`))
  })
}
