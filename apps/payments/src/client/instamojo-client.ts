import type { Dispatcher } from 'undici'
import { kindForStatus, ProviderError, providerRequest } from '@switchboard/service-kit/provider-client'

/**
 * A typed Instamojo client on undici for both APIs: v2 (OAuth2 client credentials → Bearer token,
 * cached until shortly before it expires) and the legacy v1.1 (X-Api-Key + X-Auth-Token). Form
 * bodies and trailing slashes, as the official SDKs send them. The same client runs in both modes;
 * only the base URL and the credentials differ. Answers are normalised to the v2 shapes.
 * @see https://docs.instamojo.com/reference/create-a-payment-request-1
 */

export type InstamojoAuth =
  | { kind: 'oauth', clientId: string, clientSecret: string }
  | { kind: 'legacy', apiKey: string, authToken: string }

export interface InstamojoClientOptions {
  /** Host root: https://test.instamojo.com, https://api.instamojo.com (v2), https://www.instamojo.com (v1.1), or the emulator (…/instamojo). */
  baseUrl: string
  /** Where the OAuth token comes from; default `${baseUrl}/oauth2/token/`. */
  tokenUrl?: string
  auth: InstamojoAuth
  timeoutMs?: number
  dispatcher?: Dispatcher
  /** Clock for the token cache (tests move it). */
  now?: () => number
  /** What the emulator's control routes need (the admin token or the internal credential). */
  emulatorHeaders?: Record<string, string>
}

export interface CreatePaymentRequestInput {
  amount: string
  purpose: string
  buyer_name?: string
  email?: string
  phone?: string
  redirect_url?: string
  webhook?: string
  send_email?: boolean
  send_sms?: boolean
  allow_repeated_payments?: boolean
}

/** The v2 payment-request object (v1.1 answers are mapped onto it; fields v1.1 lacks are null). */
export interface PaymentRequest {
  id: string
  phone: string | null
  email: string | null
  buyer_name: string | null
  amount: string
  purpose: string
  status: string
  /** Payment ids (v2 lists URLs; the id is taken from each). */
  payments: string[]
  send_sms: boolean
  send_email: boolean
  sms_status: string | null
  email_status: string | null
  shorturl: string | null
  longurl: string
  redirect_url: string | null
  webhook: string | null
  allow_repeated_payments: boolean
  created_at: string
  modified_at: string
}

export interface Payment {
  id: string
  /** "Credit" (success), "Failed", or "Initiated" (v2's null). */
  status: 'Credit' | 'Failed' | 'Initiated'
  amount: string
  fees: string | null
  currency: string
  instrument_type: string | null
  failure: { reason: string, message: string } | null
  payment_request_id: string | null
  buyer_name: string | null
  email: string | null
  phone: string | null
  created_at: string
}

const PROVIDER = 'Instamojo'
/** A token is renewed this long before Instamojo says it expires. */
const TOKEN_MARGIN_MS = 60_000

