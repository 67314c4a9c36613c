/**
 * The Zoom emulator against Zoom's own published API description (zoom/api openapi.v2.json, read
 * from ../shared/reference/specs). That file is Zoom's stale 2018 Swagger 2.0: it gives the paths,
 * the statuses and the fields' basic types, and marks nothing required, so the check is loose:
 * each status one the operation lists (or one providers.md documents), each body's fields of the
 * type the file gives, and the fields every integration reads present. Where providers.md (the
 * live-verified notes, from Zoom's current SDK types and docs) says otherwise, the override says so.
 */
import t, { type Test } from 'tap'
import { loadSpec, SpecConformance, type SchemaPatch, type SpecReply, type StatusOverride } from '@switchboard/service-kit/spec-conformance'
import { startZoomApp } from './helper.ts'

/** Zoom's API error envelope (providers.md §5): {"code": <int>, "message": "..."}, validation adding errors[{field, message}]. */
const ZOOM_ERROR = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'integer' },
    message: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } } }
  }
}
const statuses: StatusOverride[] = [
  { status: 400, schema: ZOOM_ERROR, reason: 'providers.md §5: validation is 400 code 300 "Validation Failed." with errors; a meeting in progress cannot be deleted (3002)' },
  { status: 401, schema: ZOOM_ERROR, reason: 'providers.md §5: 401 code 124 "Invalid access token." (the file\'s JWT/access_token security is retired)' },
  { status: 404, schema: ZOOM_ERROR, reason: 'providers.md §5: 404 code 3001 (meeting), 1001 (user), 3301 (recording); the file lists 404 without a body' },
  { status: 429, schema: ZOOM_ERROR, reason: 'providers.md §5: 429 when rate limited' }
]

/** The file's id fields are strings; Zoom's are numbers (providers.md §5: "Meeting id is an int64"). */
const integer = (at: string, reason: string): SchemaPatch => ({ at, set: { type: 'integer' }, reason })
const MEETING_ID = 'providers.md §5: a meeting id is an int64 (e.g. 85746065432), a number in answers; the 2018 file types it a string'
const patches: SchemaPatch[] = [
  integer('#/paths/~1users~1{userId}~1meetings/post/responses/201/schema/allOf/0/properties/id', MEETING_ID),
  integer('#/paths/~1meetings~1{meetingId}/get/responses/200/schema/allOf/0/properties/id', MEETING_ID),
  integer('#/definitions/MeetingList/allOf/1/properties/meetings/items/allOf/0/properties/id', MEETING_ID),
  integer('#/definitions/RecordingMeeting/allOf/0/properties/id', MEETING_ID),
  integer('#/definitions/RecordingMeeting/allOf/0/properties/total_size', 'providers.md §5 (Rivet\'s types): total_size and recording_count are numbers'),
  integer('#/definitions/RecordingMeeting/allOf/0/properties/recording_count', 'providers.md §5 (Rivet\'s types): total_size and recording_count are numbers'),
  {
    at: '#/definitions/Occurrence/properties/occurrence_id',
    set: { type: 'string' },
    reason: 'Zoom\'s current SDK types (providers.md §5 source, Rivet meetings.d.ts) give occurrence_id as a string of digits'
  }
]
const spec = new SpecConformance(loadSpec('zoom/openapi.v2.json'), { statuses, patches })

/** Fields the file lists that every integration reads, so they must be there (the file marks none required). */
const MEETING_FIELDS = ['uuid', 'id', 'host_id', 'topic', 'type', 'duration', 'timezone', 'created_at', 'start_url', 'join_url', 'password', 'settings']

function conforms (t: Test, operation: string, reply: SpecReply, status: number): void {
  t.equal(reply.status, status, `${operation}: ${status}`)
  t.same(spec.response(operation, reply), [], `${operation} ${reply.status} conforms to the spec`)
}

const { zcall, call } = await startZoomApp(t, { env: { ZOOM_TIME_SCALE: '600' } })
const later = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z')

