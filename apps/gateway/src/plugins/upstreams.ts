import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Agent, type Dispatcher } from 'undici'
import { bufferedRequest } from '@switchboard/service-kit/buffered-request'
import { sendError } from '@switchboard/service-kit/errors'
import { forwardedKey, IDEMPOTENCY_HEADER } from '@switchboard/service-kit/idempotency'
import type { ServiceName } from '@switchboard/service-kit/services'
import { INTERNAL_HEADER } from '@switchboard/service-kit/tokens'

export type Upstreams = Record<ServiceName, string>

declare module 'fastify' {
  interface FastifyInstance {
    upstreams: Upstreams
    /** The internal credential, for the gateway's own calls to a service (status, reset). */
    upstreamHeaders: Record<string, string>
    /**
     * Forwards the request to a service path (the request's query string is added when the path
     * has none); upstream failures become clear 502/503/504s.
     */
    forward: (request: FastifyRequest, reply: FastifyReply, service: ServiceName, path: string) => void
  }
}

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT'])
const TIMEOUT_ERRORS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

function errorCode (err: unknown): string {
  let e = err as { code?: string, cause?: unknown } | undefined
  for (let depth = 0; e && depth < 4; depth++) {
    if (e.code && (CONNECT_ERRORS.has(e.code) || TIMEOUT_ERRORS.has(e.code))) return e.code
    e = e.cause as typeof e
  }
  return (err as { code?: string })?.code ?? 'UNKNOWN'
}

/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the ones the
 * forwarder sets itself: none of them crosses the hop. The gateway's own bearer token stays at
 * the gateway; the internal credential is the gateway's to add, never a caller's to pass on.
 */
const HOP_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'http2-settings', 'expect', 'host', 'content-length', 'authorization', INTERNAL_HEADER])

function connectionListed (value: string | string[] | undefined): string[] {
  return typeof value === 'string' ? value.toLowerCase().split(',').map(name => name.trim()).filter(Boolean) : []
}

function requestHeaders (request: FastifyRequest, hasBody: boolean, internalToken: string): Record<string, string | string[]> {
  const incoming = request.headers
  const listed = connectionListed(incoming.connection)
  const out: Record<string, string | string[]> = {}
  for (const name in incoming) {
    const value = incoming[name]
    if (value === undefined || HOP_HEADERS.has(name) || (listed.length && listed.includes(name))) continue
    if (!hasBody && name === 'content-type') continue
    out[name] = value
  }
  out['x-request-id'] = request.id
  // The service keeps its own copy of the answer under the key, scoped to this caller: a retry
  // after a gateway timeout or crash finds the service's answer instead of sending again.
  if (request.idempotency) out[IDEMPOTENCY_HEADER] = forwardedKey(request.idempotency)
  out['x-forwarded-for'] = request.ip
  out[INTERNAL_HEADER] = internalToken
  return out
}

/**
 * The body as the service gets it: webhook routes' raw bytes unchanged (the provider's signature
 * covers them), a validated JSON body re-encoded, a text body as is, no body as none.
 */
function forwardedBody (request: FastifyRequest, headers: Record<string, string | string[]>): string | Buffer | undefined {
  const body = request.body
  if (body === undefined || body === null) return undefined
  if (Buffer.isBuffer(body) || typeof body === 'string') return body
  headers['content-type'] = 'application/json'
  return JSON.stringify(body)
}

/**
 * One keep-alive pool per service, each answer read whole and sent on as one Buffer, with our error
 * envelope on failure. Every answer a service gives is a small JSON document (a bulk reply of 10,000
 * is about a megabyte), so buffering costs nothing a user would see and saves the stream plumbing of
 * a piped reply on every call (about 40 µs of the gateway's CPU per request before this).
 */
export default fp<{ upstreams: Upstreams, timeoutMs: number, internalToken: string }>(async (app, opts) => {
  const agent = new Agent({ connections: 128, pipelining: 1, keepAliveTimeout: 10_000, connectTimeout: 2_000 })
  app.addHook('onClose', async () => { await agent.close() })
  const bases = Object.fromEntries(Object.entries(opts.upstreams).map(([service, base]) => [service, new URL(base.replace(/\/+$/, ''))])) as Record<ServiceName, URL>

  app.decorate('upstreams', opts.upstreams)
  app.decorate('upstreamHeaders', { [INTERNAL_HEADER]: opts.internalToken })
  app.decorate('forward', function (request: FastifyRequest, reply: FastifyReply, service: ServiceName, path: string) {
    const base = bases[service]
    const queryAt = request.url.indexOf('?')
    const fullPath = `${base.pathname === '/' ? '' : base.pathname}${path}${!path.includes('?') && queryAt >= 0 ? request.url.slice(queryAt) : ''}`
    const headers = requestHeaders(request, request.body !== undefined && request.body !== null, opts.internalToken)
    const body = forwardedBody(request, headers)
    bufferedRequest(agent, { origin: base.origin, path: fullPath, method: request.method as Dispatcher.HttpMethod, headers, body, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs }).then(res => {
      // Even when the caller hung up while the service worked, the answer goes through the reply's
      // hooks: an Idempotency-Key keeps it, so the caller's retry gets it instead of a second send.
      if (res.statusCode < 200 || res.statusCode > 599) throw Object.assign(new Error(`status ${res.statusCode}`), { code: 'BAD_STATUS' })
      const listed = connectionListed(res.headers.connection)
      for (const name in res.headers) {
        if (HOP_HEADERS.has(name) || (listed.length && listed.includes(name))) continue
        reply.header(name, res.headers[name])
      }
      reply.code(res.statusCode).send(res.body)
    }).catch((error: unknown) => {
      if (reply.sent) return
      const code = errorCode(error)
      const where = `the ${service} service (${opts.upstreams[service]})`
      request.log.warn({ err: error, upstream: service, code }, 'upstream failed')
      if (TIMEOUT_ERRORS.has(code)) {
        return sendError(reply, 'GATEWAY_UPSTREAM_TIMEOUT', `${where} did not answer within ${opts.timeoutMs} ms. Retry; if it keeps happening, check that service's logs.`)
      }
      if (CONNECT_ERRORS.has(code)) {
        return sendError(reply, 'GATEWAY_UPSTREAM_UNAVAILABLE', `${where} is not reachable (${code}). Is it running? Retry once it is.`)
      }
      return sendError(reply, 'GATEWAY_UPSTREAM_ERROR', `${where} failed to answer properly. Retry; the gateway logs have request id ${request.id}.`)
    })
  })
}, { name: 'upstreams' })