/** Instamojo's message: a string, or a DRF field map flattened to "amount: Ensure …". */
function messageOf (status: number, body: unknown): string {
  const b = body as { message?: unknown, error?: unknown, detail?: unknown, reason?: unknown } | undefined
  const m = b && typeof b === 'object' ? (b.message ?? b.detail ?? b.reason ?? b.error ?? b) : undefined
  if (typeof m === 'string' && m) return m
  if (m && typeof m === 'object') {
    const parts = Object.entries(m as Record<string, unknown>).filter(([k]) => k !== 'success').map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(' ') : String(v)}`)
    if (parts.length) return parts.join('; ')
  }
  return `HTTP ${status}`
}

function toProviderError (status: number, body: unknown, retryAfter?: string | string[]): ProviderError {
  const kind = status >= 200 && status < 300 ? 'rejected' : kindForStatus(status)
  return new ProviderError(PROVIDER, kind, messageOf(status, body), { statusCode: status, providerBody: body, ...(typeof retryAfter === 'string' ? { retryAfter } : {}) })
}

const lastSegment = (url: unknown) => typeof url === 'string' ? (/([^/]+)\/?$/.exec(url)?.[1] ?? url) : null
const str = (v: unknown) => v === undefined || v === null || v === '' ? null : String(v)

function normaliseRequest (r: Record<string, unknown>): PaymentRequest {
  const payments = Array.isArray(r.payments) ? r.payments.map(p => typeof p === 'string' ? lastSegment(p)! : String((p as { payment_id?: unknown, id?: unknown }).payment_id ?? (p as { id?: unknown }).id)) : []
  return {
    id: String(r.id),
    phone: str(r.phone),
    email: str(r.email),
    buyer_name: str(r.buyer_name),
    amount: String(r.amount),
    purpose: String(r.purpose ?? ''),
    status: String(r.status),
    payments,
    send_sms: r.send_sms === true,
    send_email: r.send_email === true,
    sms_status: str(r.sms_status),
    email_status: str(r.email_status),
    shorturl: str(r.shorturl),
    longurl: String(r.longurl),
    redirect_url: str(r.redirect_url),
    webhook: str(r.webhook),
    allow_repeated_payments: r.allow_repeated_payments !== false,
    created_at: String(r.created_at),
    modified_at: String(r.modified_at ?? r.created_at)
  }
}

function normalisePayment (p: Record<string, unknown>): Payment {
  const raw = p.status
  const status = raw === true || raw === 'Credit' ? 'Credit' : raw === false || raw === 'Failed' ? 'Failed' : 'Initiated'
  return {
    id: String(p.id ?? p.payment_id),
    status,
    amount: String(p.amount),
    fees: str(p.fees),
    currency: String(p.currency ?? 'INR'),
    instrument_type: str(p.instrument_type),
    failure: (p.failure as Payment['failure']) ?? null,
    payment_request_id: lastSegment(p.payment_request),
    buyer_name: str(p.name ?? p.buyer_name),
    email: str(p.email ?? p.buyer_email),
    phone: str(p.phone ?? p.buyer_phone),
    created_at: String(p.created_at)
  }
}

/** Form values as Instamojo's SDKs send them (booleans as "True"/"False" like the PHP SDK; unset fields left out). */
function form (input: CreatePaymentRequestInput): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined || v === null || v === '') continue
    out[k] = typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v)
  }
  return out
}

export function createInstamojoClient (opts: InstamojoClientOptions) {
  const now = opts.now ?? Date.now
  const base = opts.baseUrl.replace(/\/+$/, '')
  const v2 = opts.auth.kind === 'oauth'
  let token: { value: string, renewAt: number } | undefined
  let fetching: Promise<string> | undefined

  async function fetchToken (): Promise<string> {
    const auth = opts.auth as Extract<InstamojoAuth, { kind: 'oauth' }>
    const res = await providerRequest<{ access_token?: string, expires_in?: number }>(PROVIDER, {
      method: 'POST',
      path: opts.tokenUrl ?? '/oauth2/token/',
      baseUrl: base,
      form: { grant_type: 'client_credentials', client_id: auth.clientId, client_secret: auth.clientSecret },
      timeoutMs: opts.timeoutMs
    }, opts.dispatcher)
    if (res.statusCode !== 200 || typeof res.body?.access_token !== 'string') {
      // A refused token request is always an auth problem, whatever status carries it.
      const err = toProviderError(res.statusCode, res.body)
      throw new ProviderError(PROVIDER, res.statusCode >= 500 || res.statusCode === 429 ? err.kind : 'auth', `token request refused: ${err.message}`, { statusCode: res.statusCode, providerBody: res.body })
    }
    const ttlMs = (Number(res.body.expires_in) || 3600) * 1000
    token = { value: res.body.access_token, renewAt: now() + Math.max(ttlMs - TOKEN_MARGIN_MS, ttlMs / 2) }
    return token.value
  }

  /** The cached token, or a new one (one request at a time however many calls need it). */
  async function bearer (): Promise<string> {
    if (token && now() < token.renewAt) return token.value
    fetching ??= fetchToken().finally(() => { fetching = undefined })
    return fetching
  }

  async function call<T> (method: Dispatcher.HttpMethod, path: string, rest: { form?: Record<string, string>, query?: Record<string, string | number | undefined>, headers?: Record<string, string> } = {}) {
    const send = async () => {
      const headers: Record<string, string> = { 'user-agent': 'switchboard/1.0', ...rest.headers }
      if (opts.auth.kind === 'oauth') headers.authorization = `Bearer ${await bearer()}`
      else { headers['x-api-key'] = opts.auth.apiKey; headers['x-auth-token'] = opts.auth.authToken }
      return providerRequest<T>(PROVIDER, { method, path, baseUrl: base, headers, form: rest.form, query: rest.query, timeoutMs: opts.timeoutMs }, opts.dispatcher)
    }
    let res = await send()
    // A token revoked or forgotten before its time (e.g. the provider restarted): renew once.
    if (res.statusCode === 401 && v2 && token) {
      token = undefined
      res = await send()
    }
    return res
  }

  const ok = (res: { statusCode: number, body: unknown }) => res.statusCode >= 200 && res.statusCode < 300 && (res.body as { success?: unknown } | undefined)?.success !== false
  const fail = (res: { statusCode: number, body: unknown, headers: Record<string, string | string[] | undefined> }) => toProviderError(res.statusCode, res.body, res.headers['retry-after'])

  return {
    api: v2 ? 'v2' as const : 'v1.1' as const,

    /** POST /v2/payment_requests/ (or /api/1.1/payment-requests/) → the new payment request. */
    async createPaymentRequest (input: CreatePaymentRequestInput, extraHeaders?: Record<string, string>): Promise<PaymentRequest> {
      const res = await call<Record<string, unknown>>('POST', v2 ? '/v2/payment_requests/' : '/api/1.1/payment-requests/', { form: form(input), headers: extraHeaders })
      if (!ok(res)) throw fail(res)
      return normaliseRequest(v2 ? res.body : res.body.payment_request as Record<string, unknown>)
    },

    /** GET one payment request (v1.1 includes its payments). */
    async getPaymentRequest (id: string, extraHeaders?: Record<string, string>): Promise<PaymentRequest> {
      const res = await call<Record<string, unknown>>('GET', v2 ? `/v2/payment_requests/${encodeURIComponent(id)}/` : `/api/1.1/payment-requests/${encodeURIComponent(id)}/`, { headers: extraHeaders })
      if (!ok(res)) throw fail(res)
      return normaliseRequest(v2 ? res.body : res.body.payment_request as Record<string, unknown>)
    },

    /** GET the payment requests, newest first, one page at a time. */
    async listPaymentRequests (query: { limit?: number, page?: number } = {}): Promise<{ count: number | null, payment_requests: PaymentRequest[] }> {
      const res = await call<Record<string, unknown>>('GET', v2 ? '/v2/payment_requests/' : '/api/1.1/payment-requests/', { query })
      if (!ok(res)) throw fail(res)
      const list = (res.body.payment_requests ?? []) as Array<Record<string, unknown>>
      return { count: typeof res.body.count === 'number' ? res.body.count : null, payment_requests: list.map(normaliseRequest) }
    },

    /** GET one payment by its MOJO… id. */
    async getPayment (paymentId: string): Promise<Payment> {
      const res = await call<Record<string, unknown>>('GET', v2 ? `/v2/payments/${encodeURIComponent(paymentId)}/` : `/api/1.1/payments/${encodeURIComponent(paymentId)}/`)
      if (!ok(res)) throw fail(res)
      return normalisePayment(v2 ? res.body : res.body.payment as Record<string, unknown>)
    },

    /**
     * Emulator only (no such endpoint at Instamojo): completes a payment on a request as a buyer
     * would, with an explicit outcome or a success rate. The emulator then posts the webhook.
     */
    async completePayment (id: string, input: { outcome?: 'success' | 'failure', success_rate?: number }, extraHeaders?: Record<string, string>): Promise<{ payment: Payment, payment_request: PaymentRequest, redirect_to: string | null }> {
      const body: Record<string, string> = {}
      if (input.outcome) body.outcome = input.outcome
      if (input.success_rate !== undefined) body.success_rate = String(input.success_rate)
      const res = await providerRequest<Record<string, unknown>>(PROVIDER, { method: 'POST', path: `/_switchboard/payment_requests/${encodeURIComponent(id)}/complete`, baseUrl: base, form: body, headers: { ...opts.emulatorHeaders, ...extraHeaders }, timeoutMs: opts.timeoutMs }, opts.dispatcher)
      if (!ok(res)) throw fail(res)
      return { payment: normalisePayment(res.body.payment as Record<string, unknown>), payment_request: normaliseRequest(res.body.payment_request as Record<string, unknown>), redirect_to: str(res.body.redirect_to) }
    }
  }
}

export type InstamojoClient = ReturnType<typeof createInstamojoClient>
