import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer, get as httpGet, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import { connect, createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { request, type Dispatcher } from 'undici'
import type { ActivityLogOptions, EmulatorState } from '@switchboard/activity-log'
import { createTestActivityLog } from '@switchboard/activity-log/testing'
import { ProviderError } from '../outbound/provider-client.ts'
import type { CommonEnv } from '../server/env.ts'
import { processAlive } from '../server/data-lock.ts'
import { RuntimeSettings } from '../server/runtime-settings.ts'
import type { App, AppOptions, SharedInfrastructure } from '../server/service-app.ts'
import { SERVICE_NAMES, type ServiceName } from '../server/services.ts'
import type { SimulationSettings } from '../emulator/simulation.ts'
import { INTERNAL_HEADER, type Tokens } from '../server/tokens.ts'

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

/**
 * Two instances of an app on one test database, each with the EmulatorState it made: a test of two
 * instances holds one's sync back (holdSync) to keep open the up-to-a-second window in which it
 * answers from an older copy. `start` builds one instance on the database it is given.
 */
export async function twoInstances<T extends TestLike, I> (t: T, start: (t: T, infra: TestInfrastructure) => Promise<I>) {
  const infra = await createTestInfrastructure(t)
  const states: EmulatorState[] = []
  const make = infra.activityLog.emulatorState.bind(infra.activityLog)
  infra.activityLog.emulatorState = options => { const state = make(options); states.push(state); return state }
  const one = await start(t, infra)
  const [stateOne] = states.splice(0)
  const two = await start(t, infra)
  const [stateTwo] = states.splice(0)
  if (!stateOne || !stateTwo) throw new Error('twoInstances: an instance made no emulator state')
  return { infra, one, two, stateOne, stateTwo }
}

/** Stops `state` from syncing other instances' changes until the returned release (or the test's end). */
export function holdSync (t: TestLike, state: EmulatorState): () => void {
  const sync = state.sync
  state.sync = async () => {}
  const release = () => { state.sync = sync }
  t.teardown(release)
  return release
}

export interface TestInfrastructure extends SharedInfrastructure {
  dataDir: string
  /** Registers an app to close before the database does. */
  closeWithInfrastructure (app: FastifyInstance): void
}

/**
 * The activity log (PostgreSQL when TEST_DATABASE_URL is set, else in-memory PGlite), runtime
 * settings with fast polling and instant, always-successful simulation unless told otherwise,
 * and a temporary data folder. Everything is torn down after the test, apps first. `activityLog`
 * options (a backend that holds its writes, a small maxPending) go to the activity log.
 */
export async function createTestInfrastructure (t: TestLike, opts: { mockMode?: boolean, simulation?: Partial<Record<ServiceName, Partial<SimulationSettings>>>, activityLog?: Partial<ActivityLogOptions> } = {}): Promise<TestInfrastructure> {
  const apps: FastifyInstance[] = []
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-test-'))
  const activityLog = await createTestActivityLog(t, opts.activityLog)
  const instant = { latencyMs: { min: 0, max: 0 }, successRate: 1 }
  const simulation = Object.fromEntries(SERVICE_NAMES.map(s => [s, { ...instant, ...opts.simulation?.[s] }]))
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
 * A TCP port that was free a moment ago (bound on 127.0.0.1 and closed), outside the ephemeral
 * range: for servers that must be told their port before they listen, or for an address where
 * nothing is listening.
 */
export async function freePort (): Promise<number> {
  // Below the system's ephemeral range: a port picked there stays free until the server that asked
  // for it listens. One from the ephemeral range (what listen(0) gives) could be taken meanwhile by
  // any outgoing connection's local end or any server another test starts on port 0, and was: a
  // stack's VOICE_PORT, picked before its six servers were built, was in use when they listened.
  const [low, high] = portRangeBelowEphemeral()
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low))
    if (!reservePort(port)) continue
    if (await canListen(port)) return port
    releasePort(port)
  }
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

