import { Agent, errors as undiciErrors, type Dispatcher } from 'undici'
import { bufferedRequest } from './buffered-request.ts'
import { prefixedError, type ServiceError } from '../server/errors.ts'
import { redactSecrets, redactText } from '../server/redact.ts'

export type ProviderErrorKind = 'rejected' | 'auth' | 'not_found' | 'rate_limited' | 'unavailable' | 'timeout' | 'unreachable'

/**
 * A provider call that did not succeed, in terms a service can act on. It never carries the
 * credentials or raw request headers, so it is safe to log and serialise: whatever the provider
 * answered (its message and body, which may echo our request) is redacted here, at the edge, before
 * it can reach a caller, a log line or a stored row.
 */
export class ProviderError extends Error {
  readonly provider: string
  readonly kind: ProviderErrorKind
  readonly statusCode: number | undefined
  readonly providerBody: unknown
  readonly retryAfter: string | undefined

  constructor (provider: string, kind: ProviderErrorKind, message: string, extra: { statusCode?: number, providerBody?: unknown, retryAfter?: string, cause?: unknown } = {}) {
    super(redactText(message), { cause: extra.cause })
    this.name = 'ProviderError'
    this.provider = provider
    this.kind = kind
    this.statusCode = extra.statusCode
    this.providerBody = redactSecrets(extra.providerBody)
    this.retryAfter = extra.retryAfter
  }

  get retryable (): boolean {
    return this.kind === 'rate_limited' || this.kind === 'unavailable' || this.kind === 'timeout' || this.kind === 'unreachable'
  }

  toJSON () {
    return { name: this.name, provider: this.provider, kind: this.kind, statusCode: this.statusCode, message: this.message, providerBody: this.providerBody }
  }
}

/** Classifies a non-2xx provider answer. */
export function kindForStatus (status: number): ProviderErrorKind {
  if (status === 401 || status === 403) return 'auth'
  if (status === 404) return 'not_found'
  if (status === 429) return 'rate_limited'
  if (status >= 500) return 'unavailable'
  return 'rejected'
}

/** A provider's message as the first sentence of ours: its own closing stop dropped, ours follows. */
const clause = (message: string) => message.replace(/\.+\s*$/, '')

/** Maps a provider failure onto our API's error envelope (code prefix per service). */
export function providerErrorToServiceError (prefix: string, err: ProviderError, hint = ''): ServiceError {
  const suffix = hint ? ` ${hint}` : ''
  const message = clause(err.message)
  switch (err.kind) {
    case 'rejected': return prefixedError(prefix, 'PROVIDER_REJECTED', `${err.provider} rejected the request: ${err.message}`, { details: err.providerBody, cause: err })
    case 'not_found': return prefixedError(prefix, 'PROVIDER_NOT_FOUND', `${err.provider} does not know it: ${err.message}`, { details: err.providerBody, cause: err })
    case 'auth': return prefixedError(prefix, 'PROVIDER_AUTH_FAILED', `${err.provider} refused our credentials (HTTP ${err.statusCode}): ${message}.${suffix}`, { cause: err })
    case 'rate_limited': {
      // Retry-After is seconds or an HTTP date.
      const after = err.retryAfter
      const wait = !after ? 'a few seconds' : /^\d+$/.test(after) ? `${after} second${after === '1' ? '' : 's'}` : after
      return prefixedError(prefix, 'PROVIDER_RATE_LIMITED', `${err.provider} is rate limiting us. Retry after ${wait}.`, { headers: err.retryAfter ? { 'retry-after': err.retryAfter } : {}, cause: err })
    }
    case 'unavailable': return prefixedError(prefix, 'PROVIDER_ERROR', `${err.provider} answered HTTP ${err.statusCode}: ${message}. Retry later.`, { cause: err })
    case 'timeout': return prefixedError(prefix, 'PROVIDER_TIMEOUT', `${err.provider} did not answer in time. Retry later.`, { cause: err })
    case 'unreachable': return prefixedError(prefix, 'PROVIDER_UNREACHABLE', `${err.provider} could not be reached: ${message}. Check the network and the provider's base URL.`, { cause: err })
  }
}

export interface ProviderResponse<T = unknown> {
  statusCode: number
  headers: Record<string, string | string[] | undefined>
  body: T
  /** The raw text of the body. */
  text: string
}

export interface ProviderRequest {
  method: Dispatcher.HttpMethod
  /** Full URL, or a path joined to baseUrl. */
  path: string
  baseUrl: string
  headers?: Record<string, string>
  query?: Record<string, string | number | undefined>
  json?: unknown
  form?: Record<string, string>
  body?: string | Buffer
  timeoutMs?: number
}

/** One keep-alive connection pool per process for all provider traffic (real or emulated). */
let sharedAgent: Agent | undefined
export function providerAgent (): Agent {
  sharedAgent ??= new Agent({ connections: 256, keepAliveTimeout: 10_000, pipelining: 1 })
  return sharedAgent
}

/**
 * Headers added to every request for a server's own origin: a service's mock-mode client calling
 * the emulator mounted on its own server carries the internal credential, so the emulator tells
 * the service's calls from a client's direct traffic (capture.ts). Never sent anywhere else.
 */
const ownOrigins = new Map<string, Record<string, string>>()
export function registerOwnOrigin (baseUrl: string, headers: Record<string, string>): void {
  ownOrigins.set(new URL(baseUrl).origin, headers)
}
export function forgetOwnOrigin (baseUrl: string): void {
  ownOrigins.delete(new URL(baseUrl).origin)
}

export function joinUrl (baseUrl: string, path: string): URL {
  if (/^https?:\/\//.test(path)) return new URL(path)
  return new URL(baseUrl.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`))
}

/**
 * Sends one request to a provider (or its emulator) and returns the parsed answer whatever its
 * status; only transport failures throw (as ProviderError 'timeout' or 'unreachable').
 */
export async function providerRequest<T = unknown> (provider: string, req: ProviderRequest, dispatcher: Dispatcher = providerAgent()): Promise<ProviderResponse<T>> {
  const url = joinUrl(req.baseUrl, req.path)
  for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v))
  const headers: Record<string, string> = { accept: 'application/json', ...req.headers, ...ownOrigins.get(url.origin) }
  let body: string | Buffer | undefined = req.body
  if (req.json !== undefined) {
    body = JSON.stringify(req.json)
    headers['content-type'] ??= 'application/json'
  } else if (req.form) {
    body = new URLSearchParams(req.form).toString()
    headers['content-type'] ??= 'application/x-www-form-urlencoded'
  }
  const timeout = req.timeoutMs ?? 10_000
  try {
    const res = await bufferedRequest(dispatcher, { origin: url.origin, path: url.pathname + url.search, method: req.method, headers, body, headersTimeout: timeout, bodyTimeout: timeout })
    const text = res.body.toString('utf8')
    let parsed: unknown = text
    const type = String(res.headers['content-type'] ?? '')
    if (text && type.includes('json')) {
      try { parsed = JSON.parse(text) } catch { parsed = text }
    }
    return { statusCode: res.statusCode, headers: res.headers, body: parsed as T, text }
  } catch (err) {
    if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) {
      throw new ProviderError(provider, 'timeout', `no answer from ${url.origin} within ${timeout} ms`, { cause: err })
    }
    throw new ProviderError(provider, 'unreachable', `${(err as NodeJS.ErrnoException).code ?? (err as Error).message} connecting to ${url.origin}`, { cause: err })
  }
}
