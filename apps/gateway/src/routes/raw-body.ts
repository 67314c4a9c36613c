import type { FastifyInstance } from 'fastify'

/**
 * Webhook routes forward the exact bytes they received: providers sign the raw body, and a
 * parse/re-serialise round trip would break the signature.
 */
export function rawBody (app: FastifyInstance): void {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 8 * 1024 * 1024 }, (_request, body, done) => done(null, body))
}
