import { Type, type Static } from '@sinclair/typebox'
import { ModeSchema, Nullable } from './common.ts'

// The spec names the methods (create_meeting(), update_meeting(), ...) but not their parameters;
// the fields are Zoom's own names, in snake_case as everywhere else.

export const MeetingStatusSchema = Type.Union([Type.Literal('waiting'), Type.Literal('started'), Type.Literal('ended')])
export type MeetingStatus = Static<typeof MeetingStatusSchema>

export const MeetingSettingsSchema = Type.Object({
  host_video: Type.Optional(Type.Boolean()),
  participant_video: Type.Optional(Type.Boolean()),
  join_before_host: Type.Optional(Type.Boolean()),
  mute_upon_entry: Type.Optional(Type.Boolean()),
  waiting_room: Type.Optional(Type.Boolean()),
  auto_recording: Type.Optional(Type.Union([Type.Literal('cloud'), Type.Literal('local'), Type.Literal('none')], { description: 'cloud (default in mock mode) makes MP4, M4A and CHAT recordings when the meeting ends' })),
  alternative_hosts: Type.Optional(Type.String({ maxLength: 1024 }))
}, { additionalProperties: false })

const meetingFields = {
  topic: Type.String({ minLength: 1, maxLength: 200 }),
  type: Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal(3), Type.Literal(8)], { description: '1 instant, 2 scheduled (default), 3 recurring with no fixed time, 8 recurring with a fixed time' }),
  start_time: Type.String({ format: 'date-time', description: 'UTC, e.g. 2030-01-15T10:00:00Z (default: now)' }),
  duration: Type.Integer({ minimum: 1, maximum: 1440, description: 'Minutes (default 60)' }),
  timezone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA zone, e.g. Asia/Kolkata' }),
  agenda: Type.String({ maxLength: 2000 }),
  password: Type.String({ pattern: '^[A-Za-z0-9@_*-]{1,10}$', description: 'Passcode: up to 10 letters, digits or @ - _ * (default: generated)' }),
  settings: MeetingSettingsSchema,
  recurrence: Type.Object({
    type: Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal(3)], { description: '1 daily, 2 weekly, 3 monthly' }),
    repeat_interval: Type.Optional(Type.Integer({ minimum: 1, maximum: 90 })),
    end_times: Type.Optional(Type.Integer({ minimum: 1, maximum: 60 }))
  }, { additionalProperties: false })
}

/** create_meeting(topic, start_time, duration, ...) */
export const CreateMeetingRequestSchema = Type.Object({
  topic: meetingFields.topic,
  type: Type.Optional(meetingFields.type),
  start_time: Type.Optional(meetingFields.start_time),
  duration: Type.Optional(meetingFields.duration),
  timezone: Type.Optional(meetingFields.timezone),
  agenda: Type.Optional(meetingFields.agenda),
  password: Type.Optional(meetingFields.password),
  settings: Type.Optional(meetingFields.settings),
  recurrence: Type.Optional(meetingFields.recurrence)
}, { additionalProperties: false })
export type CreateMeetingRequest = Static<typeof CreateMeetingRequestSchema>

/** update_meeting(id, ...): any of create_meeting's fields, at least one. */
export const UpdateMeetingRequestSchema = Type.Partial(CreateMeetingRequestSchema, { additionalProperties: false, minProperties: 1 })
export type UpdateMeetingRequest = Static<typeof UpdateMeetingRequestSchema>

export const MeetingSchema = Type.Object({
  id: Type.Integer({ description: 'Zoom meeting id (int64, 9-11 digits)' }),
  uuid: Type.String({ description: 'This instance of the meeting (base64, 24 characters)' }),
  topic: Type.String(),
  type: Type.Integer(),
  status: MeetingStatusSchema,
  start_time: Nullable(Type.String()),
  duration: Type.Integer(),
  timezone: Type.String(),
  agenda: Type.String(),
  created_at: Type.String(),
  join_url: Type.String(),
  start_url: Nullable(Type.String({ description: 'For the host only: it signs them in' })),
  password: Nullable(Type.String()),
  host_id: Type.String(),
  host_email: Nullable(Type.String()),
  settings: Type.Record(Type.String(), Type.Unknown()),
  mode: ModeSchema
})
export type Meeting = Static<typeof MeetingSchema>

