import { request, type Dispatcher } from 'undici'
import { registerSecrets } from '@switchboard/service-kit/redact'
import { kindForStatus, ProviderError, providerAgent, providerRequest, type ProviderResponse } from '@switchboard/service-kit/provider-client'

// ---- Zoom's wire types (the fields this project reads; Zoom sends more) -------------------------

export interface ZoomMeetingSettings {
  host_video?: boolean
  participant_video?: boolean
  join_before_host?: boolean
  mute_upon_entry?: boolean
  waiting_room?: boolean
  auto_recording?: 'local' | 'cloud' | 'none'
  [key: string]: unknown
}

/** A create/update body (POST /users/{userId}/meetings, PATCH /meetings/{id}). */
export interface ZoomMeetingBody {
  topic?: string
  type?: 1 | 2 | 3 | 8
  start_time?: string
  duration?: number
  timezone?: string
  agenda?: string
  password?: string
  settings?: ZoomMeetingSettings
}

export interface ZoomMeeting {
  id: number
  uuid: string
  host_id: string
  host_email?: string
  topic: string
  type: number
  /** "waiting" | "started"; the emulator also answers "finished" once the meeting ended. */
  status?: string
  start_time?: string
  duration?: number
  timezone?: string
  agenda?: string
  created_at: string
  start_url?: string
  join_url: string
  password?: string
  settings?: ZoomMeetingSettings
}

export interface ZoomMeetingListItem {
  id: number
  uuid: string
  host_id: string
  topic: string
  type: number
  start_time?: string
  duration?: number
  timezone?: string
  agenda?: string
  created_at: string
  join_url: string
}

export interface ZoomMeetingList {
  page_size: number
  total_records: number
  next_page_token: string
  meetings: ZoomMeetingListItem[]
}

export interface ZoomRecordingFile {
  id: string
  meeting_id: string
  recording_start: string
  recording_end: string
  file_type: string
  file_extension?: string
  file_size: number
  play_url?: string
  download_url: string
  status: string
  recording_type: string
}

export interface ZoomRecordings {
  uuid: string
  id: number
  account_id?: string
  host_id: string
  topic: string
  type?: number
  start_time: string
  timezone?: string
  duration: number
  total_size: number
  recording_count: number
  share_url?: string
  recording_files: ZoomRecordingFile[]
  download_access_token?: string
  password?: string
}

export type ListType = 'scheduled' | 'live' | 'upcoming' | 'upcoming_meetings' | 'previous_meetings'

// ---- the client --------------------------------------------------------------------------------

export interface CachedToken {
  accessToken: string
  /** Epoch ms at which Zoom said the token expires. */
  expiresAt: number
}

/** Where the client keeps its access token (in memory by default; shared stores are possible, as in Rivet). */
export interface TokenStore {
  get (): CachedToken | undefined
  set (token: CachedToken | undefined): void
}

export interface ZoomClientOptions {
  /** https://api.zoom.us/v2 in live mode; the emulator (…/zoom/v2) in mock mode. */
  apiBaseUrl: string
  /** https://zoom.us in live mode (POST /oauth/token); the emulator (…/zoom) in mock mode. */
  oauthBaseUrl: string
  accountId: string
  clientId: string
  clientSecret: string
  timeoutMs?: number
  dispatcher?: Dispatcher
  /** Refresh this long before expiry (Rivet uses 60 s). */
  refreshMarginSeconds?: number
  tokenStore?: TokenStore
  /** The emulator's own controls (mock mode only): …/zoom. */
  emulatorBaseUrl?: string
  /** What the emulator's control routes need (the admin token or the internal credential). */
  emulatorHeaders?: Record<string, string>
  /**
   * The time a token's life is measured on: real time for Zoom; the emulators' clock in mock mode,
   * whose tokens expire on it, so a token an advance of the test clock outlived is renewed before
   * it is refused (a refused one cost a failed call in the journal, then a retry).
   */
  now?: () => number
}

const PROVIDER = 'Zoom'

/**
 * Meeting ids go in the path as they are; a uuid is URL-encoded, twice when it starts with "/" or
 * contains "//", as Zoom requires (providers.md §5).
 */
export function meetingPathId (idOrUuid: string | number): string {
  const s = String(idOrUuid)
  const once = encodeURIComponent(s)
  return s.startsWith('/') || s.includes('//') ? encodeURIComponent(once) : once
}

function apiError (status: number, body: unknown, retryAfter?: string): ProviderError {
  const b = body as { code?: number, message?: string, errors?: Array<{ field?: string, message?: string }> } | undefined
  let message = typeof b?.message === 'string' ? b.message : `HTTP ${status}`
  if (Array.isArray(b?.errors) && b.errors.length) message += ` (${b.errors.map(e => `${e.field}: ${e.message}`).join('; ')})`
  return new ProviderError(PROVIDER, kindForStatus(status), message, { statusCode: status, providerBody: body, ...(retryAfter ? { retryAfter } : {}) })
}

