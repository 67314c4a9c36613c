import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { CodePrefix } from './error-codes.ts'
import { prefixedError, type ServiceError } from './errors.ts'

/**
 * What every webhook receiver shares, so each sets it up one way. A provider's own wire knowledge
 * (its headers, signature, payload) lives in its app's `src/<provider>-webhooks.ts`; this is the
 * Fastify side: read the body as the exact bytes, and refuse with one code.
 */

export interface RawBodyOptions {
  /** Largest body accepted, in bytes; the server's limit when not given. */
  bodyLimit?: number
}

/**
 * Makes the routes of this plugin context receive the body as a Buffer of the exact bytes sent:
 * a signature covers those bytes, and a parse/re-serialise round trip would break it.
 *
 *   - one or more media types ('application/json'): those are read raw, and every other type
 *     keeps the parser it had (so a type the route does not take is still answered 415);
 *   - '*': every type is read raw and no other parser remains; the route checks the type itself.
 *
 * Call it inside the receiver's own plugin (not wrapped in fastify-plugin) so the rest of the app
 * keeps parsing JSON.
 */
export function readRawBody (app: FastifyInstance, contentTypes: '*' | string | string[], opts: RawBodyOptions = {}): void {
  const parserOptions = { parseAs: 'buffer' as const, ...(opts.bodyLimit !== undefined ? { bodyLimit: opts.bodyLimit } : {}) }
  if (contentTypes === '*') app.removeAllContentTypeParsers()
  for (const type of Array.isArray(contentTypes) ? contentTypes : [contentTypes]) {
    if (type !== '*' && app.hasContentTypeParser(type)) app.removeContentTypeParser(type)
    app.addContentTypeParser(type, parserOptions, (_request, body, done) => done(null, body))
  }
  // The parser's limit as each route's own too: a 413 names the route's limit (errors.ts), which
  // otherwise reads the server's default while the parser's smaller one applies.
  const limit = opts.bodyLimit
  if (limit !== undefined) app.addHook('onRoute', route => { route.bodyLimit ??= limit })
}

/** The raw body readRawBody kept, or undefined when there is none (a post without a body). */
export function rawBodyOf (request: FastifyRequest): Buffer | undefined {
  const body = request.body as unknown
  return Buffer.isBuffer(body) ? body : undefined
}

/**
 * The one refusal of a webhook whose signature, token or source address is not accepted:
 * 401 `<PREFIX>_WEBHOOK_UNAUTHORIZED`, with no hint of which check failed.
 */
export function webhookUnauthorized (prefix: CodePrefix): ServiceError {
  return prefixedError(prefix, 'WEBHOOK_UNAUTHORIZED', 'Unauthorized')
}
