import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '@switchboard/schemas/common'
import {
  ClearMeetingsReplySchema, CreateMeetingRequestSchema, DeleteMeetingReplySchema, EndMeetingReplySchema, ListMeetingsQuerySchema,
  ListMeetingsReplySchema, MeetingIdParamsSchema, MeetingSchema, RecordingsParamsSchema, RecordingsReplySchema, UpdateMeetingRequestSchema
} from '@switchboard/schemas/zoom'
import { callContext } from '@switchboard/service-kit/provider-clients'
import type { ZoomService } from '../service/zoom-service.ts'

/** The Zoom service's own API: validate → one service call → reply. */
export const meetingRoutes: FastifyPluginAsyncTypebox<{ service: ZoomService }> = async (app, { service }) => {
  app.post('/meetings', {
    config: { idempotent: true },
    schema: { summary: 'create_meeting()', body: CreateMeetingRequestSchema, response: { 201: MeetingSchema, ...errorResponses } }
  }, async (request, reply) => reply.code(201).send(await service.createMeeting(request.body, callContext(request))))

  app.get('/meetings', {
    schema: { summary: 'list_meetings()', querystring: ListMeetingsQuerySchema, response: { 200: ListMeetingsReplySchema, ...errorResponses } }
  }, async (request) => service.listMeetings(request.query, callContext(request)))

  app.delete('/meetings', {
    schema: { summary: 'clear_all_meetings() (mock mode only)', response: { 200: ClearMeetingsReplySchema, ...errorResponses } }
  }, async (request) => service.clearAllMeetings(callContext(request)))

  app.get('/meetings/:id', {
    schema: { summary: 'get_meeting()', params: MeetingIdParamsSchema, response: { 200: MeetingSchema, ...errorResponses } }
  }, async (request) => service.getMeeting(request.params.id, callContext(request)))

  app.patch('/meetings/:id', {
    schema: { summary: 'update_meeting()', params: MeetingIdParamsSchema, body: UpdateMeetingRequestSchema, response: { 200: MeetingSchema, ...errorResponses } }
  }, async (request) => service.updateMeeting(request.params.id, request.body, callContext(request)))

  app.delete('/meetings/:id', {
    schema: { summary: 'delete_meeting()', params: MeetingIdParamsSchema, response: { 200: DeleteMeetingReplySchema, ...errorResponses } }
  }, async (request) => service.deleteMeeting(request.params.id, callContext(request)))

  app.get('/meetings/:id/recordings', {
    schema: { summary: 'get_meeting_recordings()', params: RecordingsParamsSchema, response: { 200: RecordingsReplySchema, ...errorResponses } }
  }, async (request) => service.getMeetingRecordings(request.params.id, callContext(request)))

  app.post('/meetings/:id/end', {
    schema: { summary: 'simulate_meeting_end() (mock mode only)', params: MeetingIdParamsSchema, response: { 200: EndMeetingReplySchema, ...errorResponses } }
  }, async (request) => service.simulateMeetingEnd(request.params.id, callContext(request)))
}
