import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import { appError } from '@switchboard/service-kit/errors'
import { bearerOf, digestMatchesAny, tokenDigest } from './auth.ts'

export interface RateLimitOptions {
  /** Requests per window per key; 0 turns the limit off. */
  max: number
  windowMs: number
  /** Tokens whose holders get a bucket each; everyone else (no or a wrong token) is limited per IP. */
  tokens: () => string[]
}

/** The public routes: automation, Zoom and the providers' webhooks (not admin, docs or health). */
export const LIMITED = /^\/api\/(?:automation|zoom|webhooks)(?:\/|$)/

function keyFor (request: FastifyRequest, tokens: string[]): string {
  const presented = bearerOf(request)
  if (!presented) return `ip:${request.ip}`
  const digest = tokenDigest(presented)
  // Only a valid token gets its own bucket: rotating made-up tokens must not buy fresh ones. The
  // bucket is named by the digest, so the token itself is never a key in the limiter's store.
  return digestMatchesAny(digest, tokens) ? `token:${digest.toString('hex', 0, 16)}` : `ip:${request.ip}`
}

/**
 * Rate limiting with @fastify/rate-limit, per API token (else per IP), answered in our envelope
 * (429 GATEWAY_RATE_LIMITED) with Retry-After and x-ratelimit-* headers. It runs before the token
 * check, so guessing tokens is limited too.
 */
export default fp<RateLimitOptions>(async (app, opts) => {
  if (opts.max <= 0) return
  await app.register(rateLimit, { global: false })
  const perWindow = opts.windowMs % 1000 === 0 ? `${opts.windowMs / 1000} s` : `${opts.windowMs} ms`
  const limiter = app.rateLimit({
    max: opts.max,
    timeWindow: opts.windowMs,
    keyGenerator: request => keyFor(request, opts.tokens()),
    errorResponseBuilder: (_request, context) => appError('GATEWAY_RATE_LIMITED',
      `Too many requests: at most ${context.max} per ${perWindow} for each API token (or address, without one). Retry in ${context.after}.`)
  })
  app.addHook('onRequest', async (request, reply) => {
    // The matched route (the router decodes %-escapes), or the raw path when nothing matched.
    const path = request.routeOptions.url ?? request.url.split('?')[0] ?? ''
    if (LIMITED.test(path)) await limiter.call(app, request, reply)
  })
}, { name: 'switchboard-rate-limit' })
