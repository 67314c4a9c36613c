import { randomUUID } from 'node:crypto'
import { chmodSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { createGunzip } from 'node:zlib'
import Fastify, { errorCodes, LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions, type RawReplyDefaultExpression, type RawRequestDefaultExpression, type RawServerDefault } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { createActivityLog, createBackend, type ActivityLog } from '@switchboard/activity-log'
import { EmulatorAccountViewSchema, HealthSchema, ReadinessSchema, ServiceStatusSchema, type Readiness } from '@switchboard/schemas/common'
import { Type } from '@sinclair/typebox'
import { maskSecret, type CredentialsReport } from './credentials.ts'
import { acquireFolderLock } from './data-lock.ts'
import { LOG_REDACT, loggerOptions, logResponse, type RequestLogLevel } from './logging.ts'
import type { CommonEnv } from './env.ts'
import { idempotency } from './idempotency.ts'
import { createClientErrorHandler, createErrorHandler, createFrameworkErrorHandler, createNotFoundHandler, errorBody, findNonFiniteNumber, findTooDeep, MAX_JSON_DEPTH, prefixedCode, prefixedError } from './errors.ts'
import { AuthFailureLimiter } from './auth-failures.ts'
import { registerSecrets } from './redact.ts'
import { registerCapture } from './capture.ts'
import { lazySchemaCompilers, type LazySchemaCompilers } from './schema-compilers.ts'
import { forgetOwnOrigin, registerOwnOrigin } from '../outbound/provider-client.ts'
import { maskUrlSecrets } from '../outbound/url-secrets.ts'
import { RuntimeSettings } from './runtime-settings.ts'
import { collectScenarioRules, SCENARIO_HEADER, SCENARIO_RULE_HEADER, scenarioRuleHeader } from '../emulator/scenarios.ts'
import { clockMode, clockStamp, type TestClock } from '../emulator/clock.ts'
import { emulatorAccount, type CredentialMaker, type EmulatorAccount } from '../emulator/account.ts'
import { bearerToken, INTERNAL_HEADER, resolveTokens, tokenMatches, type Tokens } from './tokens.ts'
import { SERVICES, type ServiceName } from './services.ts'
import { simulationHeaderProblem, type SimulationSettings } from '../emulator/simulation.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes a body sent with Content-Encoding: gzip (see inflateGzipBodies). */
    gzipBody?: boolean
  }
}

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>

declare module 'fastify' {
  interface FastifyInstance {
    activityLog: ActivityLog
    runtime: RuntimeSettings
    /** Registers what POST /admin/reset clears (emulator state). */
    onMockReset: (fn: () => void | Promise<void>) => void
    /** This server's own base URL once it listens (how a service reaches its emulator over HTTP). */
    selfBaseUrl: () => string
    /** Headers that let this service's own client call its emulator's control routes (the internal credential). */
    controlHeaders: Record<string, string>
    /** The emulators' clock (real time unless the admin API froze or advanced it): for anything scheduled. */
    clock: TestClock
    /**
     * This stack's fake provider account (EMULATOR_AUTH): made once per app, readable with the
     * admin token at `<emulator>/_switchboard/account`. The service's mock client presents it.
     */
    emulatorAccount: <F extends string>(credentials: Record<F, CredentialMaker>) => EmulatorAccount<F>
  }
  interface FastifyRequest {
    /** The request carries the internal credential: it came through the gateway (or a sibling service). */
    fromGateway: boolean
  }
}

/** Shared pieces the stack (one process) hands to every app so they use one database. */
export interface SharedInfrastructure {
  activityLog: ActivityLog
  runtime: RuntimeSettings
  /** Releases the embedded database folder's lock, when this process holds it. */
  releaseLock?: () => void
  /** The admin and internal tokens every app of one stack agrees on. */
  tokens: Tokens
}

export interface AppOptions<E extends CommonEnv = CommonEnv> {
  env: E
  /** Given by the stack or by tests; otherwise the app opens its own from env. */
  shared?: SharedInfrastructure
  logger?: FastifyServerOptions['logger']
}

/** What a caller's X-Request-Id may be to be kept (the journal's request_id filter takes 200 characters). */
export const REQUEST_ID = /^[\x21-\x7E]{1,200}$/

/** Each server's lazy schema compilers, for `compileAllSchemas`. */
const schemaCompilersOf = new WeakMap<object, LazySchemaCompilers>()

/**
 * Compiles every route schema of a server built by `createBaseApp` that no request has compiled
 * yet (they compile at first use): a test's proof that all of them compile. Returns how many.
 */
export function compileAllSchemas (app: FastifyInstance): number {
  const compilers = schemaCompilersOf.get(app)
  if (!compilers) throw new Error('compileAllSchemas: this server was not built by createBaseApp')
  return compilers.compileAll()
}

export { LOG_REDACT }

