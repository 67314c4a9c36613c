import type { Derivations } from './ids.ts'
import { zoomTime } from './ids.ts'
import { fileBytes, fileSize, RECORDING_FILES, type RecordingFileSpec, type RecordingSubject } from './recording-files.ts'
import type { MeetingRecord, MeetingStore } from './store.ts'

/** The account's one user: the owner of the Server-to-Server OAuth app. */
export interface Host {
  id: string
  email: string
  firstName: string
  lastName: string
  accountId: string
  timezone: string
  pmi: string
}

export interface View {
  store: MeetingStore
  host: Host
  derive: Derivations
  /** The emulator's public base, e.g. http://127.0.0.1:3005/zoom (join, start and download URLs point here). */
  baseUrl: () => string
}

/**
 * Settings as Zoom answers them: the account defaults with the caller's choices on top. The
 * emulated account records meetings to the cloud automatically (the spec's "auto-creates 3
 * recordings"); a meeting created with auto_recording "local" or "none" makes none.
 */
export const DEFAULT_SETTINGS = {
  host_video: false,
  participant_video: false,
  cn_meeting: false,
  in_meeting: false,
  join_before_host: false,
  jbh_time: 0,
  mute_upon_entry: false,
  watermark: false,
  use_pmi: false,
  approval_type: 2,
  audio: 'voip',
  auto_recording: 'cloud',
  enforce_login: false,
  enforce_login_domains: '',
  alternative_hosts: '',
  alternative_hosts_email_notification: true,
  close_registration: false,
  show_share_button: false,
  allow_multiple_devices: false,
  registrants_confirmation_email: true,
  waiting_room: false,
  request_permission_to_unmute_participants: false,
  registrants_email_notification: true,
  meeting_authentication: false,
  encryption_type: 'enhanced_encryption',
  approved_or_denied_countries_or_regions: { enable: false },
  breakout_room: { enable: false },
  internal_meeting: false,
  continuous_meeting_chat: { enable: false, auto_add_invited_external_users: false },
  participant_focused_meeting: false,
  push_change_to_calendar: false,
  resources: [],
  alternative_host_update_polls: false,
  email_notification: true,
  host_save_video_order: false,
  sign_language_interpretation: { enable: false },
  email_in_attendee_report: false
} as const
// Shared by every meeting that sets none of its own (most): frozen, since answers hand it out as is.
deepFreeze(DEFAULT_SETTINGS)

function deepFreeze (o: object): void {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) deepFreeze(v)
  Object.freeze(o)
}

const joinUrl = (base: string, m: MeetingRecord, encrypted: string) => `${base}/j/${m.id}?pwd=${encrypted}`

/**
 * GET /meetings/{id} (and the create answer, 201). `status` is Zoom's "waiting" or "started";
 * once a meeting has ended the emulator answers "finished" — Zoom documents only the first two
 * for this endpoint and uses "finished" for past instances (unverified here), and a caller of the
 * emulator needs some way to see the end.
 */
export function meetingBody (v: View, m: MeetingRecord): Record<string, unknown> {
  const body = meetingHead(v, m)
  const extra = m.extra
  body.settings = extra?.settings ? { ...DEFAULT_SETTINGS, ...extra.settings } : DEFAULT_SETTINGS
  body.pre_schedule = extra?.preSchedule ?? false
  body.creation_source = 'open_api'
  if (extra?.trackingFields) body.tracking_fields = extra.trackingFields.map(f => ({ ...f, visible: true }))
  if (m.type === 8 && extra?.recurrence) {
    body.recurrence = extra.recurrence
    body.occurrences = occurrences(m)
  }
  return body
}

// What follows the head of a meeting that has no settings, tracking fields or recurrence of its
// own (most): the account's settings are the bulk of the answer, serialised once here.
const PLAIN_TAIL = `,"settings":${JSON.stringify(DEFAULT_SETTINGS)},"pre_schedule":false,"creation_source":"open_api"}`

/** meetingBody as JSON text, exactly JSON.stringify(meetingBody(v, m)), built with less work. */
export function meetingJson (v: View, m: MeetingRecord): string {
  if (m.extra !== undefined) return JSON.stringify(meetingBody(v, m))
  const head = JSON.stringify(meetingHead(v, m))
  return `${head.slice(0, -1)}${PLAIN_TAIL}`
}

/** The fields of a meeting's answer up to encrypted_password, in Zoom's order. */
function meetingHead (v: View, m: MeetingRecord): Record<string, unknown> {
  const { derive, host } = v
  const base = v.baseUrl()
  const { password, numeric, encrypted } = derive.passcodes(m.uuid, m.password)
  const status = v.store.status(m)
  const head: Record<string, unknown> = {
    uuid: m.uuid,
    id: m.id,
    host_id: host.id,
    host_email: host.email,
    assistant_id: '',
    topic: m.topic,
    type: m.type,
    status: status === 'ended' ? 'finished' : status,
    start_time: Number.isNaN(m.startMs) ? undefined : zoomTime(m.startMs),
    duration: m.duration,
    timezone: m.timezone,
    agenda: m.agenda,
    created_at: zoomTime(m.createdMs),
    start_url: `${base}/s/${m.id}?zak=${derive.zak(m.uuid)}`,
    join_url: joinUrl(base, m, encrypted),
    password,
    h323_password: numeric,
    pstn_password: numeric,
    encrypted_password: encrypted
  }
  // A recurring meeting with no fixed time (type 3) has no start_time (rare: deleted here).
  if (Number.isNaN(m.startMs)) delete head.start_time
  return head
}

