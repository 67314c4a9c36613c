/**
 * What the Activity view shows of a Zoom exchange (service-kit's capture.ts stores it): a meeting
 * as its settings, each webhook as a step of its lifecycle, a recordings answer as its files.
 * Recording downloads are not recorded (they are files, not API calls).
 */
import type { Describer } from '@switchboard/service-kit/capture'

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v)
const str = (v: unknown): string | null => typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null

const files = (v: unknown) => Array.isArray(v)
  ? v.filter(isObject).map(f => ({ id: str(f.id), file_type: str(f.file_type), file_size: typeof f.file_size === 'number' ? f.file_size : null, recording_type: str(f.recording_type), download_url: str(f.download_url), play_url: str(f.play_url), status: str(f.status) }))
  : []

function meetingContent (m: Json): Json {
  return {
    kind: 'zoom',
    meeting_id: str(m.id),
    uuid: str(m.uuid),
    topic: str(m.topic),
    type: m.type ?? null,
    status: str(m.status),
    start_time: str(m.start_time),
    duration: m.duration ?? null,
    timezone: str(m.timezone),
    agenda: str(m.agenda),
    join_url: str(m.join_url),
    settings: isObject(m.settings) ? m.settings : {},
    ...(Array.isArray(m.recording_files) ? { recordings: files(m.recording_files) } : {})
  }
}

export const describeZoom: Describer = (x) => {
  if (x.kind === 'webhook') {
    const b = isObject(x.requestBody) ? x.requestBody : {}
    const object = isObject(b.payload) && isObject(b.payload.object) ? b.payload.object : {}
    const event = str(b.event)
    return { event: event ?? undefined, summary: `Zoom ${event ?? 'event'}`, refs: [str(object.id), str(object.uuid)].filter((r): r is string => r !== null), ...(event?.startsWith('recording.') || event?.startsWith('meeting.') ? { content: meetingContent(object) } : {}) }
  }
  if (x.method === 'GET' && /^\/rec\//.test(x.path)) return { skip: true }
  const res = isObject(x.responseBody) ? x.responseBody : {}
  if (/^\/v2\/users\/[^/]+\/meetings$/.test(x.path) && x.method === 'POST') {
    const topic = str(res.topic) ?? (isObject(x.requestBody) ? str(x.requestBody.topic) : null)
    // Refused (an expired token, a rate limit, an outage): no meeting, so no meeting to show.
    if (x.statusCode >= 300) return { summary: `meeting not created${topic ? `: ${topic}` : ''}` }
    return { providerId: str(res.id) ?? undefined, summary: `meeting created: ${topic ?? ''}`.trim(), content: meetingContent({ ...(isObject(x.requestBody) ? x.requestBody : {}), ...res }) }
  }
  const meeting = /^\/v2\/meetings\/([^/]+)(\/.*)?$/.exec(x.path)
  if (meeting) {
    const id = meeting[1]!
    const sub = meeting[2] ?? ''
    const what = sub === '/recordings' ? 'recordings' : sub === '/status' ? 'status' : 'meeting'
    return {
      providerId: id,
      summary: `${x.method} ${what} of meeting ${id}`,
      ...(x.method === 'GET' && what === 'meeting' && x.statusCode < 300 ? { content: meetingContent(res) } : {}),
      ...(what === 'recordings' && x.statusCode < 300 ? { content: { kind: 'zoom', meeting_id: id, topic: str(res.topic), recordings: files(res.recording_files) } } : {})
    }
  }
  if (x.path === '/oauth/token') return { summary: 'OAuth token' }
  return undefined
}