export function fastifyOptions (logger: FastifyServerOptions['logger'], env: CommonEnv, name = 'switchboard', schemaCompilers = lazySchemaCompilers()): FastifyServerOptions {
  return {
    // The redaction applies whatever logger options a caller passes (the stack, tests).
    ...loggerOptions(logger, env, name),
    // One line per answered request instead (logResponse), at the level its kind deserves.
    logController: new LogController({ disableRequestLogging: true }),
    // A caller's X-Request-Id names its request (logs, rows, the answer) when it is an id: 1-200
    // printable ASCII characters without spaces; anything else gets an id of ours. Taken whole, an
    // 8 KB one went into every row the request wrote, where the request_id index refused it, and
    // the activity log retried that write forever with every write queued behind it.
    requestIdHeader: false,
    genReqId: request => {
      const given = request.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    bodyLimit: 10 * 1024 * 1024,
    // Bound every connection: a slow or stuck client cannot hold a socket forever.
    requestTimeout: 130_000,
    // An emulator's plugin reads its stored state before it is ready; on a loaded machine (a CI
    // runner starting several stacks) that outlasted Fastify's 10 s. Slow to start is not failed.
    pluginTimeout: 60_000,
    // Query strings are coerced, JSON bodies are not: see schema-compilers.ts.
    ajv: { customOptions: { allErrors: false, removeAdditional: false } },
    schemaController: { compilersFactory: { buildValidator: schemaCompilers.buildValidator as never, buildSerializer: schemaCompilers.buildSerializer as never } }
  }
}

/** How long close() waits for requests in flight that still need this server (their emulator calls). */
const DRAIN_LIMIT_MS = 10_000

/**
 * A Fastify instance as every Switchboard server starts: TypeBox types, our error envelope with the
 * given code prefix, and the request id echoed on every reply so callers can quote it.
 */

export interface BaseAppOptions {
  servedWhileClosing?: string
  requestLogLevel?: (request: FastifyRequest) => RequestLogLevel
  emulatorPrefix?: string
  /**
   * Peers whose X-Forwarded-For is believed: `request.ip` is then the first address from the right
   * that is not one of them (the gateway behind a reverse proxy). Unset: the socket's peer.
   */
  trustedProxy?: (address: string) => boolean
  /** What to add to a 404 for a path people try here by mistake (the gateway: an emulator's path). */
  notFoundHint?: (path: string) => string | undefined
}

export function createBaseApp (codePrefix: string, logger: FastifyServerOptions['logger'], env: CommonEnv, opts: BaseAppOptions = {}): App {
  const schemaCompilers = lazySchemaCompilers({ emulatorPrefix: opts.emulatorPrefix })
  const trustedProxy = opts.trustedProxy
  const app = Fastify({
    ...fastifyOptions(logger, env, codePrefix.toLowerCase(), schemaCompilers),
    ...(trustedProxy ? { trustProxy: (address: string) => trustedProxy(address) } : {}),
    // Our envelope for what the router (a URL that does not decode) and Node's HTTP parser (a bad
    // Content-Length) refuse before a route runs, not Fastify's own bodies without a code.
    frameworkErrors: createFrameworkErrorHandler(codePrefix),
    clientErrorHandler: createClientErrorHandler(codePrefix),
    // Refusals while closing are ours (below), in our envelope, not Fastify's bare 503.
    return503OnClosing: false
  }).withTypeProvider<TypeBoxTypeProvider>()
  schemaCompilersOf.set(app, schemaCompilers)
  plainTextForEmulatorOnly(app, opts.emulatorPrefix)
  prototypeKeysNamed(app)
  const levelOf = opts.requestLogLevel ?? (() => 'info' as const)
  app.addHook('onResponse', (request, reply, done) => {
    logResponse(request, reply.statusCode, reply.elapsedTime, levelOf(request))
    done()
  })
  app.setErrorHandler(createErrorHandler(codePrefix))
  app.setNotFoundHandler(createNotFoundHandler(codePrefix, opts.notFoundHint))
  // Graceful close. In mock mode a service calls its provider emulator, mounted on this same
  // server, over HTTP: if the listener stopped at once, every request in flight that had not yet
  // made its emulator call would fail as "provider unreachable". So close() first waits (bounded)
  // for the requests in flight, still serving calls under `servedWhileClosing`, and refuses
  // anything else new with a 503 <PREFIX>_SHUTTING_DOWN.
  let closing = false
  let inFlight = 0
  let drained: (() => void) | undefined
  const servedWhileClosing = (url: string) => opts.servedWhileClosing !== undefined && url.startsWith(opts.servedWhileClosing)
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    if (servedWhileClosing(request.url)) return done()
    if (closing) {
      return done(prefixedError(codePrefix, 'SHUTTING_DOWN', 'This server is shutting down and takes no new requests. Retry in a moment.', { headers: { 'retry-after': '1' } }))
    }
    inFlight++
    reply.raw.once('close', () => { if (--inFlight === 0) drained?.() })
    done()
  })
  // Inflated first: the in-flight bound and the route's body limit then count the inflated bytes.
  inflateGzipBodies(app)
  limitBodiesInFlight(app, codePrefix, env.BODY_BYTES_IN_FLIGHT)
  const emulatorPrefix = opts.emulatorPrefix
  const underEmulator = (url: string) => emulatorPrefix !== undefined && (url === emulatorPrefix || url.startsWith(`${emulatorPrefix}/`))
  app.addHook('preValidation', (request, _reply, done) => {
    const field = findTooDeep(request.body, 'body') ?? findTooDeep(request.query, 'querystring')
    if (field !== undefined) {
      return done(prefixedError(codePrefix, 'INVALID_REQUEST', `${field} nests deeper than ${MAX_JSON_DEPTH} levels. Flatten the data.`, { details: [{ field, message: `must not nest deeper than ${MAX_JSON_DEPTH} levels` }] }))
    }
    // Our x-switchboard-* headers, on our API (an emulator reads them its own way, simulation.ts).
    const header = underEmulator(request.routeOptions.url ?? request.url) ? undefined : simulationHeaderProblem(request.headers)
    if (header !== undefined) return done(prefixedError(codePrefix, 'INVALID_REQUEST', `${header.field} ${header.message}`, { details: [header] }))
    done()
  })
  app.addHook('preHandler', (request, _reply, done) => {
    const field = findNonFiniteNumber(request.params, 'params') ?? findNonFiniteNumber(request.query, 'querystring') ?? findNonFiniteNumber(request.body, 'body')
    if (field === undefined) return done()
    done(prefixedError(codePrefix, 'INVALID_REQUEST', `${field} must be a finite number`, { details: [{ field, message: 'must be a finite number' }] }))
  })
  app.addHook('preClose', (done) => {
    closing = true
    if (opts.servedWhileClosing === undefined || inFlight === 0) return done()
    const timer = setTimeout(() => { drained = undefined; done() }, DRAIN_LIMIT_MS)
    drained = () => { clearTimeout(timer); drained = undefined; done() }
  })
  // A request already in flight when close() starts would otherwise leave its keep-alive socket
  // idle until the keep-alive timeout, holding the shutdown open.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })
  return app
}

