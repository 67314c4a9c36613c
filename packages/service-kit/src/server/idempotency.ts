/**
 * Idempotency keys with Stripe's semantics, for every POST that sends, creates or pays. A route
 * opts in with `config: { idempotent: true }`; this plugin then lists the `Idempotency-Key` header
 * in the route's header schema (so it is validated and documented in the OpenAPI document) and
 * wraps the route:
 *
 * - a new key is claimed in the database (one SQL function, atomic) and the request runs; its
 *   answer (status, body, headers) is kept 24 h under the key before it is sent;
 * - the same key with the same request replays that answer, with `Idempotent-Replayed: true`;
 * - the same key with a different request is a 422; while the first is still running, a 409.
 *
 * Keys are scoped by caller and route, so two callers never read each other's answers. Answers
 * that say "try again" (409, 429 and every 5xx) are not kept: the claim is released and a retry
 * with the key runs the request again. A claim whose process died is taken over after its lease.
 */
import { createHash, randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, onSendHookHandler, preHandlerHookHandler, RouteOptions } from 'fastify'
import { Type, type TObject } from '@sinclair/typebox'
import { prefixedError } from './errors.ts'
import { canonicalJson } from './canonical-json.ts'

// These calls read nothing a caller wrote: they need not wait behind the activity log's write queue.
const NO_FLUSH = { flush: false }

export const IDEMPOTENCY_HEADER = 'idempotency-key'
export const REPLAYED_HEADER = 'idempotent-replayed'
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route sends, creates or pays: it takes an Idempotency-Key (see idempotency.ts). */
    idempotent?: boolean
  }
  interface FastifyRequest {
    /** The key this request claimed (set by the idempotency plugin), e.g. for forwarding it on. */
    idempotency: IdempotencyClaim | null
  }
}

export interface IdempotencyClaim {
  scope: string
  key: string
  /**
   * The key's row id: the same for a takeover of the same request after its process died, new for
   * a new or expired key. A request that creates a job gives the job this id (CallContext.workId),
   * so a retry finds the job its first attempt stored rather than making a second one.
   */
  id: string
  owner: string
  state: 'claimed' | 'completing' | 'done' | 'released'
}

export const IdempotencyKeySchema = Type.String({
  minLength: 1,
  maxLength: IDEMPOTENCY_KEY_MAX_LENGTH,
  // Printable ASCII without spaces: a key is an opaque token (a UUID is a good one).
  pattern: '^[\\x21-\\x7E]+$',
  title: `1-${IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters without spaces (a UUID is a good key)`,
  description: 'Makes a retry safe. The first request with a key runs and its answer is kept for 24 h; ' +
    'the same key with the same request replays that answer (status, body, headers) with `Idempotent-Replayed: true` ' +
    'and does nothing again; the same key with a different request is a 422; while the first request is still running, a 409. ' +
    'Answers 409, 429 and 5xx are not kept: a retry with the key runs again. Keys are per API token and route. ' +
    `1-${IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters, no spaces (a UUID is a good key).`
})

export const IdempotencyHeadersSchema = Type.Object({ [IDEMPOTENCY_HEADER]: Type.Optional(IdempotencyKeySchema) })

/** What the plugin needs from the database: the activity log has it. */
export interface IdempotencyStore {
  rpc<T = unknown> (fn: string, args?: Record<string, unknown>, options?: { flush?: boolean }): Promise<T>
}

export interface IdempotencyOptions {
  store: IdempotencyStore
  /** Error code prefix, e.g. EMAIL or GATEWAY. */
  codePrefix: string
  /** Who is calling, for the key's scope (the gateway: a digest of the API token). Default: everyone alike. */
  callerOf?: (request: FastifyRequest) => string
  /** How long an answer is kept. Default 24 h. */
  ttlSeconds?: number
  /**
   * How long a claim holds before another request may take it over (its process presumably died).
   * Longer than any request runs: default 5 minutes (the servers' request timeout is 130 s).
   */
  leaseSeconds?: number
  /** How often expired keys are deleted. Default every 10 minutes; 0: never (tests). */
  purgeIntervalMs?: number
}

/**
 * What a 409 says about a key whose first request has not answered. It may still be running, or
 * its process may have died (a crash, a kill -9) and left the claim, which is taken over once its
 * lease has run out: the answer says both, and when. Retry-After grows with the claim's age (1 s
 * for a request just begun, a fifth of its age later on) and never points past the takeover, so a
 * client neither hammers a dead claim every second for minutes nor waits long for a live one.
 */