function memoryStore (): TokenStore {
  let token: CachedToken | undefined
  return { get: () => token, set: (t) => { token = t } }
}

/**
 * A typed Zoom client on undici: Server-to-Server OAuth (account credentials → a one-hour Bearer
 * token, cached and refreshed before expiry, one refresh shared by concurrent calls) and the
 * meeting and cloud-recording endpoints. The same client runs in both modes; only the base URLs
 * and credentials differ. Non-2xx answers become ProviderError with Zoom's body kept.
 * @see https://developers.zoom.us/docs/internal-apps/s2s-oauth/
 */
export function createZoomClient (opts: ZoomClientOptions) {
  const basic = Buffer.from(`${opts.clientId}:${opts.clientSecret}`).toString('base64')
  // The Basic credential is the secret in another form: a provider (or a proxy) that echoes the
  // token request back in an error would otherwise hand it to the caller, a log line or a row.
  registerSecrets([basic])
  const store = opts.tokenStore ?? memoryStore()
  const marginMs = (opts.refreshMarginSeconds ?? 60) * 1000
  const now = opts.now ?? Date.now
  let inflight: Promise<CachedToken> | undefined
  let tokenRequests = 0

  async function fetchToken (): Promise<CachedToken> {
    tokenRequests++
    const res = await providerRequest<{ access_token?: unknown, expires_in?: unknown, reason?: string, error?: string }>(PROVIDER, {
      method: 'POST',
      baseUrl: opts.oauthBaseUrl,
      path: '/oauth/token',
      headers: { authorization: `Basic ${basic}`, 'user-agent': 'switchboard/1.0' },
      form: { grant_type: 'account_credentials', account_id: opts.accountId },
      timeoutMs: opts.timeoutMs
    }, opts.dispatcher)
    const b = res.body
    if (res.statusCode === 200 && typeof b?.access_token === 'string' && typeof b.expires_in === 'number') {
      return { accessToken: b.access_token, expiresAt: now() + b.expires_in * 1000 }
    }
    const message = b && typeof b === 'object' && b.reason ? `${b.reason} (${b.error})` : `token request answered HTTP ${res.statusCode}`
    // A refused token request is a credentials problem whatever its 4xx; 429 and 5xx are Zoom's.
    const kind = res.statusCode === 429 ? 'rate_limited' : res.statusCode >= 500 ? 'unavailable' : 'auth'
    throw new ProviderError(PROVIDER, kind, message, { statusCode: res.statusCode, providerBody: b, ...(res.headers['retry-after'] ? { retryAfter: String(res.headers['retry-after']) } : {}) })
  }

  /** A token with more than the margin left, refreshing once for all concurrent callers. */
  async function accessToken (): Promise<string> {
    const cached = store.get()
    if (cached && cached.expiresAt - marginMs > now()) return cached.accessToken
    inflight ??= fetchToken().then(t => { store.set(t); return t }).finally(() => { inflight = undefined })
    return (await inflight).accessToken
  }

  type CallOptions = { json?: unknown, query?: Record<string, string | number | undefined>, headers?: Record<string, string> }

  /** One API call; a 401 "code 124" (expired or revoked token) refreshes the token and retries once. */
  async function call<T> (method: Dispatcher.HttpMethod, baseUrl: string, path: string, rest: CallOptions = {}): Promise<ProviderResponse<T>> {
    for (let attempt = 0; ; attempt++) {
      const token = await accessToken()
      const res = await providerRequest<T>(PROVIDER, {
        method,
        path,
        baseUrl,
        headers: { authorization: `Bearer ${token}`, 'user-agent': 'switchboard/1.0', ...rest.headers },
        json: rest.json,
        query: rest.query,
        timeoutMs: opts.timeoutMs
      }, opts.dispatcher)
      const code = (res.body as { code?: unknown } | undefined)?.code
      if (res.statusCode === 401 && code === 124 && attempt === 0) {
        // Drop it only if no one replaced it meanwhile.
        if (store.get()?.accessToken === token) store.set(undefined)
        continue
      }
      return res
    }
  }

  const api = <T>(method: Dispatcher.HttpMethod, path: string, rest?: CallOptions) => call<T>(method, opts.apiBaseUrl, path, rest)
  const expect = <T>(res: ProviderResponse<T>, status: number): T => {
    if (res.statusCode !== status) throw apiError(res.statusCode, res.body, res.headers['retry-after'] as string | undefined)
    return res.body
  }
  const emulator = () => {
    if (!opts.emulatorBaseUrl) throw new Error('this call exists only on the Switchboard Zoom emulator')
    return opts.emulatorBaseUrl
  }

  return {
    /** How many token requests this client made (the single-flight refresh makes this small). */
    get tokenRequests () { return tokenRequests },
    accessToken,

    /** POST /users/{userId}/meetings → 201 */
    async createMeeting (userId: string, body: ZoomMeetingBody, headers?: Record<string, string>): Promise<ZoomMeeting> {
      return expect(await api<ZoomMeeting>('POST', `/users/${encodeURIComponent(userId)}/meetings`, { json: body, headers }), 201)
    },

    /** GET /meetings/{meetingId} */
    async getMeeting (meetingId: number | string, headers?: Record<string, string>): Promise<ZoomMeeting> {
      return expect(await api<ZoomMeeting>('GET', `/meetings/${meetingPathId(meetingId)}`, { headers }), 200)
    },

    /** PATCH /meetings/{meetingId} → 204 */
    async updateMeeting (meetingId: number | string, body: ZoomMeetingBody, headers?: Record<string, string>): Promise<void> {
      expect(await api('PATCH', `/meetings/${meetingPathId(meetingId)}`, { json: body, headers }), 204)
    },

    /** DELETE /meetings/{meetingId} → 204 */
    async deleteMeeting (meetingId: number | string, headers?: Record<string, string>): Promise<void> {
      expect(await api('DELETE', `/meetings/${meetingPathId(meetingId)}`, { headers }), 204)
    },

    /** GET /users/{userId}/meetings (page_size ≤ 300, next_page_token) */
    async listMeetings (userId: string, query: { type?: ListType, page_size?: number, next_page_token?: string } = {}, headers?: Record<string, string>): Promise<ZoomMeetingList> {
      return expect(await api<ZoomMeetingList>('GET', `/users/${encodeURIComponent(userId)}/meetings`, { query, headers }), 200)
    },

    /** PUT /meetings/{meetingId}/status {"action":"end"} → 204 */
    async endMeeting (meetingId: number | string, headers?: Record<string, string>): Promise<void> {
      expect(await api('PUT', `/meetings/${meetingPathId(meetingId)}/status`, { json: { action: 'end' }, headers }), 204)
    },

    /** GET /meetings/{meetingId}/recordings (numeric id: latest instance; or an instance uuid) */
    async getMeetingRecordings (meetingIdOrUuid: number | string, query: { include_fields?: 'download_access_token', ttl?: number } = {}, headers?: Record<string, string>): Promise<ZoomRecordings> {
      return expect(await api<ZoomRecordings>('GET', `/meetings/${meetingPathId(meetingIdOrUuid)}/recordings`, { query, headers }), 200)
    },

    /** Downloads a recording file from its download_url with the Bearer token (following Zoom's redirect). */
    async downloadRecording (downloadUrl: string): Promise<{ bytes: Buffer, contentType: string }> {
      const timeout = opts.timeoutMs ?? 10_000
      for (let attempt = 0; ; attempt++) {
        const token = await accessToken()
        let res: Dispatcher.ResponseData | undefined
        let url = downloadUrl
        try {
          // Zoom answers the download URL with a redirect to its storage; the token goes to Zoom only.
          for (let hop = 0; hop < 4; hop++) {
            const headers: Record<string, string> = hop === 0 ? { authorization: `Bearer ${token}` } : {}
            res = await request(url, { method: 'GET', headers, dispatcher: opts.dispatcher ?? providerAgent(), headersTimeout: timeout, bodyTimeout: timeout })
            const location = res.headers.location
            if (res.statusCode < 300 || res.statusCode > 399 || typeof location !== 'string') break
            await res.body.dump()
            url = new URL(location, url).toString()
          }
        } catch (err) {
          throw new ProviderError(PROVIDER, 'unreachable', (err as Error).message, { cause: err })
        }
        if (!res) throw new ProviderError(PROVIDER, 'unreachable', 'no answer')
        const bytes = Buffer.from(await res.body.arrayBuffer())
        if (res.statusCode === 200) return { bytes, contentType: String(res.headers['content-type'] ?? '') }
        let body: unknown = bytes.toString('utf8')
        try { body = JSON.parse(body as string) } catch { /* not JSON */ }
        if (res.statusCode === 401 && (body as { code?: unknown }).code === 124 && attempt === 0) {
          if (store.get()?.accessToken === token) store.set(undefined)
          continue
        }
        throw apiError(res.statusCode, body)
      }
    },

    /** Emulator only: forgets every meeting. */
    async clearAllMeetings (headers?: Record<string, string>): Promise<{ cleared: number }> {
      return expect(await call<{ cleared: number }>('DELETE', emulator(), '/_switchboard/meetings', { headers: { ...opts.emulatorHeaders, ...headers } }), 200)
    },

    /** Emulator only: sends the url_validation challenge to the webhook URL and reports the answer. */
    async validateWebhookEndpoint (url?: string): Promise<{ url: string | null, valid: boolean, status: number | null, message: string }> {
      return expect(await call<{ url: string | null, valid: boolean, status: number | null, message: string }>('POST', emulator(), '/_switchboard/webhooks/validate', { json: url ? { url } : {}, headers: opts.emulatorHeaders }), 200)
    }
  }
}

export type ZoomClient = ReturnType<typeof createZoomClient>
