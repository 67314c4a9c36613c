import { hash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { errorBody } from '@switchboard/service-kit/errors'

// Comparing digests gives equal-length buffers, so the comparison time says nothing about the
// token. crypto.hash is the one-shot form: no Hash object per request.
export const tokenDigest = (token: string): Buffer => hash('sha256', token, 'buffer')

// The configured tokens' digests, computed once rather than on every request (a handful of tokens).
const expectedDigests = new Map<string, Buffer>()
function expectedDigest (token: string): Buffer {
  let d = expectedDigests.get(token)
  if (d === undefined) {
    if (expectedDigests.size >= 16) expectedDigests.clear()
    expectedDigests.set(token, d = tokenDigest(token))
  }
  return d
}

/** Whether a presented token's digest is one of `accepted`, compared with every one (no early exit). */
export function digestMatchesAny (presented: Buffer, accepted: string[]): boolean {
  let ok = false
  for (const token of accepted) ok = timingSafeEqual(presented, expectedDigest(token)) || ok
  return ok
}

/** The token of an `Authorization: Bearer …` header, or '' without one. */
export function bearerOf (request: FastifyRequest): string {
  const header = request.headers.authorization
  return typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : ''
}

/**
 * onRequest hook: a bearer token equal to one of `accepted`, else 401 saying which token the route
 * wants and where to find it (`wants`), never anything about the tokens themselves.
 */
export function requireBearer (accepted: () => string[], wants = 'This route needs a bearer token.') {
  return async function bearerAuth (request: FastifyRequest, reply: FastifyReply) {
    const presented = bearerOf(request)
    if (!digestMatchesAny(tokenDigest(presented), accepted()) || !presented) {
      const what = presented ? 'The bearer token sent is not accepted here.' : 'No `Authorization: Bearer <token>` header was sent.'
      return reply.code(401).header('www-authenticate', 'Bearer').send(errorBody(401, 'GATEWAY_UNAUTHORIZED', `${what} ${wants}`, request.id))
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
