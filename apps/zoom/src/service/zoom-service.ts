import type { Mode } from '@switchboard/schemas/common'
import type {
  ClearMeetingsReply, CreateMeetingRequest, DeleteMeetingReply, EndMeetingReply, ListMeetingsQuery, ListMeetingsReply,
  Meeting, MeetingStatus, RecordingsReply, UpdateMeetingRequest
} from '@switchboard/schemas/zoom'
import { BoundedMap } from '@switchboard/service-kit/bounded-map'
import { appError, ServiceError } from '@switchboard/service-kit/errors'
import { ProviderError, providerErrorToServiceError } from '@switchboard/service-kit/provider-client'
import type { CallContext } from '@switchboard/service-kit/provider-clients'
import type { RuntimeSettings } from '@switchboard/service-kit/runtime-settings'
import type { ListType, ZoomClient, ZoomMeeting, ZoomRecordings } from '../client/zoom-client.ts'

export interface ZoomServiceDeps {
  runtime: RuntimeSettings
  /** The Zoom client for a mode; throws PROVIDER_NOT_CONFIGURED when live has no credentials. */
  clientFor: (mode: Mode) => ZoomClient
  /** Whose meetings ("me": the Server-to-Server app's owner). */
  userId: string
  /** The spec keeps no Zoom table: actions are logged here, at debug level. */
  logger?: { debug: (obj: object, msg?: string) => void }
  /** Most meeting statuses remembered from webhooks. */
  statusMemory?: number
}

const LIVE_HINT = 'Check ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET.'
const LIST_TYPE: Record<MeetingStatus, ListType> = { waiting: 'upcoming', started: 'live', ended: 'previous_meetings' }

/**
 * What Zoom's webhooks said about each meeting, newest event wins. Zoom's GET answers "waiting"
 * again for a scheduled meeting that has ended (it can be started again), so "ended" is known
 * only from meeting.ended; list items carry no status at all. Bounded: the oldest entries go first.
 */
