/**
 * Shared by the whole-stack tests: free ports, the stack in this process on a database of its own,
 * a bounded HTTP client that can send anything (bad JSON, wrong content types, odd paths), a TCP
 * proxy that can cut a connection, and polling.
 */
import type { Test } from 'tap'
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createTestDatabase } from '@switchboard/activity-log/testing'
import { LOGGED_SERVICES, SERVICE_NAMES, SERVICES } from '@switchboard/service-kit/services'
import { buildStack, listenStack, type Stack } from '../src/stack.ts'

export const API_TOKEN = 'stack-test-api-token-0123456789'
export const ADMIN_TOKEN = 'stack-test-admin-token-0123456789'
export const api = { authorization: `Bearer ${API_TOKEN}` }
export const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

/** Every table the services log to (settings excluded): each service's log table, and the tables beside them. */
export const LOG_TABLES = [...LOGGED_SERVICES.map(name => SERVICES[name].logTable!), 'crm_messages', 'whatsapp_campaigns', 'call_campaigns'] as const

import { freePort, startProcess, type StartedProcess } from '@switchboard/service-kit/testing'
export { freePort }

/** The stack's server script, as `./switchboard start` runs it. */
export const STACK_SERVER = resolve(import.meta.dirname, '../src/server.js')

export interface StackEnvOptions {
  /**
   * For the stack as a child process (apps/stack/src/server.js, startStackProcess): warnings
   * logged (they land in its output, for failure messages), no rate limit (these tests send
   * streams), the settings re-read at the services' own pace. Else: silent, settings every 200 ms.
   */
  child?: boolean
  /**
   * The activity log: 'test' (the default) a database of its own on the test server when
   * TEST_DATABASE_URL is set, else the embedded one; 'embedded' the embedded one in the data
   * folder, always; or a URL. (overrides.DATABASE_URL wins over all of these.)
   */
  database?: 'test' | 'embedded' | (string & {})
  /** Every service's simulated latency, as <SERVICE>_LATENCY_MS reads it: '0-0' (instant) unless told. */
  latencyMs?: string
}

/**
 * The environment `./switchboard start` would get, on free ports: every service's port and the
 * gateway's URL for it (services that have not landed yet simply ignore theirs), tokens set, a temp
 * data folder, silent logs, every service instant and always successful, and a database of its own
 * on the test server when there is one. `overrides` are applied last; `opts` says what differs for
 * the stack as a child process, another database or another latency.
 */
export async function stackEnv (t: Test, overrides: Record<string, string> = {}, opts: StackEnvOptions = {}): Promise<Record<string, string>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-stack-test-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const env: Record<string, string> = {
    SWITCHBOARD_DATA_DIR: dataDir,
    API_TOKEN,
    ADMIN_TOKEN,
    GATEWAY_PORT: String(await freePort()),
    ...(opts.child ? { LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '0' } : { LOG_LEVEL: 'silent', SETTINGS_POLL_MS: '200' })
  }
  for (const name of SERVICE_NAMES) {
    const port = await freePort()
    const NAME = name.toUpperCase()
    env[`${NAME}_PORT`] = String(port)
    env[`${NAME}_SERVICE_URL`] = `http://127.0.0.1:${port}`
    // Deterministic unless a test asks otherwise: instant, and every provider call succeeds (a
    // 2 % simulated Instamojo failure once turned a webhook test red at random).
    env[`${NAME}_LATENCY_MS`] = opts.latencyMs ?? '0-0'
    env[`${NAME}_SUCCESS_RATE`] = '1'
  }
  const database = opts.database ?? 'test'
  if (overrides.DATABASE_URL === undefined) {
    if (database === 'test') {
      if (process.env.TEST_DATABASE_URL) env.DATABASE_URL = await createTestDatabase(t)
    } else if (database !== 'embedded') env.DATABASE_URL = database
  }
  return { ...env, ...overrides }
}

/** The whole stack (node apps/stack/src/server.js) as a child process on `env` (a stackEnv), once its gateway answers /health. */
export function startStackProcess (t: Test, env: Record<string, string>, timeoutMs = 60_000): Promise<StartedProcess> {
  return startProcess(t, { script: STACK_SERVER, env, healthUrl: `http://127.0.0.1:${env.GATEWAY_PORT}/health`, timeoutMs })
}

export interface Running {
  stack: Stack
  env: Record<string, string>
  urls: Record<string, string>
  gatewayUrl: string
  /** JSON in, parsed JSON out (text when not JSON). */
  call: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Reply>
}

/** The whole stack in this process, listening on the ports of `stackEnv`, closed at teardown. */
export async function startStack (t: Test, overrides: Record<string, string> = {}, logger: boolean | object = false): Promise<Running> {
  // The ports are picked free before the stack listens (each service is told the others' URLs),
  // and a server another test starts meanwhile can take one: then the stack starts again on new
  // ports, as startSwitchboard does. Ports a test sets itself are its own to keep.
  const ownPorts = Object.keys(overrides).some(k => k.endsWith('_PORT'))
  for (let attempt = 1; ; attempt++) {
    const env = await stackEnv(t, overrides)
    const stack = await buildStack(env, logger)
    let urls: Record<string, string>
    try {
      urls = await listenStack(stack)
    } catch (err) {
      await stack.close()
      if ((err as { code?: string }).code !== 'EADDRINUSE' || ownPorts || attempt === 3) throw err
      continue
    }
    t.teardown(() => stack.close())
    return running(stack, env, urls)
  }
}

function running (stack: Stack, env: Record<string, string>, urls: Record<string, string>): Running {
  const gatewayUrl = urls.gateway!
  const call: Running['call'] = (method, path, body, headers = {}) => send({
    method,
    url: gatewayUrl + path,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  })
  return { stack, env, urls, gatewayUrl, call }
}

export interface Reply {
  status: number
  headers: IncomingHttpHeaders
  text: string
  body: any
  ms: number
}

const agent = new Agent({ keepAlive: true, maxSockets: 32 })

/**
 * One HTTP request with a hard deadline: anything that does not answer within timeoutMs rejects
 * (a hang is a failure, never a stuck test). Sends exactly the bytes and headers given.
 */
export function send (req: { method: string, url: string, headers?: Record<string, string>, body?: string | Buffer | undefined, timeoutMs?: number }): Promise<Reply> {
  const started = performance.now()
  const timeoutMs = req.timeoutMs ?? 10_000
  return new Promise((resolve, reject) => {
    const r = httpRequest(req.url, { method: req.method, headers: req.headers, agent, signal: AbortSignal.timeout(timeoutMs) }, res => {
      const chunks: Buffer[] = []
      res.on('data', c => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let body: unknown = text
        try { body = text ? JSON.parse(text) : undefined } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body, ms: performance.now() - started })
      })
    })
    r.on('error', err => reject(err.name === 'AbortError' ? new Error(`no answer within ${timeoutMs} ms: ${req.method} ${req.url}`) : err))
    r.end(req.body)
  })
}

/** Polls until check returns a value (not undefined/false) or the deadline passes. */
export async function eventually<T> (check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, everyMs = 25): Promise<T | undefined> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v !== undefined && v !== false) return v
    if (Date.now() > until) return undefined
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}

export { tcpProxy, type TcpProxy } from '@switchboard/activity-log/testing'

/** A seeded generator (mulberry32), so a failing run can be replayed with its seed. */
export function seeded (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}
