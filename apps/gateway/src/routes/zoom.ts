import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '@switchboard/schemas/common'
import {
  ClearMeetingsReplySchema, CreateMeetingRequestSchema, DeleteMeetingReplySchema, EndMeetingReplySchema, ListMeetingsQuerySchema,
  ListMeetingsReplySchema, MeetingIdParamsSchema, MeetingSchema, RecordingsParamsSchema, RecordingsReplySchema, UpdateMeetingRequestSchema
} from '@switchboard/schemas/zoom'
import { rawBody } from './raw-body.ts'

const tags = ['zoom']
const security = [{ apiToken: [] }]
const queryOf = (url: string) => {
  const i = url.indexOf('?')
  return i >= 0 ? url.slice(i) : ''
}

/**
 * Zoom routes (the spec names the methods, not the routes; these follow the other services' style).
 * Validated here with the shared schemas, then forwarded to the Zoom service.
 */
export const zoomRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/api/zoom/meetings', {
    config: { idempotent: true },
    schema: { tags, security, summary: 'create_meeting(): schedule a Zoom meeting', body: CreateMeetingRequestSchema, response: { 201: MeetingSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'zoom', '/meetings'))

  app.get('/api/zoom/meetings', {
    schema: { tags, security, summary: 'list_meetings(): a page of meetings, optionally by status', querystring: ListMeetingsQuerySchema, response: { 200: ListMeetingsReplySchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'zoom', `/meetings${queryOf(request.url)}`))

  app.delete('/api/zoom/meetings', {
    schema: { tags, security, summary: 'clear_all_meetings(): forget every mock meeting (mock mode only)', response: { 200: ClearMeetingsReplySchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'zoom', '/meetings'))

  app.get('/api/zoom/meetings/:id', {
    schema: { tags, security, summary: 'get_meeting(): one meeting and its status (waiting, started, ended)', params: MeetingIdParamsSchema, response: { 200: MeetingSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'zoom', `/meetings/${request.params.id}`))

  app.patch('/api/zoom/meetings/:id', {
    schema: { tags, security, summary: 'update_meeting(): change topic, time, duration, ...', params: MeetingIdParamsSchema, body: UpdateMeetingRequestSchema, response: { 200: MeetingSchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'zoom', `/meetings/${request.params.id}`))

  app.delete('/api/zoom/meetings/:id', {
    schema: { tags, security, summary: 'delete_meeting()', params: MeetingIdParamsSchema, response: { 200: DeleteMeetingReplySchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'zoom', `/meetings/${request.params.id}`))

  app.get('/api/zoom/meetings/:id/recordings', {
    schema: { tags, security, summary: 'get_meeting_recordings(): MP4, M4A and CHAT files once the meeting ended', params: RecordingsParamsSchema, response: { 200: RecordingsReplySchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'zoom', `/meetings/${encodeURIComponent(request.params.id)}/recordings`))

  app.post('/api/zoom/meetings/:id/end', {
    schema: { tags, security, summary: 'simulate_meeting_end(): end it now and make its recordings (mock mode only)', params: MeetingIdParamsSchema, response: { 200: EndMeetingReplySchema, ...errorResponses } }
  }, (request, reply) => app.forward(request, reply, 'zoom', `/meetings/${request.params.id}/end`))

  await app.register(async (webhooks) => {
    rawBody(webhooks)
    webhooks.post('/api/webhooks/zoom', {
      schema: { tags, summary: 'Zoom webhooks (authenticated by x-zm-signature, not a token; answers endpoint.url_validation)' }
    }, (request, reply) => app.forward(request, reply, 'zoom', '/webhooks/zoom'))
  })
}
