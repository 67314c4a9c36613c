import type { Dispatcher } from 'undici'
import { kindForStatus, ProviderError, providerRequest } from '@switchboard/service-kit/provider-client'

/** One campaign send (the apiKey is added by the client). Field names are AiSensy's. */
export interface CampaignMessage {
  campaignName: string
  destination: string
  userName: string
  source?: string
  templateParams?: string[]
  media?: { url: string, filename?: string } | Record<string, never>
  tags?: string[]
  attributes?: Record<string, string>
  // v2 only:
  buttons?: Array<{ type: 'button', sub_type: 'url' | 'copy_code' | 'quick_reply', index: number | string, parameters: Array<{ type: 'text', text: string }> }>
  carouselCards?: unknown[]
  location?: Record<string, unknown>
  paramsFallbackValue?: Record<string, string>
}

const V2_ONLY = ['buttons', 'carouselCards', 'location', 'paramsFallbackValue'] as const

export interface AiSensyClientOptions {
  /** https://backend.aisensy.com in live mode; the emulator (…/aisensy) in mock mode. */
  baseUrl: string
  apiKey: string
  /** v2 (default) posts to /campaign/t1/api/v2; v1 to /campaign/t1/api without the v2 fields. */
  version?: 'v1' | 'v2'
  timeoutMs?: number
  dispatcher?: Dispatcher
}

const PROVIDER = 'AiSensy'

interface AiSensyBody {
  success?: unknown
  submitted_message_id?: unknown
  message?: unknown
  errorMessage?: unknown
  error?: unknown
}

function describe (status: number, body: unknown): string {
  const b = (typeof body === 'object' && body !== null ? body : {}) as AiSensyBody
  for (const v of [b.message, b.errorMessage, b.error]) if (typeof v === 'string' && v) return v
  // A 5xx with an empty body (`503 {}`) is how integrators recorded AiSensy's passing failures.
  return status >= 500 ? 'no error message (an empty answer, as AiSensy gives when it is briefly unavailable)' : `HTTP ${status} with no error message`
}

/**
 * A typed AiSensy campaign-API client on undici; the same client in both modes, only baseUrl and
 * the key differ. A send succeeds only with a submitted_message_id: a non-2xx answer, or a 200
 * carrying `error` (some integrators report failures that way), becomes a ProviderError with
 * AiSensy's body kept as providerBody.
 * @see https://aisensy.com/docs/api-docs/api-reference-docs/
 */
export function createAiSensyClient (opts: AiSensyClientOptions) {
  const version = opts.version ?? 'v2'
  const path = version === 'v2' ? '/campaign/t1/api/v2' : '/campaign/t1/api'

  return {
    version,

    /** POST /campaign/t1/api[/v2] → the submitted_message_id. */
    async sendCampaignMessage (message: CampaignMessage, extraHeaders?: Record<string, string>): Promise<{ submittedMessageId: string, statusCode: number }> {
      const body: Record<string, unknown> = { apiKey: opts.apiKey, ...message }
      if (version === 'v1') for (const k of V2_ONLY) delete body[k]
      const res = await providerRequest<AiSensyBody>(PROVIDER, {
        method: 'POST',
        path,
        baseUrl: opts.baseUrl,
        headers: { 'user-agent': 'switchboard/1.0', ...extraHeaders },
        json: body,
        timeoutMs: opts.timeoutMs
      }, opts.dispatcher)
      const b = res.body
      if (res.statusCode >= 200 && res.statusCode < 300) {
        const ok = typeof b === 'object' && b !== null && (b.success === true || b.success === 'true') && b.error === undefined
        if (ok && typeof b.submitted_message_id === 'string' && b.submitted_message_id) {
          return { submittedMessageId: b.submitted_message_id, statusCode: res.statusCode }
        }
        throw new ProviderError(PROVIDER, 'rejected', describe(res.statusCode, b), { statusCode: res.statusCode, providerBody: b })
      }
      const retryAfter = res.headers['retry-after']
      throw new ProviderError(PROVIDER, kindForStatus(res.statusCode), describe(res.statusCode, b), {
        statusCode: res.statusCode, providerBody: b, ...(typeof retryAfter === 'string' ? { retryAfter } : {})
      })
    }
  }
}

export type AiSensyClient = ReturnType<typeof createAiSensyClient>