/** The ports freePort picks from: the 16,384 below the ephemeral range (Linux: 32768 by default). */
function portRangeBelowEphemeral (): [number, number] {
  let ephemeralLow = 32_768
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLow
  } catch { /* not Linux: the IANA range starts higher still */ }
  return [Math.max(1_024, ephemeralLow - 16_384), ephemeralLow]
}

/**
 * Ports this process was given stay its own until it exits, across every test process of a run: a
 * stack killed and started again on the same ports leaves them free for a few seconds, and another
 * test's freePort once picked one of them meanwhile (EMAIL_PORT in use at the restart). A
 * reservation is a file named by the port, holding the pid; one whose process is gone is taken over.
 */
const RESERVATIONS = join(tmpdir(), 'switchboard-test-ports')
const reserved = new Set<number>()

/** Reserves a port for this process, as freePort does for each it hands out; false when a live process (this one included) holds it. */
export function reservePort (port: number): boolean {
  const file = join(RESERVATIONS, String(port))
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      mkdirSync(RESERVATIONS, { recursive: true })
      writeFileSync(file, String(process.pid), { flag: 'wx' })
    } catch (err) {
      // Reservations are a courtesy between test processes; without the folder, the listen check alone decides.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return true
      let holder: number
      try {
        holder = Number(readFileSync(file, 'utf8').trim())
      } catch {
        continue // released meanwhile
      }
      // No pid yet: its writer is between creating the file and writing it.
      if (!(holder > 0) || holder === process.pid || processAlive(holder)) return false
      rmSync(file, { force: true })
      continue
    }
    if (reserved.size === 0) process.once('exit', () => { for (const p of reserved) rmSync(join(RESERVATIONS, String(p)), { force: true }) })
    reserved.add(port)
    return true
  }
  return false
}

function releasePort (port: number): void {
  if (reserved.delete(port)) rmSync(join(RESERVATIONS, String(port)), { force: true })
}

async function canListen (port: number): Promise<boolean> {
  const server = createServer()
  const listening = await new Promise<boolean>(resolve => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => resolve(true))
  })
  if (listening) await new Promise<void>(resolve => server.close(() => resolve()))
  return listening
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

/** One app of a service (apps/<service>) on a test database, listening: what each app's test helper returns. */
export interface ServiceTestApp extends TestInfrastructure {
  app: App
  url: string
  /** requestJson against the running app, with the internal credential the gateway adds. */
  call: JsonCall
}

export interface ServiceTestAppOptions<E extends CommonEnv> {
  service: ServiceName
  /** The app's buildApp and its env parser (src/app.ts, src/config.ts). */
  buildApp: (opts: AppOptions<E>) => Promise<App>
  loadEnv: (env: Record<string, string | undefined>) => E
  /** Over the defaults: `<SERVICE>_PORT=0`, the test data folder, silent logs. */
  env?: Record<string, string>
  simulation?: Partial<SimulationSettings>
  mockMode?: boolean
  logger?: AppOptions<E>['logger']
  /** Options of the test activity log (createTestInfrastructure). */
  activityLog?: Partial<ActivityLogOptions>
}

/**
 * The service's app listening on a free port, on a test database (createTestInfrastructure),
 * instant and always successful unless `simulation` says otherwise; closed at teardown, before
 * the database. Each app's test helper is this with its own buildApp, env parser and defaults.
 */
