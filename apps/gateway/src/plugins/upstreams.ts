import fp from 'fastify-plugin'
import replyFrom from '@fastify/reply-from'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { errorBody } from '@switchboard/service-kit/errors'
import type { ServiceName } from '@switchboard/service-kit/services'

export type Upstreams = Record<ServiceName, string>

declare module 'fastify' {
  interface FastifyInstance {
    upstreams: Upstreams
    /** Forwards the request to a service path; upstream failures become clear 502/503/504s. */
    forward: (request: FastifyRequest, reply: FastifyReply, service: ServiceName, path: string) => void
  }
}

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT'])
const TIMEOUT_ERRORS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'FST_REPLY_FROM_GATEWAY_TIMEOUT'])

function errorCode (err: unknown): string {
  let e = err as { code?: string, cause?: unknown } | undefined
  for (let depth = 0; e && depth < 4; depth++) {
    if (e.code && (CONNECT_ERRORS.has(e.code) || TIMEOUT_ERRORS.has(e.code))) return e.code
    e = e.cause as typeof e
  }
  return (err as { code?: string })?.code ?? 'UNKNOWN'
}

/** reply-from on undici, one keep-alive pool per service, with our error envelope on failure. */
export default fp<{ upstreams: Upstreams, timeoutMs: number }>(async (app, opts) => {
  await app.register(replyFrom, {
    undici: { connections: 128, pipelining: 1, keepAliveTimeout: 10_000, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs, connectTimeout: 2_000 },
    // The gateway's own bearer token stays at the gateway.
    disableRequestLogging: true
  })
  app.decorate('upstreams', opts.upstreams)
  app.decorate('forward', function (this: typeof app, request: FastifyRequest, reply: FastifyReply, service: ServiceName, path: string) {
    const url = `${opts.upstreams[service].replace(/\/+$/, '')}${path}`
    // Raw bodies (webhook routes) go out byte for byte: reply-from would JSON-encode a Buffer
    // sent as application/json, and the provider's signature covers the exact bytes.
    const raw = Buffer.isBuffer(request.body) ? { body: request.body, contentType: String(request.headers['content-type'] ?? 'application/octet-stream') } : {}
    reply.from(url, {
      ...raw,
      rewriteRequestHeaders: (_req, headers) => {
        const { authorization: _auth, host: _host, ...rest } = headers
        return { ...rest, 'x-request-id': request.id, 'x-forwarded-for': request.ip }
      },
      onError: (r, { error }) => {
        const code = errorCode(error)
        const where = `the ${service} service (${opts.upstreams[service]})`
        request.log.warn({ err: error, upstream: service, code }, 'upstream failed')
        if (TIMEOUT_ERRORS.has(code)) {
          return r.code(504).send(errorBody(504, 'GATEWAY_UPSTREAM_TIMEOUT', `${where} did not answer within ${opts.timeoutMs} ms. Retry; if it keeps happening, check that service's logs.`, request.id))
        }
        if (CONNECT_ERRORS.has(code)) {
          return r.code(503).send(errorBody(503, 'GATEWAY_UPSTREAM_UNAVAILABLE', `${where} is not reachable (${code}). Is it running? Retry once it is.`, request.id))
        }
        return r.code(502).send(errorBody(502, 'GATEWAY_UPSTREAM_ERROR', `${where} failed to answer properly. Retry; the gateway logs have request id ${request.id}.`, request.id))
      }
    })
  })
}, { name: 'upstreams' })