export function stillRunning (key: string, startedAt: string, leaseSeconds: number, nowMs = Date.now()): { message: string, retryAfter: number } {
  const started = Date.parse(startedAt)
  const ageSeconds = Number.isFinite(started) ? Math.max(0, (nowMs - started) / 1000) : 0
  const leftSeconds = Math.max(1, Math.ceil(leaseSeconds - ageSeconds))
  const retryAfter = Math.max(1, Math.min(leftSeconds, Math.ceil(ageSeconds / 5)))
  const takeover = Number.isFinite(started) ? new Date(started + leaseSeconds * 1000).toISOString() : `${leaseSeconds} s after it started`
  return {
    retryAfter,
    message: `A request with Idempotency-Key ${JSON.stringify(key)} started at ${startedAt} has not answered yet. It may still be running: ` +
      `retry with the same key to get its answer once it has. If its process stopped before answering, the key is free again at ${takeover}.`
  }
}

type ClaimResult =
  | { outcome: 'claimed', id: string }
  | { outcome: 'running', created_at: string }
  | { outcome: 'mismatch', created_at: string }
  | { outcome: 'done', created_at: string, status: number, headers: Record<string, string | string[]> | null, body: string | null }

// Headers of one exchange, not of the answer: never kept, never replayed.
const UNKEPT_HEADERS = new Set(['x-request-id', 'date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'set-cookie', REPLAYED_HEADER])
const keptHeader = (name: string) => !UNKEPT_HEADERS.has(name) && !name.startsWith('x-ratelimit-') && !name.startsWith('ratelimit')

/** Whether an answer is kept for replay: not one that asks to try again. */
export const keepsAnswer = (status: number) => status < 500 && status !== 409 && status !== 429

export function requestFingerprint (method: string, url: string, body: unknown): string {
  const h = createHash('sha256').update(`${method} ${url}\n`)
  if (Buffer.isBuffer(body) || typeof body === 'string') h.update(body)
  // Keys sorted: `{a,b}` and `{b,a}` are the same request (Stripe compares parameters).
  else h.update(canonicalJson(body))
  return h.digest('hex')
}

/**
 * The key a gateway forwards to a service in place of the caller's: the caller's key within its
 * scope, so two callers' equal keys stay apart at the service too.
 */
export function forwardedKey (claim: Pick<IdempotencyClaim, 'scope' | 'key'>): string {
  return createHash('sha256').update(`${claim.scope}\n${claim.key}`).digest('hex')
}

function withKeyHeader (schema: RouteOptions['schema']): RouteOptions['schema'] {
  const headers = schema?.headers as TObject | undefined
  if (headers?.properties?.[IDEMPOTENCY_HEADER]) return schema
  const merged = headers ? Type.Composite([headers, IdempotencyHeadersSchema]) : IdempotencyHeadersSchema
  return { ...schema, headers: merged }
}

const asArray = <T>(hooks: T | T[] | undefined): T[] => hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]

export const idempotency = fp<IdempotencyOptions>(async (app, opts) => {
  const { store, codePrefix, callerOf = () => '', ttlSeconds = 24 * 3600, leaseSeconds = 300, purgeIntervalMs = 600_000 } = opts

  app.decorateRequest('idempotency', null)

  if (purgeIntervalMs > 0) {
    const purge = () => { store.rpc('purge_idempotency_keys', undefined, NO_FLUSH).catch((err: unknown) => app.log.warn({ err }, 'idempotency: could not purge expired keys')) }
    const timer = setInterval(purge, purgeIntervalMs)
    timer.unref()
    app.addHook('onReady', async () => { purge() })
    app.addHook('onClose', async () => { clearInterval(timer) })
  }

  const release = (claim: IdempotencyClaim, log: FastifyRequest['log']) => {
    claim.state = 'released'
    return store.rpc('release_idempotency_key', { p_scope: claim.scope, p_key: claim.key, p_owner: claim.owner }, NO_FLUSH)
      .catch((err: unknown) => log.warn({ err, idempotencyKey: claim.key }, 'idempotency: could not release a key; it is taken over after its lease'))
  }

  /** Whether a job was stored under the claim's id; true when that cannot be told (the key is then kept until its lease). */
  const workStored = (claim: IdempotencyClaim): Promise<boolean> =>
    store.rpc<unknown>('job_progress', { p_job_id: claim.id }, NO_FLUSH).then(p => p !== null && p !== undefined, () => true)

  // Callback-style wrappers: a request without a key (most of them) costs no promise here.
  const claimKeyHook: preHandlerHookHandler = function (request, reply, done) {
    const key = request.headers[IDEMPOTENCY_HEADER]
    if (typeof key !== 'string') return done()
    // A replay has answered already: the route must not run, so done() is not called then.
    claimKey(request, reply, key).then(replayed => { if (!replayed) done() }, done)
  }

  /** Claims the key, or answers with the kept answer (returns true), or throws a 409/422/503. */
  async function claimKey (request: FastifyRequest, reply: FastifyReply, key: string): Promise<boolean> {
    const scope = `${callerOf(request)}:${request.method} ${request.routeOptions.url}`
    const owner = randomUUID()
    let result: ClaimResult
    try {
      result = await store.rpc<ClaimResult>('claim_idempotency_key', {
        p_scope: scope,
        p_key: key,
        p_fingerprint: requestFingerprint(request.method, request.url, request.body),
        p_owner: owner,
        p_lease_seconds: leaseSeconds,
        p_ttl_seconds: ttlSeconds
      }, NO_FLUSH)
    } catch (err) {
      request.log.warn({ err }, 'idempotency: could not claim a key')
      throw prefixedError(codePrefix, 'IDEMPOTENCY_UNAVAILABLE',
        'The Idempotency-Key could not be checked because the database is not answering; nothing was done. Retry in a moment with the same key.',
        { headers: { 'retry-after': '1' } })
    }
    if (result.outcome === 'claimed') {
      // Kept or released in onSend, once the route has answered: a caller that hangs up does not
      // release the key while the work goes on (its retry gets a 409, then the answer).
      request.idempotency = { scope, key, id: result.id, owner, state: 'claimed' }
      return false
    }
    if (result.outcome === 'running') {
      const { message, retryAfter } = stillRunning(key, result.created_at, leaseSeconds)
      throw prefixedError(codePrefix, 'IDEMPOTENCY_KEY_IN_USE', message, { headers: { 'retry-after': String(retryAfter) } })
    }
    if (result.outcome === 'mismatch') {
      throw prefixedError(codePrefix, 'IDEMPOTENCY_KEY_REUSED',
        `Idempotency-Key ${JSON.stringify(key)} was already used at ${result.created_at} with a different request to ${request.method} ${request.routeOptions.url} (another URL or body). Use a new key for a new request.`,
        { details: [{ field: `headers/${IDEMPOTENCY_HEADER}`, message: 'was used with a different request' }] })
    }
    replay(reply, result)
    return true
  }

  function replay (reply: FastifyReply, saved: Extract<ClaimResult, { outcome: 'done' }>): void {
    for (const [name, value] of Object.entries(saved.headers ?? {})) if (keptHeader(name)) reply.header(name, value)
    reply.header(REPLAYED_HEADER, 'true').code(saved.status)
    // A string goes out as it was first sent: not serialized again.
    reply.send(saved.body ?? '')
  }

  const keepAnswerHook: onSendHookHandler = function (request, reply, payload, done) {
    const claim = request.idempotency
    if (!claim || claim.state !== 'claimed') return done(null, payload)
    keepAnswer(request, reply, payload, claim).then(() => done(null, payload), done)
  }

  async function keepAnswer (request: FastifyRequest, reply: FastifyReply, payload: unknown, claim: IdempotencyClaim): Promise<void> {
    const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined
    if (!keepsAnswer(reply.statusCode) || body === undefined) {
      // A job stored under this claim (job-runner's newJobId) is work begun: its key stays held, so
      // a retry after the lease takes that job up instead of storing and sending a second one. Only
      // a claim with no job behind it (or none that can be seen: the database away) is let go.
      if (await workStored(claim)) return
      await release(claim, request.log)
      return
    }
    claim.state = 'completing'
    const headers: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(reply.getHeaders())) if (keptHeader(name) && value !== undefined) headers[name] = value
    try {
      await store.rpc('complete_idempotency_key', { p_scope: claim.scope, p_key: claim.key, p_owner: claim.owner, p_status: reply.statusCode, p_headers: headers, p_body: body }, NO_FLUSH)
      claim.state = 'done'
    } catch (err) {
      // The work is done: the answer still goes out. A retry runs again once the lease is over.
      request.log.error({ err, idempotencyKey: claim.key }, 'idempotency: could not keep the answer for replay')
    }
  }

  app.addHook('onRoute', (route) => {
    if (route.config?.idempotent !== true) return
    route.schema = withKeyHeader(route.schema)
    route.preHandler = [...asArray(route.preHandler), claimKeyHook]
    route.onSend = [...asArray(route.onSend), keepAnswerHook]
  })
}, { name: 'switchboard-idempotency' })