t.test('meetings: create, read, list, update, end and delete, and their errors', async t => {
  const create = 'POST /users/{userId}/meetings'
  const body = { topic: 'Spec', type: 2, start_time: later, duration: 30, timezone: 'Asia/Kolkata', agenda: 'Conformance', settings: { host_video: true, auto_recording: 'cloud', waiting_room: false } }
  t.same(spec.request(create, body), [], 'the test\'s request is valid per the spec')
  const created = await zcall('POST', '/v2/users/me/meetings', body)
  conforms(t, create, created, 201)
  t.same(MEETING_FIELDS.filter(f => !(f in created.body)), [], 'the fields integrations read')
  const recurring = await zcall('POST', '/v2/users/me/meetings', { topic: 'Weekly', type: 8, start_time: later, duration: 30, recurrence: { type: 2, repeat_interval: 1, end_times: 3 } })
  conforms(t, create, recurring, 201)
  t.equal(recurring.body.occurrences.length, 3)
  conforms(t, create, await zcall('POST', '/v2/users/me/meetings', { type: 5, duration: -1 }), 400)
  conforms(t, create, await zcall('POST', '/v2/users/nobody@example.com/meetings', body), 404)
  conforms(t, create, await call('POST', '/zoom/v2/users/me/meetings', body, { authorization: 'Bearer not-a-token' }), 401)
  conforms(t, create, await zcall('POST', '/v2/users/me/meetings', { ...body, topic: '[rate_limited] busy' }), 429)

  const get = 'GET /meetings/{meetingId}'
  const read = await zcall('GET', `/v2/meetings/${created.body.id}`)
  conforms(t, get, read, 200)
  t.same(MEETING_FIELDS.filter(f => !(f in read.body)), [], 'the fields integrations read')
  conforms(t, get, await zcall('GET', `/v2/meetings/${recurring.body.id}`), 200)
  conforms(t, get, await zcall('GET', '/v2/meetings/85746065432'), 404)

  const list = 'GET /users/{userId}/meetings'
  const listed = await zcall('GET', '/v2/users/me/meetings?type=scheduled&page_size=1')
  conforms(t, list, listed, 200)
  t.equal(listed.body.meetings.length, 1)
  t.same(['uuid', 'id', 'host_id', 'topic', 'type', 'join_url'].filter(f => !(f in listed.body.meetings[0])), [], 'the fields integrations read')
  conforms(t, list, await zcall('GET', '/v2/users/me/meetings?type=upcoming'), 200)
  conforms(t, list, await zcall('GET', '/v2/users/me/meetings?type=everything'), 400)
  conforms(t, list, await zcall('GET', '/v2/users/nobody@example.com/meetings'), 404)

  const update = 'PATCH /meetings/{meetingId}'
  t.same(spec.request(update, { topic: 'Renamed', duration: 45 }), [], 'the test\'s request is valid per the spec')
  conforms(t, update, await zcall('PATCH', `/v2/meetings/${created.body.id}`, { topic: 'Renamed', duration: 45 }), 204)
  conforms(t, update, await zcall('PATCH', `/v2/meetings/${created.body.id}`, { duration: -5 }), 400)
  conforms(t, update, await zcall('PATCH', '/v2/meetings/85746065432', { topic: 'x' }), 404)

  const status = 'PUT /meetings/{meetingId}/status'
  const live = (await zcall('POST', '/v2/users/me/meetings', { topic: 'In progress' })).body
  const remove = 'DELETE /meetings/{meetingId}'
  conforms(t, remove, await zcall('DELETE', `/v2/meetings/${live.id}`), 400)
  t.same(spec.request(status, { action: 'end' }), [], 'the test\'s request is valid per the spec')
  conforms(t, status, await zcall('PUT', `/v2/meetings/${live.id}/status`, { action: 'pause' }), 400)
  conforms(t, status, await zcall('PUT', `/v2/meetings/${live.id}/status`, { action: 'end' }), 204)
  conforms(t, status, await zcall('PUT', '/v2/meetings/85746065432/status', { action: 'end' }), 404)

  conforms(t, remove, await zcall('DELETE', `/v2/meetings/${created.body.id}`), 204)
  conforms(t, remove, await zcall('DELETE', `/v2/meetings/${created.body.id}`), 404)
})

t.test('cloud recordings: a finished meeting\'s, by id and by uuid; none yet is a 404', async t => {
  const op = 'GET /meetings/{meetingId}/recordings'
  const m = (await zcall('POST', '/v2/users/me/meetings', { topic: 'Recorded', duration: 30 })).body
  conforms(t, op, await zcall('GET', `/v2/meetings/${m.id}/recordings`), 404)
  await new Promise(resolve => setTimeout(resolve, 200)) // 200 ms at 600x: two meeting minutes
  await zcall('PUT', `/v2/meetings/${m.id}/status`, { action: 'end' })
  const byId = await zcall('GET', `/v2/meetings/${m.id}/recordings?include_fields=download_access_token`)
  conforms(t, op, byId, 200)
  t.equal(byId.body.recording_files.length, byId.body.recording_count)
  t.equal(byId.body.auto_delete, false, 'providers.md §5: auto_delete (this account deletes nothing by itself)')
  t.same(['id', 'meeting_id', 'file_type', 'file_size', 'download_url', 'status', 'recording_type'].filter(f => !(f in byId.body.recording_files[0])), [], 'the fields integrations read')
  conforms(t, op, await zcall('GET', `/v2/meetings/${encodeURIComponent(encodeURIComponent(m.uuid))}/recordings`), 200)
  conforms(t, op, await zcall('GET', '/v2/meetings/85746065432/recordings'), 404)
})

