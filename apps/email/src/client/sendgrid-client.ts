import type { Dispatcher } from 'undici'
import { kindForStatus, ProviderError, providerRequest } from '@switchboard/service-kit/provider-client'

/** The parts of a SendGrid v3 mail/send body this project sends. */
export interface MailSendBody {
  personalizations: Array<{ to: Array<{ email: string, name?: string }>, subject?: string, custom_args?: Record<string, string> }>
  from: { email: string, name?: string }
  subject?: string
  content: Array<{ type: string, value: string }>
  categories?: string[]
  custom_args?: Record<string, string>
  mail_settings?: { sandbox_mode?: { enable: boolean } }
}

export interface SendGridErrorItem { message: string, field: string | null, help?: unknown }

export interface SendGridClientOptions {
  /** https://api.sendgrid.com in live mode; the emulator (…/sendgrid) in mock mode. */
  baseUrl: string
  apiKey: string
  timeoutMs?: number
  dispatcher?: Dispatcher
}

const PROVIDER = 'SendGrid'

function toProviderError (status: number, body: unknown, retryAfter?: string): ProviderError {
  const errors = (body as { errors?: SendGridErrorItem[] } | undefined)?.errors
  const message = Array.isArray(errors) && errors.length
    ? errors.map(e => e.field && e.field !== 'null' ? `${e.message} (${e.field})` : e.message).join('; ')
    : `HTTP ${status}`
  // SendGrid's 403 is either the key (no permission: our credentials) or a from address that is not
  // a verified Sender Identity (field "from"): the request's, so refused as a request is (422
  // …_PROVIDER_REJECTED naming the sender), never "check SENDGRID_API_KEY", which is not the problem.
  const kind = status === 403 && Array.isArray(errors) && errors.some(e => e?.field === 'from') ? 'rejected' : kindForStatus(status)
  return new ProviderError(PROVIDER, kind, message, { statusCode: status, providerBody: body, ...(retryAfter ? { retryAfter } : {}) })
}

/**
 * A typed SendGrid v3 client on undici. The same client runs in both modes; only baseUrl and the
 * key differ. Non-2xx answers become ProviderError with SendGrid's error list kept as providerBody.
 * @see https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send
 */
export function createSendGridClient (opts: SendGridClientOptions) {
  const headers = (extra?: Record<string, string>) => ({ authorization: `Bearer ${opts.apiKey}`, 'user-agent': 'switchboard/1.0', ...extra })
  const call = <T>(method: Dispatcher.HttpMethod, path: string, rest: { json?: unknown, query?: Record<string, string | number | undefined>, headers?: Record<string, string> } = {}) =>
    providerRequest<T>(PROVIDER, { method, path, baseUrl: opts.baseUrl, headers: headers(rest.headers), json: rest.json, query: rest.query, timeoutMs: opts.timeoutMs }, opts.dispatcher)

  return {
    /** POST /v3/mail/send → the X-Message-Id (null in sandbox mode, which answers 200 and queues nothing). */
    async sendMail (body: MailSendBody, extraHeaders?: Record<string, string>): Promise<{ messageId: string | null, statusCode: number }> {
      const res = await call('POST', '/v3/mail/send', { json: body, headers: extraHeaders })
      if (res.statusCode === 202 || res.statusCode === 200) {
        const id = res.headers['x-message-id']
        return { messageId: typeof id === 'string' ? id : null, statusCode: res.statusCode }
      }
      throw toProviderError(res.statusCode, res.body, res.headers['retry-after'] as string | undefined)
    },

    /** GET /v3/stats: global stats per day, week or month. */
    async getStats (query: { start_date: string, end_date?: string, aggregated_by?: 'day' | 'week' | 'month' }) {
      const res = await call<Array<{ date: string, stats: Array<{ metrics: Record<string, number> }> }>>('GET', '/v3/stats', { query })
      if (res.statusCode !== 200) throw toProviderError(res.statusCode, res.body)
      return res.body
    },

    /** The Event Webhook's public key (base64 SPKI DER), for verifying signed event posts. */
    async getEventWebhookPublicKey (): Promise<string> {
      const res = await call<{ public_key: string }>('GET', '/v3/user/webhooks/event/settings/signed')
      if (res.statusCode !== 200) throw toProviderError(res.statusCode, res.body)
      return res.body.public_key
    }
  }
}

export type SendGridClient = ReturnType<typeof createSendGridClient>