export async function startServiceApp<E extends CommonEnv> (t: TestLike, opts: ServiceTestAppOptions<E>): Promise<ServiceTestApp> {
  const infra = await createTestInfrastructure(t, { mockMode: opts.mockMode, simulation: { [opts.service]: { ...opts.simulation } }, ...(opts.activityLog ? { activityLog: opts.activityLog } : {}) })
  const env = opts.loadEnv({ [`${opts.service.toUpperCase()}_PORT`]: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent', ...opts.env })
  const app = await opts.buildApp({ env, shared: infra, logger: opts.logger ?? false })
  infra.closeWithInfrastructure(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  // selfBaseUrl's answer, without loading service-app (and Fastify) into every test that imports this module.
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  return { ...infra, app, url, call: jsonCaller(url, internalHeaders()) }
}

/** How a child process ended: its exit code, or the signal that ended it. */
export interface ProcessExit { code: number | null, signal: NodeJS.Signals | null }

/** A server script running as a real child process (startProcess). */
export interface StartedProcess {
  pid: number
  /** Everything it printed so far, stdout and stderr together, for assertions and failure messages. */
  output: () => string
  /** Resolves once the process has exited. */
  exited: Promise<ProcessExit>
  /** Sends the signal (SIGKILL unless told: no shutdown code runs); resolves once it is gone. */
  kill: (signal?: NodeJS.Signals) => Promise<ProcessExit>
  /** SIGTERM, the graceful path; resolves with the exit code. */
  terminate: () => Promise<number | null>
}

export interface StartProcessOptions {
  /** The script node runs, e.g. apps/stack/src/server.js. */
  script: string
  args?: string[]
  env: Record<string, string>
  cwd?: string
  /** Waited for until it answers 200 (e.g. the server's /health); without it, resolves at once. */
  healthUrl?: string
  /** How long to wait for healthUrl: 60 s unless told. */
  timeoutMs?: number
}

/** True once `url` answers 200; false for any other answer, a refused connection, or no answer within a second. */
function answers200 (url: string): Promise<boolean> {
  return new Promise(resolve => {
    const req = httpGet(url, { agent: false, signal: AbortSignal.timeout(1000) }, res => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('error', () => resolve(false))
  })
}

/**
 * Starts `node <script>` as a real child process (so a test can SIGKILL it) with exactly `env`
 * (plus PATH), in `cwd` (default: env.SWITCHBOARD_DATA_DIR, so no .env of the repository is read),
 * collecting its output; with `healthUrl`, resolves once that answers 200, and fails with the
 * output if the process exits first or timeoutMs passes. Killed at teardown if still running.
 */
export async function startProcess (t: TestLike, opts: StartProcessOptions): Promise<StartedProcess> {
  const child = spawn(process.execPath, [opts.script, ...opts.args ?? []], {
    env: { PATH: process.env.PATH ?? '', ...opts.env },
    cwd: opts.cwd ?? opts.env.SWITCHBOARD_DATA_DIR,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', d => { output += d })
  child.stderr.on('data', d => { output += d })
  const exited = new Promise<ProcessExit>(resolve => child.once('exit', (code, signal) => resolve({ code, signal })))
  const alive = () => child.exitCode === null && child.signalCode === null
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (alive()) child.kill(signal)
    return exited
  }
  t.teardown(async () => { await kill('SIGKILL') })
  const started: StartedProcess = { pid: child.pid!, output: () => output, exited, kill, terminate: async () => (await kill('SIGTERM')).code }
  if (opts.healthUrl === undefined) return started
  const healthUrl = opts.healthUrl
  const timeoutMs = opts.timeoutMs ?? 60_000
  try {
    await eventually(async () => {
      if (!alive()) throw new Error('it exited')
      return answers200(healthUrl)
    }, timeoutMs, 100)
  } catch (err) {
    throw new Error(`${opts.script} did not answer ${healthUrl} (${(err as Error).message}): ${output.slice(-3000)}`)
  }
  return started
}

/**
 * A URL where nothing listens: a connection is refused at once. Port 9 (discard) is below the
 * ephemeral range, so no server a test starts on port 0 can take it; a port probed free and
 * released could be (a "down" service once answered 202 on a loaded machine).
 */
export const REFUSING_URL = 'http://127.0.0.1:9'

/**
 * Sends `raw` bytes as they are on a new connection to `url`'s host and port, and returns all the
 * server wrote until it closed the connection: for requests no HTTP client would make (a bad
 * Content-Length, a broken chunk).
 */
export async function rawExchange (url: string, raw: string): Promise<string> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  const chunks: Buffer[] = []
  socket.on('data', chunk => chunks.push(chunk))
  await once(socket, 'connect')
  socket.end(raw)
  await once(socket, 'close')
  return Buffer.concat(chunks).toString('utf8')
}
