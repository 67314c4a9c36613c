import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BatchIdParamsSchema, BatchProgressSchema, errorResponses } from '@switchboard/schemas/common'
import {
  BulkCallReplySchema, BulkCallRequestSchema, CallIdParamsSchema, CallLogSchema, CallLogsQuerySchema, CallLogsReplySchema,
  CallStatsSchema, CampaignIdParamsSchema, CampaignSchema, CreateCampaignRequestSchema, MakeCallReplySchema, MakeCallRequestSchema,
  ScriptsReplySchema, StopCallReplySchema
} from '@switchboard/schemas/voice'
import { callContext } from '@switchboard/service-kit/provider-clients'
import type { VoiceService } from '../service/voice-service.ts'

/** The voice service's own API: validate → one service call → reply. */
export const voiceRoutes: FastifyPluginAsyncTypebox<{ service: VoiceService }> = async (app, { service }) => {
  app.post('/calls', {
    config: { idempotent: true },
    schema: { summary: 'make_call(to_number, script_id, agent_id)', body: MakeCallRequestSchema, response: { 202: MakeCallReplySchema, ...errorResponses } }
  }, async (request, reply) => reply.code(202).send(await service.makeCall(request.body, callContext(request))))

  app.post('/calls/bulk', {
    config: { idempotent: true },
    schema: { summary: 'make_bulk_calls(contacts, script_id): every call (200), or the batch\'s progress (202) when it outlasts BULK_WAIT_MS', body: BulkCallRequestSchema, response: { 200: BulkCallReplySchema, 202: BatchProgressSchema, ...errorResponses } }
  }, async (request, reply) => {
    const outcome = await service.makeBulkCalls(request.body, callContext(request))
    return outcome.done ? reply.code(200).send(outcome.reply) : reply.code(202).send(outcome.progress)
  })

  app.get('/calls/bulk/:id', {
    schema: { summary: 'A bulk batch\'s progress', params: BatchIdParamsSchema, response: { 200: BatchProgressSchema, ...errorResponses } }
  }, async (request) => service.getBulk(request.params.id))

  app.post('/calls/bulk/:id/retry', {
    config: { idempotent: true },
    schema: { summary: 'Call a bulk batch\'s unknown and failed contacts again', params: BatchIdParamsSchema, response: { 202: BatchProgressSchema, ...errorResponses } }
  }, async (request, reply) => reply.code(202).send(await service.retryBulk(request.params.id, callContext(request))))

  app.get('/calls', {
    schema: { summary: 'get_call_logs(limit, status)', querystring: CallLogsQuerySchema, response: { 200: CallLogsReplySchema, ...errorResponses } }
  }, async (request) => service.getCallLogs(request.query))

  app.get('/calls/stats', {
    schema: { summary: 'get_call_stats()', response: { 200: CallStatsSchema, ...errorResponses } }
  }, async () => service.getCallStats())

  app.get('/calls/:id', {
    schema: { summary: 'get_call_status(call_id)', params: CallIdParamsSchema, response: { 200: CallLogSchema, ...errorResponses } }
  }, async (request) => service.getCallStatus(request.params.id, callContext(request)))

  app.post('/calls/:id/stop', {
    schema: { summary: 'Stop a queued or scheduled call', params: CallIdParamsSchema, response: { 200: StopCallReplySchema, ...errorResponses } }
  }, async (request) => service.stopCall(request.params.id, callContext(request)))

  app.post('/campaigns', {
    config: { idempotent: true },
    schema: { summary: 'create_campaign(name, contacts, script_id)', body: CreateCampaignRequestSchema, response: { 202: CampaignSchema, ...errorResponses } },
    bodyLimit: 16 * 1024 * 1024
  }, async (request, reply) => reply.code(202).send(await service.createCampaign(request.body, callContext(request))))

  app.get('/campaigns/:id', {
    schema: { summary: 'A campaign and its progress', params: CampaignIdParamsSchema, response: { 200: CampaignSchema, ...errorResponses } }
  }, async (request) => service.getCampaign(request.params.id))

  app.post('/campaigns/:id/stop', {
    schema: { summary: 'Stop a campaign: contacts not yet called become stopped', params: CampaignIdParamsSchema, response: { 200: CampaignSchema, ...errorResponses } }
  }, async (request) => service.stopCampaign(request.params.id))

  app.post('/campaigns/:id/retry', {
    config: { idempotent: true },
    schema: { summary: 'Call a campaign\'s unknown and failed contacts again', params: CampaignIdParamsSchema, response: { 202: CampaignSchema, ...errorResponses } }
  }, async (request, reply) => reply.code(202).send(await service.retryCampaign(request.params.id, callContext(request))))

  app.get('/scripts', {
    schema: { summary: 'get_available_scripts()', response: { 200: ScriptsReplySchema, ...errorResponses } }
  }, async (request) => service.getAvailableScripts(callContext(request)))
}
