import { isTimeZone, parseStartTime } from './time.ts'

/**
 * Zoom's checks on a meeting body (create and update), answering its envelope:
 * 400 {"code":300,"message":"Validation Failed.","errors":[{"field":"…","message":"Invalid field."}]}
 * (the reference records this shape and the "Invalid field." wording; which fields Zoom checks,
 * and their limits, follow its documented types and are otherwise (unverified)).
 */
export interface ZoomFieldError { field: string, message: string }

export interface MeetingFields {
  topic?: string
  type?: 1 | 2 | 3 | 8
  /** Epoch ms of the scheduled start (already resolved against the timezone). */
  startMs?: number
  duration?: number
  timezone?: string
  agenda?: string
  password?: string
  settings?: Record<string, unknown>
  recurrence?: Record<string, unknown>
  trackingFields?: Array<{ field: string, value: string }>
  preSchedule?: boolean
}

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const INVALID = 'Invalid field.'

// Zoom passcodes: at most 10 characters: letters, digits and @ - _ * (documented).
const PASSWORD = /^[A-Za-z0-9@\-_*]{1,10}$/

const BOOLEAN_SETTINGS = ['host_video', 'participant_video', 'cn_meeting', 'in_meeting', 'join_before_host', 'mute_upon_entry', 'watermark', 'use_pmi',
  'enforce_login', 'close_registration', 'waiting_room', 'meeting_authentication', 'registrants_email_notification', 'private_meeting', 'email_notification',
  'allow_multiple_devices', 'focus_mode', 'show_share_button', 'device_testing']
const ENUM_SETTINGS: Record<string, ReadonlyArray<string | number>> = {
  auto_recording: ['local', 'cloud', 'none'],
  audio: ['both', 'telephony', 'voip', 'thirdParty'],
  approval_type: [0, 1, 2],
  registration_type: [1, 2, 3],
  jbh_time: [0, 5, 10, 15],
  encryption_type: ['enhanced_encryption', 'e2ee']
}

/** `timezone` is the meeting's (or the host's) zone, for a local start_time sent without one. */
export function validateMeetingBody (body: unknown, mode: 'create' | 'update', timezone = 'UTC'): { errors: ZoomFieldError[], fields: MeetingFields } {
  const errors: ZoomFieldError[] = []
  const fields: MeetingFields = {}
  if (!isObject(body)) return { errors, fields }
  const bad = (field: string) => errors.push({ field, message: INVALID })

  if (body.topic !== undefined) {
    if (typeof body.topic !== 'string' || body.topic.length > 200) bad('topic')
    else fields.topic = body.topic
  }
  if (body.type !== undefined) {
    if (![1, 2, 3, 8].includes(body.type as number)) bad('type')
    else fields.type = body.type as 1 | 2 | 3 | 8
  }
  if (body.timezone !== undefined) {
    if (typeof body.timezone !== 'string' || !isTimeZone(body.timezone)) bad('timezone')
    else fields.timezone = body.timezone
  }
  if (body.start_time !== undefined) {
    const ms = typeof body.start_time === 'string' ? parseStartTime(body.start_time, fields.timezone ?? timezone) : Number.NaN
    if (Number.isNaN(ms)) bad('start_time')
    else fields.startMs = ms
  }
  if (body.duration !== undefined) {
    // Zoom takes minutes as an integer; a string of digits is accepted too (observed leniency, unverified).
    const d = typeof body.duration === 'string' && /^\d+$/.test(body.duration) ? Number(body.duration) : body.duration
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > 1440) bad('duration')
    else fields.duration = d
  }
  if (body.agenda !== undefined) {
    if (typeof body.agenda !== 'string' || body.agenda.length > 2000) bad('agenda')
    else fields.agenda = body.agenda
  }
  if (body.password !== undefined) {
    if (typeof body.password !== 'string' || !PASSWORD.test(body.password)) bad('password')
    else fields.password = body.password
  }
  if (body.pre_schedule !== undefined) {
    if (typeof body.pre_schedule !== 'boolean') bad('pre_schedule')
    else fields.preSchedule = body.pre_schedule
  }
  if (body.settings !== undefined) {
    if (!isObject(body.settings)) bad('settings')
    else {
      const s = body.settings
      const before = errors.length
      for (const k of BOOLEAN_SETTINGS) if (s[k] !== undefined && typeof s[k] !== 'boolean') bad(`settings.${k}`)
      for (const [k, allowed] of Object.entries(ENUM_SETTINGS)) if (s[k] !== undefined && !allowed.includes(s[k] as string | number)) bad(`settings.${k}`)
      if (s.alternative_hosts !== undefined && typeof s.alternative_hosts !== 'string') bad('settings.alternative_hosts')
      if (s.meeting_invitees !== undefined && (!Array.isArray(s.meeting_invitees) || s.meeting_invitees.some(i => !isObject(i) || typeof i.email !== 'string'))) bad('settings.meeting_invitees')
      if (JSON.stringify(s).length > 16_384) bad('settings')
      if (errors.length === before) fields.settings = s
    }
  }
  if (body.recurrence !== undefined) {
    const r = body.recurrence
    if (!isObject(r) || ![1, 2, 3].includes(r.type as number) ||
      (r.repeat_interval !== undefined && (!Number.isInteger(r.repeat_interval) || (r.repeat_interval as number) < 1 || (r.repeat_interval as number) > 90)) ||
      (r.end_times !== undefined && (!Number.isInteger(r.end_times) || (r.end_times as number) < 1 || (r.end_times as number) > 60))) {
      bad('recurrence')
    } else {
      fields.recurrence = r
    }
  }
  if (body.tracking_fields !== undefined) {
    const t = body.tracking_fields
    if (!Array.isArray(t) || t.length > 20 || t.some(f => !isObject(f) || typeof f.field !== 'string' || typeof f.value !== 'string')) bad('tracking_fields')
    else fields.trackingFields = (t as Array<{ field: string, value: string }>).map(f => ({ field: f.field, value: f.value }))
  }
  if (mode === 'create' && fields.type === 8 && !fields.recurrence) bad('recurrence')
  return { errors, fields }
}