/**
 * Our routes take JSON. Fastify also parses text/plain by default, so a JSON body sent as text
 * reached the schema as a string ("body must be object") where form-encoded or untyped bodies are
 * answered 415: text/plain is a 415 too, which names the type to send. Under `emulatorPrefix` a
 * provider emulator reads text as it always did (its provider's API decides what to make of it).
 */
function plainTextForEmulatorOnly (app: App, emulatorPrefix: string | undefined): void {
  app.removeContentTypeParser('text/plain')
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (request, body, done) => {
    const path = request.routeOptions.url ?? request.url
    // No such route: its 404 says so, whatever the body.
    if (request.is404 || (emulatorPrefix !== undefined && (path === emulatorPrefix || path.startsWith(`${emulatorPrefix}/`)))) return done(null, body)
    done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(String(request.headers['content-type'])), undefined)
  })
}

/**
 * Fastify refuses JSON with a `__proto__` key (or `constructor.prototype`), which could change how
 * objects behave on the server, but calls it "not valid JSON": a client with valid JSON is sent
 * looking for a syntax error. Refused the same (400 INVALID_JSON), it now says which key and why.
 * Only a refused body is looked at again, so the parser costs nothing more on valid requests.
 */
function prototypeKeysNamed (app: App): void {
  const parse = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parse(request, body as string, (err, value) => {
      if (err && parsesAsJson(body as string)) {
        return done(Object.assign(new Error('The body is valid JSON but has a "__proto__" or "constructor.prototype" key, which is refused here (it could change how objects behave on the server). Remove that key.'),
          { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }), undefined)
      }
      done(err, value)
    })
  })
}