export const MeetingIdParamsSchema = Type.Object({
  id: Type.String({ pattern: '^[0-9]{9,12}$', description: 'Zoom meeting id' })
})
export type MeetingIdParams = Static<typeof MeetingIdParamsSchema>

export const RecordingsParamsSchema = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, pattern: '^([0-9]{9,12}|[A-Za-z0-9+/=]{22,32})$', description: 'Meeting id (latest instance) or an instance uuid (URL-encoded)' })
})
export type RecordingsParams = Static<typeof RecordingsParamsSchema>

export const ListMeetingsQuerySchema = Type.Object({
  status: Type.Optional(MeetingStatusSchema),
  page_size: Type.Integer({ minimum: 1, maximum: 300, default: 30 }),
  next_page_token: Type.Optional(Type.String({ maxLength: 512 }))
}, { additionalProperties: false })
export type ListMeetingsQuery = Static<typeof ListMeetingsQuerySchema>

export const MeetingSummarySchema = Type.Object({
  id: Type.Integer(),
  uuid: Type.String(),
  topic: Type.String(),
  type: Type.Integer(),
  status: Nullable(MeetingStatusSchema),
  start_time: Nullable(Type.String()),
  duration: Type.Integer(),
  timezone: Type.String(),
  agenda: Type.String(),
  created_at: Type.String(),
  join_url: Type.String()
})

export const ListMeetingsReplySchema = Type.Object({
  meetings: Type.Array(MeetingSummarySchema, { description: 'status is null when neither the filter nor a Zoom webhook told it; get_meeting asks Zoom' }),
  page_size: Type.Integer(),
  total_records: Type.Integer(),
  next_page_token: Type.String({ description: 'Empty on the last page' }),
  mode: ModeSchema
})
export type ListMeetingsReply = Static<typeof ListMeetingsReplySchema>

export const RecordingFileSchema = Type.Object({
  id: Type.String(),
  file_type: Type.String({ description: 'MP4, M4A, CHAT, ...' }),
  file_extension: Nullable(Type.String()),
  file_size: Type.Integer(),
  recording_type: Type.String(),
  recording_start: Type.String(),
  recording_end: Type.String(),
  download_url: Type.String({ description: 'Needs ?access_token=<download_access_token> or a Zoom Bearer token' }),
  play_url: Nullable(Type.String()),
  status: Type.String()
})

export const RecordingsReplySchema = Type.Object({
  meeting_id: Type.Integer(),
  uuid: Type.String(),
  topic: Type.String(),
  start_time: Type.String(),
  duration: Type.Integer(),
  total_size: Type.Integer(),
  recording_count: Type.Integer(),
  share_url: Nullable(Type.String()),
  download_access_token: Nullable(Type.String()),
  recording_files: Type.Array(RecordingFileSchema),
  mode: ModeSchema
})
export type RecordingsReply = Static<typeof RecordingsReplySchema>

export const DeleteMeetingReplySchema = Type.Object({
  success: Type.Literal(true),
  id: Type.Integer(),
  deleted: Type.Literal(true),
  mode: ModeSchema
})
export type DeleteMeetingReply = Static<typeof DeleteMeetingReplySchema>

export const EndMeetingReplySchema = Type.Object({
  meeting: MeetingSchema,
  recordings: Nullable(RecordingsReplySchema)
}, { description: 'recordings is null until Zoom has processed them (or when the meeting does not record to the cloud)' })
export type EndMeetingReply = Static<typeof EndMeetingReplySchema>

export const ClearMeetingsReplySchema = Type.Object({
  success: Type.Literal(true),
  cleared: Type.Integer(),
  mode: Type.Literal('mock')
})
export type ClearMeetingsReply = Static<typeof ClearMeetingsReplySchema>

export const ZoomWebhookReplySchema = Type.Union([
  Type.Object({ plainToken: Type.String(), encryptedToken: Type.String() }, { description: 'The answer to endpoint.url_validation' }),
  Type.Object({ received: Type.Literal(true), event: Type.String(), applied: Type.Boolean() })
])
