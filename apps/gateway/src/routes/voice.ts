import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BatchIdParamsSchema, BatchProgressSchema, errorResponses } from '@switchboard/schemas/common'
import {
  BolnaWebhookReplySchema, BulkCallReplySchema, BulkCallRequestSchema, CallIdParamsSchema, CallLogSchema, CallLogsQuerySchema,
  CallLogsReplySchema, CallStatsSchema, CampaignIdParamsSchema, CampaignSchema, CreateCampaignRequestSchema, MakeCallReplySchema,
  MakeCallRequestSchema, ScriptsReplySchema, StopCallReplySchema
} from '@switchboard/schemas/voice'
import { rawBody } from './raw-body.ts'

const tags = ['voice']
const security = [{ apiToken: [] }]
const query = (url: string) => { const i = url.indexOf('?'); return i < 0 ? '' : url.slice(i) }

/** The spec's voice routes: validated here with the shared schemas, then forwarded to the voice service. */
export const voiceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/api/automation/trigger/call', {
    config: { idempotent: true },
    schema: { tags, security, summary: 'Make one call (make_call): answers once Bolna has queued it; the status then follows Bolna\'s webhooks', body: MakeCallRequestSchema, response: { 202: MakeCallReplySchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'voice', '/calls'))

  app.post('/api/automation/trigger/call/bulk', {
    config: { idempotent: true },
    schema: { tags, security, summary: 'Make up to 1,000 calls, placed concurrently (make_bulk_calls): every call once Bolna has answered for each (200), or, when that outlasts BULK_WAIT_MS, 202 with the batch id while they go on', body: BulkCallRequestSchema, response: { 200: BulkCallReplySchema, 202: BatchProgressSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'voice', '/calls/bulk'))

  app.get('/api/automation/call/bulk/:id', {
    schema: { tags, security, summary: 'A bulk batch\'s progress (its batch_id from the bulk reply)', params: BatchIdParamsSchema, response: { 200: BatchProgressSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'voice', `/calls/bulk/${request.params.id}`))

  app.post('/api/automation/call/bulk/:id/retry', {
    config: { idempotent: true },
    schema: { tags, security, summary: 'Call a bulk batch\'s unknown and failed contacts again (202 with its progress)', params: BatchIdParamsSchema, response: { 202: BatchProgressSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'voice', `/calls/bulk/${request.params.id}/retry`))

  app.post('/api/automation/call/campaigns', {
    config: { idempotent: true },
    bodyLimit: 16 * 1024 * 1024,
    schema: { tags, security, summary: 'Create a voice campaign (create_campaign): answers at once, the calls go out in the background', body: CreateCampaignRequestSchema, response: { 202: CampaignSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'voice', '/campaigns'))

  app.get('/api/automation/call/campaigns/:id', {
    schema: { tags, security, summary: 'A campaign (or a bulk batch) and its progress', params: CampaignIdParamsSchema, response: { 200: CampaignSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'voice', `/campaigns/${request.params.id}`))

  app.post('/api/automation/call/campaigns/:id/stop', {
    schema: { tags, security, summary: 'Stop a campaign (or a bulk batch): contacts not yet called become stopped; calls already placed go on to their end', params: CampaignIdParamsSchema, response: { 200: CampaignSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'voice', `/campaigns/${request.params.id}/stop`))

  app.post('/api/automation/call/campaigns/:id/retry', {
    config: { idempotent: true },
    schema: { tags, security, summary: 'Call a campaign\'s unknown and failed contacts again', params: CampaignIdParamsSchema, response: { 202: CampaignSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'voice', `/campaigns/${request.params.id}/retry`))

  app.get('/api/automation/call/status/:id', {
    schema: { tags, security, summary: 'One call and its status (get_call_status)', params: CallIdParamsSchema, response: { 200: CallLogSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'voice', `/calls/${request.params.id}`))

  app.post('/api/automation/call/:id/stop', {
    schema: { tags, security, summary: 'Stop a queued or scheduled call (Bolna cannot stop a call that has started)', params: CallIdParamsSchema, response: { 200: StopCallReplySchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'voice', `/calls/${request.params.id}/stop`))

  app.get('/api/automation/call/logs', {
    schema: { tags, security, summary: 'Call logs, newest first (get_call_logs)', querystring: CallLogsQuerySchema, response: { 200: CallLogsReplySchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'voice', `/calls${query(request.url)}`))

  app.get('/api/automation/call/stats', {
    schema: { tags, security, summary: 'Call statistics: totals by status, answer rate, duration, cost (get_call_stats)', response: { 200: CallStatsSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'voice', '/calls/stats'))

  app.get('/api/automation/call/scripts', {
    schema: { tags, security, summary: 'The scripts (Bolna agents) calls can use (get_available_scripts)', response: { 200: ScriptsReplySchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'voice', '/scripts'))

  await app.register(async (webhooks) => {
    rawBody(webhooks)
    webhooks.post('/api/webhooks/voice/bolna', {
      schema: { tags, summary: 'Bolna execution webhook (no token: accepted from Bolna\'s address, or with the emulator\'s signature)', response: { 200: BolnaWebhookReplySchema, ...errorResponses } }
    }, (request, reply) => app.forward(request, reply, 'voice', '/webhooks/bolna'))
  })
}