/**
 * The occurrences of a recurring meeting with a fixed time: every repeat_interval days, weeks or
 * months from the start, end_times of them (default 7). weekly_days and monthly_week are not
 * modelled (a simplification: the emulator repeats on the start's own weekday/day of month).
 */
function occurrences (m: MeetingRecord): Array<Record<string, unknown>> {
  const r = m.extra?.recurrence ?? {}
  const interval = Number(r.repeat_interval ?? 1)
  const count = Number(r.end_times ?? 7)
  const out: Array<Record<string, unknown>> = []
  for (let i = 0; i < count; i++) {
    const d = new Date(m.startMs)
    if (r.type === 1) d.setUTCDate(d.getUTCDate() + i * interval)
    else if (r.type === 2) d.setUTCDate(d.getUTCDate() + 7 * i * interval)
    else d.setUTCMonth(d.getUTCMonth() + i * interval)
    out.push({ occurrence_id: String(d.getTime()), start_time: zoomTime(d.getTime()), duration: m.duration, status: 'available' })
  }
  return out
}

/** An item of GET /users/{userId}/meetings: Zoom lists no status, password or start URL. */
export function meetingListItem (v: View, m: MeetingRecord): Record<string, unknown> {
  return {
    uuid: m.uuid,
    id: m.id,
    host_id: v.host.id,
    topic: m.topic,
    type: m.type,
    ...(Number.isNaN(m.startMs) ? {} : { start_time: zoomTime(m.startMs) }),
    duration: m.duration,
    timezone: m.timezone,
    agenda: m.agenda,
    created_at: zoomTime(m.createdMs),
    join_url: joinUrl(v.baseUrl(), m, v.derive.passcodes(m.uuid, m.password).encrypted),
    pmi: v.host.pmi
  }
}

export function recordingSubject (v: View, m: MeetingRecord): RecordingSubject {
  const seconds = Math.max(0, Math.round((v.store.endReal(m) - v.store.startReal(m)) * v.store.timeScale / 1000))
  return { uuid: m.uuid, topic: m.topic, hostName: `${v.host.firstName} ${v.host.lastName}`, seconds }
}

export function recordingFile (v: View, m: MeetingRecord, spec: RecordingFileSpec) {
  const subject = recordingSubject(v, m)
  const id = v.derive.fileId(m.uuid, spec.fileType)
  return {
    id,
    meeting_id: m.uuid,
    recording_start: zoomTime(v.store.virtual(m, v.store.startReal(m))),
    recording_end: zoomTime(v.store.virtual(m, v.store.endReal(m))),
    file_type: spec.fileType,
    file_extension: spec.extension,
    file_size: fileSize(spec.fileType, subject),
    play_url: `${v.baseUrl()}/rec/play/${m.id}/${id}`,
    download_url: `${v.baseUrl()}/rec/download/${m.id}/${id}`,
    status: 'completed',
    recording_type: spec.recordingType
  }
}

/** GET /meetings/{id}/recordings, and the object of recording.completed. */
export function recordingsBody (v: View, m: MeetingRecord): Record<string, unknown> {
  const files = RECORDING_FILES.map(spec => recordingFile(v, m, spec))
  const { seconds } = recordingSubject(v, m)
  const passcode = v.derive.recordingPasscode(m.uuid)
  return {
    uuid: m.uuid,
    id: m.id,
    account_id: v.host.accountId,
    host_id: v.host.id,
    topic: m.topic,
    // A number, as in recorded answers of this route (e.g. `"type": 2` with `"id": 1000000000000`);
    // Rivet's generated types say string for this one field, and its own meeting objects say
    // number. Unverified against a live answer of today's API: the recorded bytes win.
    type: m.type,
    start_time: zoomTime(v.store.virtual(m, v.store.startReal(m))),
    timezone: m.timezone,
    duration: Math.max(1, Math.round(seconds / 60)),
    total_size: files.reduce((sum, f) => sum + f.file_size, 0),
    recording_count: files.length,
    share_url: `${v.baseUrl()}/rec/share/${m.id}`,
    recording_files: files,
    password: passcode,
    recording_play_passcode: passcode,
    // providers.md §5 lists auto_delete and auto_delete_date; the emulator's account deletes
    // nothing by itself, so false and no date ((unverified): whether Zoom sends the date then).
    auto_delete: false
  }
}

/** The bytes behind a recording file id, or undefined. */
export function recordingDownload (v: View, m: MeetingRecord, fileId: string): { spec: RecordingFileSpec, bytes: Buffer } | undefined {
  const spec = RECORDING_FILES.find(s => v.derive.fileId(m.uuid, s.fileType) === fileId)
  if (!spec) return undefined
  return { spec, bytes: fileBytes(spec.fileType, recordingSubject(v, m)) }
}

/** The object of meeting.started / meeting.ended (id as a string there, per Rivet's event types). */
export function meetingEventObject (v: View, m: MeetingRecord, ended: boolean): Record<string, unknown> {
  const object: Record<string, unknown> = {
    id: String(m.id),
    uuid: m.uuid,
    host_id: v.host.id,
    topic: m.topic,
    type: m.type,
    start_time: zoomTime(v.store.virtual(m, v.store.startReal(m))),
    timezone: m.timezone,
    duration: m.duration
  }
  if (ended) object.end_time = zoomTime(v.store.virtual(m, v.store.endReal(m)))
  return object
}