function parsesAsJson (text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

/**
 * Bounds the request bodies one server holds at once. A body with a Content-Length is reserved by
 * it before a byte of it is read, a chunked body by the bytes it has sent so far (counted as they
 * arrive), and both are released when the answer is sent; a body that would take the total past
 * `capBytes` is answered 503 with Retry-After (one with a length without being read). One body is
 * always admitted, so a single bulk request up to its route's bodyLimit still works on an idle
 * server. A parsed 60 MB JSON body costs several times its size in memory, so without this four at
 * once took the stack to 1.87 GB. (A chunked body used to be reserved by its route's whole limit:
 * eight connections that sent one chunk of a webhook post and waited held the 64 MB, and every
 * request with a body was refused BUSY until they timed out, 130 s later.)
 */
/** A body sent gzip-compressed to a route that takes it (`config: { gzipBody: true }`). */
const gzipBody = (request: FastifyRequest) =>
  request.routeOptions.config?.gzipBody === true && String(request.headers['content-encoding'] ?? '').trim().toLowerCase() === 'gzip'

/**
 * Routes whose provider takes a gzip-compressed body (SendGrid's mail send) get it inflated before
 * it is parsed. What is limited is what it inflates to: the route's body limit, and
 * BODY_BYTES_IN_FLIGHT, which counts such a body as it inflates (its Content-Length is only the
 * compressed size), so a few kilobytes that inflate to megabytes are refused as megabytes would be.
 * Bytes that are not gzip end the body with an error: a 400.
 */
function inflateGzipBodies (app: App): void {
  app.addHook('preParsing', (request, _reply, payload, done) => {
    if (!gzipBody(request)) return done(null, payload)
    // Fastify compares Content-Length with receivedEncodedLength, the compressed bytes read so far.
    const inflated = Object.assign(createGunzip(), { receivedEncodedLength: 0 })
    payload.on('data', (chunk: Buffer) => { inflated.receivedEncodedLength += chunk.length })
    payload.on('error', err => inflated.destroy(err))
    done(null, payload.pipe(inflated))
  })
}

function limitBodiesInFlight (app: App, codePrefix: string, capBytes: number): void {
  if (capBytes <= 0) return
  let inFlight = 0
  const chunked = new WeakSet<FastifyRequest>()
  const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`
  const busyMessage = () => `This server is already reading ${mb(inFlight)} of request bodies and takes at most ${mb(capBytes)} at once (BODY_BYTES_IN_FLIGHT). Retry in 2 s.`
  app.addHook('onRequest', (request, reply, done) => {
    // A content-type parser's own limit may be lower; the route's is the most Fastify reads.
    const limit = request.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit ?? 0
    const length = Number(request.headers['content-length'])
    // A compressed body is counted as it inflates, as a chunked one is as it arrives.
    if (gzipBody(request)) {
      chunked.add(request)
      return done()
    }
    if (!(Number.isFinite(length) && length > 0)) {
      if (request.headers['transfer-encoding'] !== undefined) chunked.add(request)
      return done()
    }
    // Over the limit: Fastify answers 413 without reading it.
    if (length > limit) return done()
    if (inFlight > 0 && inFlight + length > capBytes) {
      return reply.code(503).header('retry-after', '2').header('connection', 'close').send(errorBody(503, prefixedCode(codePrefix, 'BUSY'), busyMessage(), request.id))
    }
    inFlight += length
    reply.raw.once('close', () => { inFlight -= length })
    done()
  })
  // Chunked bodies only: each chunk is counted as it arrives, through a stream of our own between
  // the request and Fastify's body reader. (Bodies with a length keep the cheaper path above.)
  app.addHook('preParsing', (request, reply, payload, done) => {
    if (!chunked.has(request)) return done(null, payload)
    let held = 0
    let released = false
    const counted = new Transform({
      transform (chunk: Buffer, _encoding, callback) {
        if (released) return callback(null, chunk)
        if (inFlight > held && inFlight + chunk.length > capBytes) {
          return callback(prefixedError(codePrefix, 'BUSY', busyMessage(), { headers: { 'retry-after': '2', connection: 'close' } }))
        }
        held += chunk.length
        inFlight += chunk.length
        callback(null, chunk)
      }
    })
    // An inflated body's Content-Length is its compressed size: Fastify checks it against the
    // source's count of what it read (inflateGzipBodies), which passes through here.
    if ('receivedEncodedLength' in payload) Object.defineProperty(counted, 'receivedEncodedLength', { get: () => (payload as { receivedEncodedLength: number }).receivedEncodedLength })
    // Not pipeline(): a refusal must leave the request's socket open for the 503 to go out.
    const onData = (chunk: Buffer) => { if (!counted.write(chunk)) payload.pause() }
    // Released once the answer is out (or the connection gone), and the rest of the body, if any
    // (a 413 or 503 answered before its end), drained and dropped as Fastify does: left paused,
    // the socket would not see its client go, and the bytes would stay held.
    const release = () => {
      if (released) return
      released = true
      inFlight -= held
      held = 0
      payload.removeListener('data', onData)
      payload.resume()
    }
    reply.raw.once('finish', release)
    reply.raw.once('close', release)
    payload.on('data', onData)
    payload.once('end', () => counted.end())
    payload.once('error', err => counted.destroy(err))
    counted.on('drain', () => payload.resume())
    counted.once('error', () => { payload.removeListener('data', onData); payload.pause() })
    done(null, counted)
  })
}

const WRITING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * The activity log's bound, checked when a request arrives: a service route that may write (a
 * send, a payment link, a call, a webhook's status moves) is refused with 503 WRITE_QUEUE_FULL
 * and Retry-After while the log's queue is full, before it does anything (before its Idempotency-
 * Key is claimed and before the provider is called), so the refusal is true: nothing happened. A
 * request admitted here always gets its rows written. Refusing at the write instead answered 503
 * "not accepted" for a mail SendGrid had already taken (a retry sent it twice) and failed whole
 * campaigns. The emulator (the provider's side) and the /admin/ control routes are not bounded.
 */
function admitWhileTheLogHasRoom (app: App, emulatorPrefix: string, activityLog: ActivityLog): void {
  const admit = (_request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
    try {
      activityLog.admit()
    } catch (err) {
      return done(err as Error)
    }
    done()
  }
  app.addHook('onRoute', route => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const url = route.url ?? route.path
    if (!methods.some(m => WRITING_METHODS.has(m)) || url === emulatorPrefix || url.startsWith(`${emulatorPrefix}/`) || url.startsWith('/admin/')) return
    // First: before the Idempotency-Key's claim (idempotency.ts adds its own preHandler).
    route.preHandler = [admit, ...(route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler])]
  })
}

/** The services' simulation settings from their environments, seeding the runtime settings. */
export type SimulationOverrides = Partial<Record<ServiceName, Partial<SimulationSettings>>>

/**
 * Opens the activity log (and its runtime settings) from the environment. `simulation` may be
 * given as a function: it is called once the database is open.
 */
export async function openSharedInfrastructure (env: CommonEnv, logger?: FastifyBaseLogger, simulation?: SimulationOverrides | (() => SimulationOverrides | undefined)): Promise<SharedInfrastructure> {
  // The embedded database is one process's: a second stack on the same folder is refused, not
  // left to corrupt it. (PostgreSQL and Supabase take any number of processes.)
  const embedded = !env.DATABASE_URL && !(env.SUPABASE_URL && env.SUPABASE_SERVICE_KEY)
  // Owner only: the journal and the embedded database hold every message's recipient and content.
  // Synchronous, as the backend's own first steps are: the embedded database's thread starts within
  // this call, so a caller's work before its first await runs beside the database opening.
  mkdirSync(env.SWITCHBOARD_DATA_DIR, { recursive: true, mode: 0o700 })
  chmodSync(env.SWITCHBOARD_DATA_DIR, 0o700)
  const releaseLock = embedded ? acquireFolderLock(env.SWITCHBOARD_DATA_DIR, 'pglite') : undefined
  try {
    const backend = await createBackend({
      databaseUrl: env.DATABASE_URL,
      supabaseUrl: env.SUPABASE_URL,
      supabaseServiceKey: env.SUPABASE_SERVICE_KEY,
      dataDir: join(env.SWITCHBOARD_DATA_DIR, 'pglite')
    })
    const activityLog = createActivityLog({ backend, journalFile: join(env.SWITCHBOARD_DATA_DIR, 'activity-log.journal.jsonl'), maxPending: env.ACTIVITY_LOG_MAX_PENDING, logger })
    const runtime = new RuntimeSettings({
      activityLog,
      seed: { mockMode: env.MOCK_MODE, useMockZoom: env.USE_MOCK_ZOOM, simulation: typeof simulation === 'function' ? simulation() : simulation },
      pollMs: env.SETTINGS_POLL_MS,
      logger
    })
    await runtime.start()
    return { activityLog, runtime, tokens: resolveTokens(env), ...(releaseLock ? { releaseLock } : {}) }
  } catch (err) {
    releaseLock?.()
    throw err
  }
}

export async function closeSharedInfrastructure (shared: SharedInfrastructure): Promise<void> {
  shared.runtime.stop()
  try {
    await shared.activityLog.close()
  } finally {
    shared.releaseLock?.()
  }
}

export interface ServiceAppOptions<E extends CommonEnv> extends AppOptions<E> {
  service: ServiceName
  /** Extra readiness checks (e.g. provider credentials for the current mode). */
  readiness?: () => Readiness['checks']
  /** Simulation overrides read from this app's environment. */
  simulation?: Partial<SimulationSettings>
  /** Live-mode credentials, for readiness, /admin/status and the admin page (masked there). */
  credentials?: () => CredentialsReport
}

/** A provider service's Fastify instance with everything the five services share. */
export async function createServiceApp<E extends CommonEnv> (opts: ServiceAppOptions<E>): Promise<App> {
  const descriptor = SERVICES[opts.service]
  // Every request a service gets is an internal hop (from the gateway, or to its own emulator):
  // logged at debug, so the terminal shows what people sent to the gateway, not each hop of it.
  // The emulator's requests have their own [MOCK MODE] line below.
  const app = createBaseApp(descriptor.codePrefix, opts.logger, opts.env, {
    servedWhileClosing: `${descriptor.emulatorPrefix}/`,
    emulatorPrefix: descriptor.emulatorPrefix,
    requestLogLevel: request => request.url.startsWith(descriptor.emulatorPrefix + '/') ? 'none' : 'debug'
  })
  const owned = !opts.shared
  const shared = opts.shared ?? await openSharedInfrastructure(opts.env, app.log, opts.simulation ? { [opts.service]: opts.simulation } : undefined)
  app.decorate('activityLog', shared.activityLog)
  app.decorate('runtime', shared.runtime)
  app.decorate('selfBaseUrl', () => selfBaseUrl(app))
  app.decorate('controlHeaders', { [INTERNAL_HEADER]: shared.tokens.internalToken })
  app.decorate('clock', shared.runtime.clock)
  if (owned) app.addHook('onClose', async () => { await closeSharedInfrastructure(shared) })
  guardServiceRoutes(app, descriptor.codePrefix, descriptor.emulatorPrefix, shared.tokens, new AuthFailureLimiter({ max: opts.env.AUTH_FAILURE_LIMIT, windowMs: opts.env.AUTH_FAILURE_WINDOW_MS }))
  // What was sent, as the provider saw it: every emulator exchange and webhook post (capture.ts).
  // The service's own calls to its emulator carry the internal credential; a client's do not.
  registerCapture(app, {
    channel: opts.service,
    emulatorPrefix: descriptor.emulatorPrefix,
    store: shared.activityLog,
    internal: request => request.fromGateway,
    enabled: opts.env.ACTIVITY_CAPTURE,
    stamp: () => clockStamp(shared.runtime.clock),
    skipRefused: opts.env.EMULATOR_AUTH === 'issued'
  })
  journalScenarioRules(app, descriptor.emulatorPrefix, shared.runtime)
  refuseUnknownStories(app, opts.service, descriptor.codePrefix, descriptor.emulatorPrefix, shared.runtime)
  let ownOrigin: string | undefined
  app.addHook('onListen', async () => { registerOwnOrigin(ownOrigin = selfBaseUrl(app), { [INTERNAL_HEADER]: shared.tokens.internalToken }) })
  app.addHook('onClose', async () => { if (ownOrigin !== undefined) forgetOwnOrigin(ownOrigin) })
  // Before any route: routes marked `config: { idempotent: true }` take an Idempotency-Key.
  await app.register(idempotency, { store: shared.activityLog, codePrefix: descriptor.codePrefix })
  admitWhileTheLogHasRoom(app, descriptor.emulatorPrefix, shared.activityLog)

  // The spec's troubleshooting: "check the server logs for [MOCK MODE] messages". Every request
  // the emulator answers is one mock action; at debug level each is logged with the marker.
  app.addHook('onResponse', (request, reply, done) => {
    if ((request.log.level === 'debug' || request.log.level === 'trace') && request.url.startsWith(descriptor.emulatorPrefix + '/')) {
      request.log.debug({ mock: true, provider: descriptor.provider, method: request.method, url: maskUrlSecrets(request.url), statusCode: reply.statusCode },
        `[MOCK MODE] ${descriptor.provider} emulator ${request.method} ${request.url.split('?')[0]} → ${reply.statusCode}`)
    }
    done()
  })

  app.decorate('emulatorAccount', <F extends string>(credentials: Record<F, CredentialMaker>) => {
    const account = emulatorAccount({
      provider: descriptor.emulatorPrefix.slice(1),
      auth: opts.env.EMULATOR_AUTH,
      credentials,
      dataDir: opts.env.SWITCHBOARD_DATA_DIR,
      derivedFrom: opts.env.INTERNAL_TOKEN
    })
    app.get(`${descriptor.emulatorPrefix}/_switchboard/account`, { schema: { response: { 200: EmulatorAccountViewSchema } } }, async () => ({
      provider: descriptor.provider,
      auth: account.auth,
      base_url: `${selfBaseUrl(app)}${descriptor.emulatorPrefix}`,
      credentials: account.credentials
    }))
    return account
  })

  const resets: Array<() => void | Promise<void>> = []
  app.decorate('onMockReset', (fn: () => void | Promise<void>) => { resets.push(fn) })
  const credentials = () => opts.credentials?.() ?? { variables: [], missing: [] }
  // Whatever a provider echoes back of these is redacted (ProviderError does it at the edge).
  registerSecrets([...credentials().variables.map(v => v.value), shared.tokens.adminToken, shared.tokens.internalToken, shared.tokens.apiToken])
  const providerCheck = (): Readiness['checks'] => {
    if (!opts.credentials) return {}
    const { mode } = shared.runtime.get(opts.service)
    const { missing } = credentials()
    return { provider: mode === 'live' && missing.length ? { ok: false, message: `live mode needs ${missing.join(', ')}` } : { ok: true, message: mode === 'mock' ? `mock mode: ${descriptor.provider} emulator` : `live mode: ${descriptor.provider}` } }
  }

  // For the gateway's admin API: this service's mode, simulation and credentials (masked).
  app.get('/admin/status', { schema: { response: { 200: ServiceStatusSchema } } }, async () => {
    const runtime = shared.runtime.get(opts.service)
    const report = credentials()
    const checks = { ...providerCheck(), ...opts.readiness?.() }
    return {
      service: opts.service,
      provider: descriptor.provider,
      mode: runtime.mode,
      fallback: runtime.fallback,
      simulation: runtime.simulation,
      ready: Object.values(checks).every(c => c.ok),
      missing: report.missing,
      needs: report.needs ?? report.missing.join(' and '),
      credentials: report.variables.map(v => ({
        variable: v.name,
        configured: !!v.value,
        display: runtime.mode === 'mock' ? 'mock mode: not needed' : v.value ? maskSecret(v.value) : 'not set'
      }))
    }
  })
  app.post('/admin/reset', {
    schema: {
      querystring: Type.Object({ settings: Type.Optional(Type.Union([Type.Literal('keep'), Type.Literal('defaults')])) }, { additionalProperties: false }),
      response: { 200: Type.Object({ service: Type.String(), reset: Type.Integer(), settings: Type.Union([Type.Literal('kept'), Type.Literal('defaults')]) }) }
    }
  }, async (request) => {
    for (const fn of resets) await fn()
    // Here, not in the gateway: this process knows the environment overrides this service started with.
    const restore = request.query.settings === 'defaults'
    if (restore) await shared.runtime.restoreDefaults(opts.service, 'admin reset')
    return { service: opts.service, reset: resets.length, settings: restore ? 'defaults' as const : 'kept' as const }
  })

  // The gateway's clock calls: it stores the new state, then asks each service to apply it at once
  // (other instances on the same database follow on their next settings refresh).
  const clockView = () => ({ service: opts.service, mode: clockMode(shared.runtime.clock.state), now: new Date(shared.runtime.clock.now()).toISOString(), ...shared.runtime.clock.state })
  const ClockViewSchema = Type.Object({ service: Type.String(), mode: Type.String(), now: Type.String(), frozen_at: Type.Union([Type.Number(), Type.Null()]), offset_ms: Type.Number() })
  app.get('/admin/clock', { schema: { response: { 200: ClockViewSchema } } }, async () => clockView())
  app.post('/admin/clock/sync', { schema: { response: { 200: ClockViewSchema } } }, async () => {
    await shared.runtime.refresh()
    return clockView()
  })

  // The scenario this process plays, and the steps it played (the gateway merges every service's).
  const scenarioView = () => {
    const player = shared.runtime.scenarios
    const startedAt = player.startedAt
    return {
      service: opts.service,
      active: player.active?.name ?? null,
      started_at: startedAt === null ? null : new Date(startedAt).toISOString(),
      played: player.played().filter(p => p.service === opts.service).map(p => ({ ...p, at: new Date(p.at).toISOString() }))
    }
  }
  const ScenarioViewSchema = Type.Object({
    service: Type.String(),
    active: Type.Union([Type.String(), Type.Null()]),
    started_at: Type.Union([Type.String(), Type.Null()]),
    played: Type.Array(Type.Object({ at: Type.String(), service: Type.String(), rule: Type.String(), recipient: Type.Union([Type.String(), Type.Null()]), decided: Type.String() }))
  })
  app.get('/admin/scenario', { schema: { response: { 200: ScenarioViewSchema } } }, async () => scenarioView())
  app.post('/admin/scenario/sync', { schema: { response: { 200: ScenarioViewSchema } } }, async () => {
    await shared.runtime.refresh()
    return scenarioView()
  })

  app.get('/health', { schema: { response: { 200: HealthSchema } } }, async () => ({ status: 'ok' as const }))
  app.get('/ready', { schema: { response: { 200: ReadinessSchema, 503: ReadinessSchema } } }, async (_request, reply) => {
    const checks: Readiness['checks'] = { database: await databaseCheck(shared.activityLog), ...providerCheck(), ...opts.readiness?.() }
    const ready = Object.values(checks).every(c => c.ok)
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', service: opts.service, mode: shared.runtime.get(opts.service).mode, checks })
  })
  return app
}

/** Routes anyone may call: liveness and readiness (container health checks). */
const OPEN_ROUTES = new Set(['/health', '/ready'])

/**
 * The trust boundary of a service's port, as one hook:
 * - its own API (everything but the emulator, the webhook receivers, /health and /ready) needs the
 *   internal credential (X-Switchboard-Internal, which the gateway sends) or the admin token;
 * - the emulator's control routes (`<prefix>/_switchboard/*`) need the admin token or the internal
 *   credential (the service's own client calls them in mock mode);
 * - the emulator's provider-faithful routes keep the provider's own auth (official SDKs work
 *   unchanged), and the webhook receivers the provider's signature, so neither is checked here.
 * Failed attempts are counted per client address; past the limit the address gets 429.
 */
/**
 * Each scenario step visible in the journal: while a scenario plays, the rules it played for an
 * emulator request (a story's step, a period, a rate limit) go on the emulator's answer as
 * SCENARIO_RULE_HEADER, which the capture records with the exchange (activity_exchanges) and the
 * Inspect API shows as the exchange's `scenario`. Nothing is done while no scenario plays.
 */
function journalScenarioRules (app: App, emulatorPrefix: string, runtime: RuntimeSettings): void {
  const rulesOf = new WeakMap<object, string[]>()
  app.addHook('preHandler', (request, _reply, done) => {
    if (runtime.scenarios.active === null || !request.url.startsWith(emulatorPrefix + '/')) { done(); return }
    const rules: string[] = []
    rulesOf.set(request, rules)
    // The handler runs inside done(): every rule played while it (and what it awaits) runs is collected.
    collectScenarioRules(rules, done)
  })
  app.addHook('onSend', (request, reply, payload, done) => {
    const rules = rulesOf.get(request)
    if (rules !== undefined && rules.length > 0) reply.header(SCENARIO_RULE_HEADER, scenarioRuleHeader(rules))
    done(null, payload)
  })
}

/**
 * A scenario header on the service's API must name a story of the playing scenario for this
 * service: `400` naming the header otherwise, as a bad outcome header is (an emulator reads its
 * headers its own way, as the provider would ignore them).
 */
function refuseUnknownStories (app: App, service: ServiceName, codePrefix: string, emulatorPrefix: string, runtime: RuntimeSettings): void {
  const field = `headers/${SCENARIO_HEADER}`
  app.addHook('preValidation', (request, _reply, done) => {
    const named = request.headers[SCENARIO_HEADER]
    const path = request.routeOptions.url ?? request.url
    if (typeof named !== 'string' || path === emulatorPrefix || path.startsWith(emulatorPrefix + '/')) return done()
    const problem = runtime.scenarios.storyHeaderProblem(service, named)
    if (problem === undefined) return done()
    done(prefixedError(codePrefix, 'INVALID_REQUEST', `${field} ${problem}.`, { details: [{ field, message: problem }] }))
  })
}

function guardServiceRoutes (app: App, codePrefix: string, emulatorPrefix: string, tokens: Tokens, failures: AuthFailureLimiter): void {
  app.decorateRequest('fromGateway', false)
  const controlPrefix = `${emulatorPrefix}/_switchboard`
  // Answered here in our envelope (not thrown): an emulator's error handler would word a thrown
  // error as its provider does.
  const refuse = (reply: FastifyReply, request: FastifyRequest, status: number, code: string, message: string, headers: Record<string, string>) =>
    reply.code(status).headers(headers).send(errorBody(status, code, message, request.id))
  app.addHook('onRequest', (request, reply, done) => {
    const internal = tokenMatches(request.headers[INTERNAL_HEADER], [tokens.internalToken])
    request.fromGateway = internal
    // The matched route, not the raw URL: the router decodes %-escapes (/zoom/%5Fswitchboard).
    const path = request.routeOptions.url ?? request.url.split('?')[0] ?? ''
    const control = path === controlPrefix || path.startsWith(controlPrefix + '/')
    if (!control && (path.startsWith(emulatorPrefix + '/') || path.startsWith('/webhooks/') || OPEN_ROUTES.has(path))) return done()
    // The gateway's credential passes even from an address refused for guessing: the gateway
    // reaches the services from the same loopback address as anyone else on the machine, so
    // refusing it would let 20 bad requests a minute take a service away from every user. It is
    // 192 random bits (or a configured 16 characters and more): no rate makes guessing it work.
    if (internal) return done()
    const wait = failures.retryAfter(request.ip)
    if (wait > 0) return refuse(reply, request, 429, prefixedCode(codePrefix, 'AUTH_RATE_LIMITED'), failures.message(wait), { 'retry-after': String(wait) })
    if (tokenMatches(bearerToken(request.headers.authorization), [tokens.adminToken])) return done()
    failures.fail(request.ip)
    return refuse(reply, request, 401, prefixedCode(codePrefix, 'UNAUTHORIZED'), control
      ? 'This emulator control route needs the admin token (Authorization: Bearer <ADMIN_TOKEN>).'
      : 'This service answers the gateway only: call it through the gateway, or send the admin token (Authorization: Bearer <ADMIN_TOKEN>).',
    { 'www-authenticate': 'Bearer' })
  })
}

export async function databaseCheck (log: ActivityLog): Promise<{ ok: boolean, message?: string }> {
  try {
    await Promise.race([log.ping(), new Promise((_resolve, reject) => setTimeout(() => reject(new Error('no answer within 1 s')), 1000).unref())])
    return log.degraded ? { ok: true, message: `writes are retrying, ${log.pending} queued` } : { ok: true }
  } catch (err) {
    // Still ready: accepted writes wait in the buffer and nothing is lost, but say so.
    return { ok: true, message: `database unreachable (${(err as Error).message}); ${log.pending} writes queued` }
  }
}

// server.address() is a syscall (getsockname); the webhook and emulator paths ask on every call.
const listeningAt = new WeakMap<FastifyInstance, string>()

export function selfBaseUrl (app: FastifyInstance): string {
  const cached = listeningAt.get(app)
  if (cached !== undefined && app.server.listening) return cached
  const address = app.server.address()
  if (!address || typeof address === 'string') throw new Error('the server is not listening yet')
  const host = address.family === 'IPv6' ? (address.address === '::' ? '[::1]' : `[${address.address}]`) : (address.address === '0.0.0.0' ? '127.0.0.1' : address.address)
  const url = `http://${host}:${address.port}`
  listeningAt.set(app, url)
  return url
}