t.test('a user\'s recordings by day, in pages; trashing and deleting them', async t => {
  const list = 'GET /users/{userId}/recordings'
  const remove = 'DELETE /meetings/{meetingId}/recordings'
  const today = new Date().toISOString().slice(0, 10)
  const ended: Array<{ id: number, uuid: string }> = []
  for (const topic of ['First', 'Second', 'Third']) {
    const m = (await zcall('POST', '/v2/users/me/meetings', { topic, duration: 30 })).body
    await zcall('PUT', `/v2/meetings/${m.id}/status`, { action: 'end' })
    ended.push(m)
  }
  const page1 = await zcall('GET', `/v2/users/me/recordings?from=${today}&to=${today}&page_size=2`)
  conforms(t, list, page1, 200)
  t.match(page1.body, { from: today, to: today, page_size: 2, next_page_token: /./ })
  t.ok(page1.body.total_records >= 3, `every ended meeting of today (${page1.body.total_records})`)
  t.same(page1.body.meetings[0], (await zcall('GET', `/v2/meetings/${page1.body.meetings[0].id}/recordings`)).body, 'each item is the meeting\'s recording object')
  const all: number[] = []
  for (let token = ''; ;) {
    const page = await zcall('GET', `/v2/users/me/recordings?page_size=2${token ? `&next_page_token=${token}` : ''}`)
    all.push(...page.body.meetings.map((m: { id: number }) => m.id))
    if (!(token = page.body.next_page_token)) break
  }
  t.same(ended.map(m => m.id).filter(id => !all.includes(id)), [], 'the pages, without from and to (today), hold every one, once')
  t.equal(new Set(all).size, all.length)
  conforms(t, list, await zcall('GET', '/v2/users/me/recordings?from=2020-01-01&to=2020-01-31'), 200)
  t.same((await zcall('GET', '/v2/users/me/recordings?from=2020-01-01&to=2020-01-31')).body.meetings, [], 'none on days without meetings')
  const bad = await zcall('GET', '/v2/users/me/recordings?from=2026-02-30&to=yesterday')
  t.match(bad.body, { code: 300, errors: [{ field: 'from' }, { field: 'to' }] }, 'a day that does not exist is named')
  conforms(t, list, await zcall('GET', '/v2/users/nobody@example.com/recordings'), 404)

  const [first, second, third] = ended as [typeof ended[0], typeof ended[0], typeof ended[0]]
  conforms(t, remove, await zcall('DELETE', `/v2/meetings/${first.id}/recordings`), 204)
  t.equal((await zcall('GET', `/v2/meetings/${first.id}/recordings`)).body.code, 3301, 'trashed: no longer served')
  const trash = (await zcall('GET', '/v2/users/me/recordings?trash=true')).body.meetings.map((m: { id: number }) => m.id)
  t.same(trash, [first.id], 'but listed in the trash')
  t.notOk((await zcall('GET', '/v2/users/me/recordings?page_size=300')).body.meetings.some((m: { id: number }) => m.id === first.id), 'and not among the kept ones')
  conforms(t, remove, await zcall('DELETE', `/v2/meetings/${first.id}/recordings`), 404)
  conforms(t, remove, await zcall('DELETE', `/v2/meetings/${first.id}/recordings?action=delete`), 204)
  t.same((await zcall('GET', '/v2/users/me/recordings?trash=true')).body.meetings, [], 'deleted for good: gone from the trash too')
  conforms(t, remove, await zcall('DELETE', `/v2/meetings/${encodeURIComponent(encodeURIComponent(second.uuid))}/recordings?action=delete`), 204)
  const file = (await zcall('GET', `/v2/meetings/${third.id}/recordings`)).body.recording_files[0]
  t.ok(file, 'the third keeps its recordings')
  t.equal((await zcall('DELETE', `/v2/meetings/${third.id}/recordings?action=shred`)).body.errors[0].field, 'action')
  conforms(t, remove, await zcall('DELETE', '/v2/meetings/85746065432/recordings'), 404)
  const waiting = (await zcall('POST', '/v2/users/me/meetings', { topic: 'Later', start_time: later })).body
  conforms(t, remove, await zcall('DELETE', `/v2/meetings/${waiting.id}/recordings`), 404)
})

t.test('every operation of the file the emulator serves was checked', async t => {
  const seen = spec.checked()
  const served = [
    'POST /users/{userId}/meetings 201', 'POST /users/{userId}/meetings 404', 'GET /users/{userId}/meetings 200', 'GET /users/{userId}/meetings 404',
    'GET /meetings/{meetingId} 200', 'GET /meetings/{meetingId} 404', 'PATCH /meetings/{meetingId} 204', 'PATCH /meetings/{meetingId} 404',
    'DELETE /meetings/{meetingId} 204', 'DELETE /meetings/{meetingId} 404', 'PUT /meetings/{meetingId}/status 204', 'PUT /meetings/{meetingId}/status 404',
    'GET /meetings/{meetingId}/recordings 200', 'GET /meetings/{meetingId}/recordings 404',
    'GET /users/{userId}/recordings 200', 'GET /users/{userId}/recordings 404', 'DELETE /meetings/{meetingId}/recordings 204', 'DELETE /meetings/{meetingId}/recordings 404'
  ]
  t.same(served.filter(s => !seen.has(s)), [], 'nothing left unchecked')
})
