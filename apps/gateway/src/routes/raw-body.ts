import type { FastifyInstance } from 'fastify'
import { readRawBody } from '@switchboard/service-kit/webhook-receiver'

const WEBHOOK_BODY_LIMIT = 8 * 1024 * 1024

/**
 * Webhook routes forward the exact bytes they received: providers sign the raw body, and a
 * parse/re-serialise round trip would break the signature.
 */
export function rawBody (app: FastifyInstance): void {
  readRawBody(app, '*', { bodyLimit: WEBHOOK_BODY_LIMIT })
}
