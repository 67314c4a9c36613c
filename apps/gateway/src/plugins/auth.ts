import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AuthFailureLimiter } from '@switchboard/service-kit/auth-failures'
import { sendError } from '@switchboard/service-kit/errors'
import { bearerToken, digestMatchesAny, tokenDigest } from '@switchboard/service-kit/tokens'

// One home for the token comparison: the services check the admin and internal tokens with it too.
export { digestMatchesAny, tokenDigest } from '@switchboard/service-kit/tokens'

/** The token of an `Authorization: Bearer …` header, or '' without one. */
export const bearerOf = (request: FastifyRequest): string => bearerToken(request.headers.authorization)

/**
 * onRequest hook: a bearer token equal to one of `accepted`, else 401 saying which token the route
 * wants and where to find it (`wants`), never anything about the tokens themselves. An address
 * past its failed-attempt limit gets 429 with Retry-After instead, whatever it presents.
 */
export function requireBearer (accepted: () => string[], wants = 'This route needs a bearer token.', failures?: AuthFailureLimiter) {
  return async function bearerAuth (request: FastifyRequest, reply: FastifyReply) {
    const wait = failures?.retryAfter(request.ip) ?? 0
    if (wait > 0) return sendError(reply.header('retry-after', String(wait)), 'GATEWAY_AUTH_RATE_LIMITED', failures!.message(wait))
    const presented = bearerOf(request)
    if (!digestMatchesAny(tokenDigest(presented), accepted()) || !presented) {
      failures?.fail(request.ip)
      const what = presented
        ? 'The bearer token sent is not accepted here.'
        : request.headers.authorization ? 'The Authorization header sent is not of the form `Bearer <token>`.' : 'No `Authorization: Bearer <token>` header was sent.'
      return sendError(reply.header('www-authenticate', 'Bearer'), 'GATEWAY_UNAUTHORIZED', `${what} ${wants}`)
    }
  }
}

/**
 * Which token a path needs: /api/admin/* the admin token, /api/automation/* and /api/zoom/* the
 * API token (or the admin token), anything else none (webhooks are authenticated by their
 * providers' signatures). The auth hook and the OpenAPI document both read it.
 */
export function tokenFor (path: string): 'admin' | 'api' | undefined {
  if (path.startsWith('/api/admin')) return 'admin'
  if (path.startsWith('/api/automation') || path === '/api/zoom' || path.startsWith('/api/zoom/')) return 'api'
  return undefined
}