class StatusMemory {
  readonly #map: BoundedMap<number, { status: 'started' | 'ended', at: number }>
  constructor (max: number) { this.#map = new BoundedMap(max) }

  set (id: number, status: 'started' | 'ended', at: number): boolean {
    const cur = this.#map.get(id)
    if (cur && cur.at > at) return false
    this.#map.delete(id)
    this.#map.set(id, { status, at })
    return true
  }

  get (id: number) { return this.#map.get(id)?.status }
  delete (id: number) { this.#map.delete(id) }
  clear () { this.#map.clear() }
  get size () { return this.#map.size }
}

export function createZoomService (deps: ZoomServiceDeps) {
  const memory = new StatusMemory(deps.statusMemory ?? 100_000)
  const modeNow = () => deps.runtime.get('zoom').mode
  const log = (obj: object, msg: string) => deps.logger?.debug({ service: 'zoom', ...obj }, msg)

  /** Runs one provider call; Zoom's refusals become our errors, naming the meeting. */
  async function guarded<T> (action: string, id: string | number | undefined, mode: Mode, fn: () => Promise<T>): Promise<T> {
    const started = performance.now()
    try {
      const result = await fn()
      log({ action, meeting_id: id, mode, latency_ms: Math.round(performance.now() - started) }, `zoom ${action}`)
      return result
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err
      log({ action, meeting_id: id, mode, error: err.message, kind: err.kind }, `zoom ${action} failed`)
      const mapped = providerErrorToServiceError('ZOOM', err, LIVE_HINT)
      throw new ServiceError(mapped.statusCode, mapped.code, mapped.message, { details: { ...(id !== undefined ? { id } : {}), provider: err.toJSON() }, headers: mapped.headers })
    }
  }

  function statusOf (z: ZoomMeeting): MeetingStatus {
    if (z.status === 'started') return 'started'
    if (z.status === 'finished' || z.status === 'ended') return 'ended'
    return memory.get(z.id) === 'ended' ? 'ended' : 'waiting'
  }

  function toMeeting (z: ZoomMeeting, mode: Mode): Meeting {
    return {
      id: z.id,
      uuid: z.uuid,
      topic: z.topic ?? '',
      type: z.type ?? 2,
      status: statusOf(z),
      start_time: z.start_time ?? null,
      duration: z.duration ?? 0,
      timezone: z.timezone ?? 'UTC',
      agenda: z.agenda ?? '',
      created_at: z.created_at ?? '',
      join_url: z.join_url ?? '',
      start_url: z.start_url ?? null,
      password: z.password ?? null,
      host_id: z.host_id ?? '',
      host_email: z.host_email ?? null,
      settings: z.settings ?? {},
      mode
    }
  }

  function toRecordings (r: ZoomRecordings, mode: Mode): RecordingsReply {
    return {
      meeting_id: r.id,
      uuid: r.uuid,
      topic: r.topic ?? '',
      start_time: r.start_time ?? '',
      duration: r.duration ?? 0,
      total_size: r.total_size ?? 0,
      recording_count: r.recording_count ?? r.recording_files?.length ?? 0,
      share_url: r.share_url ?? null,
      download_access_token: r.download_access_token ?? null,
      // Live Zoom may list more kinds (TRANSCRIPT, TIMELINE, ...) with fewer fields: defaults keep the shape.
      recording_files: (r.recording_files ?? []).map(f => ({
        id: f.id ?? '',
        file_type: f.file_type ?? '',
        file_extension: f.file_extension ?? null,
        file_size: f.file_size ?? 0,
        recording_type: f.recording_type ?? '',
        recording_start: f.recording_start ?? '',
        recording_end: f.recording_end ?? '',
        download_url: f.download_url ?? '',
        play_url: f.play_url ?? null,
        status: f.status ?? 'completed'
      })),
      mode
    }
  }

  /** The testing utilities exist for the emulator only. */
  function mockOnly (method: string): void {
    if (modeNow() !== 'mock') {
      throw appError('ZOOM_MOCK_ONLY', `${method} is a mock-mode testing utility and zoom is in live mode, where it would act on real meetings. ` +
        'Switch zoom to mock mode (POST /api/admin/settings/mock-mode) to use it, or do this in Zoom itself.')
    }
  }

  /** create_meeting(topic, start_time, duration, ...) */
  async function createMeeting (input: CreateMeetingRequest, ctx: CallContext): Promise<Meeting> {
    const mode = modeNow()
    const client = deps.clientFor(mode)
    const z = await guarded('create_meeting', undefined, mode, () => client.createMeeting(deps.userId, input, ctx.simulationHeaders))
    return toMeeting(z, mode)
  }

  /** get_meeting(id) */
  async function getMeeting (id: string, ctx: CallContext): Promise<Meeting> {
    const mode = modeNow()
    const client = deps.clientFor(mode)
    return toMeeting(await guarded('get_meeting', id, mode, () => client.getMeeting(id, ctx.simulationHeaders)), mode)
  }

  /** update_meeting(id, ...): Zoom answers 204, so the meeting is read back. */
  async function updateMeeting (id: string, patch: UpdateMeetingRequest, ctx: CallContext): Promise<Meeting> {
    const mode = modeNow()
    const client = deps.clientFor(mode)
    await guarded('update_meeting', id, mode, () => client.updateMeeting(id, patch, ctx.simulationHeaders))
    return toMeeting(await guarded('get_meeting', id, mode, () => client.getMeeting(id, ctx.simulationHeaders)), mode)
  }

  /** delete_meeting(id) */
  async function deleteMeeting (id: string, ctx: CallContext): Promise<DeleteMeetingReply> {
    const mode = modeNow()
    const client = deps.clientFor(mode)
    await guarded('delete_meeting', id, mode, () => client.deleteMeeting(id, ctx.simulationHeaders))
    memory.delete(Number(id))
    return { success: true, id: Number(id), deleted: true, mode }
  }

  /** list_meetings(status, page_size, next_page_token) */
  async function listMeetings (query: ListMeetingsQuery, ctx: CallContext): Promise<ListMeetingsReply> {
    const mode = modeNow()
    const client = deps.clientFor(mode)
    const type = query.status ? LIST_TYPE[query.status] : 'scheduled'
    const page = await guarded('list_meetings', undefined, mode, () => client.listMeetings(deps.userId, { type, page_size: query.page_size, next_page_token: query.next_page_token }, ctx.simulationHeaders))
    return {
      meetings: page.meetings.map(m => ({
        id: m.id,
        uuid: m.uuid,
        topic: m.topic ?? '',
        type: m.type ?? 2,
        status: query.status ?? memory.get(m.id) ?? null,
        start_time: m.start_time ?? null,
        duration: m.duration ?? 0,
        timezone: m.timezone ?? 'UTC',
        agenda: m.agenda ?? '',
        created_at: m.created_at ?? '',
        join_url: m.join_url ?? ''
      })),
      page_size: page.page_size,
      total_records: page.total_records,
      next_page_token: page.next_page_token ?? '',
      mode
    }
  }

  /** get_meeting_recordings(id): by meeting id (latest instance) or instance uuid. */
  async function getMeetingRecordings (id: string, ctx: CallContext): Promise<RecordingsReply> {
    const mode = modeNow()
    const client = deps.clientFor(mode)
    const r = await guarded('get_meeting_recordings', id, mode, () => client.getMeetingRecordings(id, { include_fields: 'download_access_token' }, ctx.simulationHeaders))
    return toRecordings(r, mode)
  }

  /**
   * simulate_meeting_end(id) (mock mode only): ends the meeting through Zoom's own
   * PUT /meetings/{id}/status {"action":"end"}, then reads it and its recordings back.
   */
  async function simulateMeetingEnd (id: string, ctx: CallContext): Promise<EndMeetingReply> {
    mockOnly('simulate_meeting_end')
    const mode: Mode = 'mock'
    const client = deps.clientFor(mode)
    await guarded('simulate_meeting_end', id, mode, () => client.endMeeting(id, ctx.simulationHeaders))
    memory.set(Number(id), 'ended', Date.now())
    const meeting = toMeeting(await guarded('get_meeting', id, mode, () => client.getMeeting(id, ctx.simulationHeaders)), mode)
    let recordings: RecordingsReply | null = null
    try {
      recordings = toRecordings(await client.getMeetingRecordings(id, { include_fields: 'download_access_token' }, ctx.simulationHeaders), mode)
    } catch (err) {
      // Not processed yet (ZOOM_RECORDING_DELAY_MS) or not recorded to the cloud: null says so.
      if (!(err instanceof ProviderError) || err.kind !== 'not_found') throw guardedError(err, id)
    }
    return { meeting, recordings }
  }

  function guardedError (err: unknown, id: string): unknown {
    if (!(err instanceof ProviderError)) return err
    const mapped = providerErrorToServiceError('ZOOM', err, LIVE_HINT)
    return new ServiceError(mapped.statusCode, mapped.code, mapped.message, { details: { id, provider: err.toJSON() }, headers: mapped.headers })
  }

  /** clear_all_meetings() (mock mode only): the emulator forgets every meeting. */
  async function clearAllMeetings (ctx: CallContext): Promise<ClearMeetingsReply> {
    mockOnly('clear_all_meetings')
    const client = deps.clientFor('mock')
    const { cleared } = await guarded('clear_all_meetings', undefined, 'mock', () => client.clearAllMeetings(ctx.simulationHeaders))
    memory.clear()
    return { success: true, cleared, mode: 'mock' }
  }

  /** Applies a verified Zoom webhook; returns whether it changed what we know. */
  function applyWebhookEvent (event: { event?: unknown, event_ts?: unknown, payload?: unknown }): boolean {
    const object = (event.payload as { object?: { id?: unknown } } | undefined)?.object
    const id = Number(object?.id)
    const at = typeof event.event_ts === 'number' ? event.event_ts : Date.now()
    if (!Number.isSafeInteger(id)) return false
    log({ action: 'webhook', event: event.event, meeting_id: id }, 'zoom webhook')
    switch (event.event) {
      case 'meeting.started': return memory.set(id, 'started', at)
      case 'meeting.ended':
      case 'recording.completed': return memory.set(id, 'ended', at)
      case 'meeting.deleted': memory.delete(id); return true
      default: return false
    }
  }

  return {
    createMeeting,
    getMeeting,
    updateMeeting,
    deleteMeeting,
    listMeetings,
    getMeetingRecordings,
    simulateMeetingEnd,
    clearAllMeetings,
    applyWebhookEvent,
    /** The mode Zoom is in now (mock or live). */
    mode: modeNow,
    /** For tests: how many meeting statuses are remembered. */
    get rememberedStatuses () { return memory.size }
  }
}

export type ZoomService = ReturnType<typeof createZoomService>
