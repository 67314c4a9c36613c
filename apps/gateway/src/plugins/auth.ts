import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { errorBody } from '@switchboard/service-kit/errors'

// Hashing first gives equal-length buffers, so the comparison time says nothing about the token.
const digest = (s: string) => createHash('sha256').update(s).digest()
// The configured tokens' digests, computed once rather than on every request (a handful of tokens).
const expectedDigests = new Map<string, Buffer>()
function expectedDigest (token: string): Buffer {
  let d = expectedDigests.get(token)
  if (d === undefined) {
    if (expectedDigests.size >= 16) expectedDigests.clear()
    expectedDigests.set(token, d = digest(token))
  }
  return d
}
export function tokenMatches (presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), expectedDigest(expected))
}

/** onRequest hook: a bearer token equal to one of `accepted`, else 401 with no detail. */
export function requireBearer (accepted: () => string[]) {
  return async function bearerAuth (request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers.authorization
    const presented = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : ''
    // Check every token (no early exit) to keep timing flat.
    let ok = false
    for (const token of accepted()) ok = tokenMatches(presented, token) || ok
    if (!presented || !ok) {
      return reply.code(401).header('www-authenticate', 'Bearer').send(errorBody(401, 'GATEWAY_UNAUTHORIZED', 'Unauthorized', request.id))
    }
  }
}
