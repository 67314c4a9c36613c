import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { request, type Dispatcher } from 'undici'
import { createTestActivityLog } from '@switchboard/activity-log/testing'
import { ProviderError } from './provider-client.ts'
import { RuntimeSettings } from './runtime-settings.ts'
import type { SharedInfrastructure } from './service-app.ts'
import type { ServiceName } from './services.ts'
import type { SimulationSettings } from './simulation.ts'
import { INTERNAL_HEADER, type Tokens } from './tokens.ts'

/** The tokens every test app shares (the gateway tests' API_TOKEN and ADMIN_TOKEN are these). */
export const TEST_TOKENS: Tokens = {
  apiToken: 'test-api-token-0123456789',
  adminToken: 'test-admin-token-0123456789',
  internalToken: 'test-internal-token-0123456789'
}

/** What the gateway adds to every call to a service: tests that call a service directly send it too. */
export const internalHeaders = (tokens: Tokens = TEST_TOKENS): Record<string, string> => ({ [INTERNAL_HEADER]: tokens.internalToken })
/** The admin token, for emulator control routes. */
export const adminHeaders = (tokens: Tokens = TEST_TOKENS): Record<string, string> => ({ authorization: `Bearer ${tokens.adminToken}` })

/** The bit of tap's Test these helpers use (kept structural so packages need no tap types here). */
export interface TestLike {
  teardown (fn: () => unknown): void
}

export interface TestInfrastructure extends SharedInfrastructure {
  dataDir: string
  /** Registers an app to close before the database does. */
  closeWithInfrastructure (app: FastifyInstance): void
}

/**
 * The activity log (PostgreSQL when TEST_DATABASE_URL is set, else in-memory PGlite), runtime
 * settings with fast polling and instant, always-successful simulation unless told otherwise,
 * and a temporary data folder. Everything is torn down after the test, apps first.
 */
export async function createTestInfrastructure (t: TestLike, opts: { mockMode?: boolean, simulation?: Partial<Record<ServiceName, Partial<SimulationSettings>>> } = {}): Promise<TestInfrastructure> {
  const apps: FastifyInstance[] = []
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-test-'))
  const activityLog = await createTestActivityLog(t)
  const instant = { latencyMs: { min: 0, max: 0 }, successRate: 1 }
  const simulation = Object.fromEntries((['email', 'whatsapp', 'payments', 'voice', 'zoom'] as ServiceName[]).map(s => [s, { ...instant, ...opts.simulation?.[s] }]))
  const runtime = new RuntimeSettings({ activityLog, seed: { mockMode: opts.mockMode ?? true, useMockZoom: opts.mockMode ?? true, simulation }, pollMs: 100 })
  await runtime.start()
  // Registered before the activity log's own teardown would run, so apps close and flush first.
  t.teardown(async () => {
    for (const app of apps.reverse()) await app.close()
    runtime.stop()
    await activityLog.flush().catch(() => {})
    rmSync(dataDir, { recursive: true, force: true })
  })
  return { activityLog, runtime, tokens: TEST_TOKENS, dataDir, closeWithInfrastructure: (app) => { apps.push(app) } }
}

/**
 * One reply from requestJson, shaped for assertions. `body` is loosely typed on purpose: tests
 * read whatever fields they assert on, and the schema checks belong to the services.
 */
export interface JsonReply {
  status: number
  headers: Dispatcher.ResponseData['headers']
  /** The reply parsed as JSON when it is JSON, else its text; undefined when the reply is empty. */
  body: any
  text: string
  /** The reply's bytes, for binary replies (recordings, downloads). */
  raw: Buffer
  /** Milliseconds from sending the request to having read the whole reply. */
  ms: number
}

/** A requestJson bound to one base URL: `call('POST', '/emails', body, headers)`. */
export type JsonCall = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<JsonReply>

/**
 * One HTTP request the way the service tests make them, so each test file need not carry its own
 * copy. A string (or Buffer) body is sent as is, so tests can send malformed JSON, form bodies and
 * signed raw payloads; any other body is sent as JSON. Either way the content-type is
 * application/json unless the caller set one (a raw body without it would be a 415, not the
 * signature or parse error a test is after). The reply is parsed as JSON when it parses.
 */
export async function requestJson (url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonReply> {
  const sendAsIs = typeof body === 'string' || body instanceof Uint8Array
  const callerSetType = Object.keys(headers).some(h => h.toLowerCase() === 'content-type')
  const t0 = Date.now()
  const res = await request(url, {
    method: method as Dispatcher.HttpMethod,
    headers: { ...(body !== undefined && !callerSetType ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : sendAsIs ? body : JSON.stringify(body)
  })
  const bytes = Buffer.from(await res.body.arrayBuffer())
  const text = bytes.toString('utf8')
  let parsed: unknown = text
  try { parsed = text ? JSON.parse(text) : undefined } catch { /* not JSON: keep the text */ }
  return { status: res.statusCode, headers: res.headers, body: parsed, text, raw: bytes, ms: Date.now() - t0 }
}

/**
 * requestJson against one running app: the `call` every test helper hands its tests. A service's
 * helper passes internalHeaders() so its calls arrive as the gateway's do; a caller's own headers
 * win over the defaults.
 */
export function jsonCaller (baseUrl: string, defaults: Record<string, string> = {}): JsonCall {
  return (method, path, body, headers) => requestJson(baseUrl + path, method, body, { ...defaults, ...headers })
}

/**
 * Polls check() until it returns something truthy and resolves with that, for state that settles
 * on its own (webhooks, timers, background sends). Throws once timeoutMs has passed without it.
 */
export async function eventually<T> (check: () => Promise<T | undefined | false | null>, timeoutMs = 8000, everyMs = 25): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}

/**
 * A TCP port that was free a moment ago (bound on 127.0.0.1:0, read, closed): for servers that
 * must be told their port before they listen, or for an address where nothing is listening.
 */
export async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

/** One request a recorder received: its body read whole as text, and when it had all arrived. */
export interface Recorded { method: string, url: string, headers: IncomingHttpHeaders, body: string, at: number }

/**
 * A plain node:http server on a free loopback port that keeps every request it gets and answers
 * each with `respond` (default: 200, empty): the other end of a client under test, such as a
 * webhook receiver, a stand-in service or a provider that never answers. Closed at teardown.
 */
export async function startRecorder (t: TestLike, respond: (request: Recorded, res: ServerResponse) => void = (_request, res) => { res.end() }): Promise<{ origin: string, received: Recorded[] }> {
  const received: Recorded[] = []
  const server = createHttpServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', chunk => { body += chunk })
    req.on('end', () => {
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, at: performance.now() }
      received.push(recorded)
      respond(recorded, res)
    })
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received }
}

/** The ProviderError a provider client's call fails with; any other outcome fails the test. */
export async function providerErrorOf (call: Promise<unknown>): Promise<ProviderError> {
  try {
    await call
  } catch (err) {
    if (err instanceof ProviderError) return err
    throw err
  }
  throw new Error('expected the call to fail with a ProviderError, but it succeeded')
}
