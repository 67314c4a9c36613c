import { randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer as createHttpServer } from 'node:http'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildStack, listenStack, type Stack } from '@switchboard/stack/stack'
import { signEvent } from '@switchboard/service-kit/events'
import { DataFolderLockedError, processAlive } from '@switchboard/service-kit/data-lock'
import { ConfigError } from '@switchboard/service-kit/env'
import { EMAIL_STATUSES } from '@switchboard/activity-log'

// Spelled out, not imported from @switchboard/schemas: the published index.d.ts is this file's
// declarations alone (build.ts), and a team's project has no workspace package to resolve. A test
// holds it to the workspace's one list.
export const SERVICES = ['email', 'whatsapp', 'payments', 'voice', 'zoom'] as const
export type Service = typeof SERVICES[number]

export interface StartOptions {
  /** The gateway's port; 0 (the default) picks a free one. The services always get free ports. */
  port?: number
  /** Interface to listen on; default 127.0.0.1. */
  host?: string
  /** Makes simulated latencies and outcomes reproducible (SIM_SEED). */
  seed?: number
  /** Embedded database, keys and tokens. Default: a new temporary folder, removed by close(). */
  dataDir?: string
  /** Default: random tokens for this instance. */
  apiToken?: string
  adminToken?: string
  /** Any other configuration variable (MOCK_MODE, SENDGRID_LATENCY_MS, ...). process.env is not read. */
  env?: Record<string, string | undefined>
  /** Default 'error', so a test run's output stays the tests'. */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
}

/** One row of GET /api/admin/journal. */
export interface JournalEntry {
  service: string
  id: string
  request_id: string | null
  status: string
  mode: 'mock' | 'live'
  fallback: boolean
  contact: string | null
  summary: string | null
  error: string | null
  latency_ms: number | null
  created_at: string
  updated_at: string
}

export interface JournalQuery { service?: Service, status?: string, request_id?: string, since?: string, until?: string, limit?: number }

/** An email as the activity log keeps it, with what was sent (text and HTML, as the Activity view shows them). */
export interface LoggedEmail {
  id: string
  to: string
  from: string | null
  subject: string | null
  /** The plain-text body, when one was sent (content_type text/plain); null with ACTIVITY_CAPTURE=false. */
  text: string | null
  /** The HTML body, when one was sent (the default content_type); null with ACTIVITY_CAPTURE=false. */
  html: string | null
  status: string
  mode: 'mock' | 'live'
  requestId: string | null
  providerMessageId: string | null
  createdAt: string
}

/** A provider emulator: its base URL and the credentials of this stack's fake account (names as the provider's: apiKey, client_id, …). */
export interface EmulatorAccount { provider: string, baseUrl: string, credentials: Record<string, string> }

export interface WaitOptions { timeoutMs?: number }

/** One event an inbox received (Standard Webhooks: its signature was checked before it was kept). */
export interface ReceivedEvent {
  /** The webhook-id header: the same on every retry. */
  id: string
  type: string
  timestamp: string
  data: Record<string, unknown>
}

/** A local endpoint registered for events: what it received, and a wait for one. */
export interface EventInbox {
  url: string
  /** The endpoint's id in the admin API. */
  id: string
  /** Its whsec_ secret, for a test that verifies the events itself. */
  secret: string
  events: ReceivedEvent[]
  /** The first event of `type` (whose data passes `where`), once it arrives. */
  waitFor (match: { type: string, where?: (data: Record<string, unknown>) => boolean } & WaitOptions): Promise<ReceivedEvent>
  /** Deletes the endpoint and stops listening (close() of the Switchboard does it too). */
  close (): Promise<void>
}

export interface Switchboard {
  /** The gateway's base URL: the one URL a team's app needs. */
  url: string
  urls: Record<'gateway' | Service, string>
  apiToken: string
  adminToken: string
  dataDir: string
  /**
   * Clears the logs and every emulator's state (POST /api/admin/reset), and what each open inbox
   * has received, so the next test waits for its own events. Endpoints stay registered.
   */
  reset (): Promise<void>
  /** Recent activity, newest first. */
  journal (query?: JournalQuery): Promise<JournalEntry[]>
  /**
   * Where a provider's emulator answers and its fake account's credentials, for pointing the
   * provider's official SDK at it (with `EMULATOR_AUTH=issued` in `env`, the only ones it takes).
   */
  emulator (service: Service): Promise<EmulatorAccount>
  /** The newest email to `to` (with `subject` / `status` when given), once the activity log has it: its subject, text and HTML. */
  waitForEmail (match: { to: string, subject?: string, status?: string } & WaitOptions): Promise<LoggedEmail>
  /**
   * Listens on a free local port, registers it as an event endpoint (all types, or `types`), and
   * collects the events posted to it, each checked against its Standard Webhooks signature.
   */
  receiveEvents (options?: { types?: string[] }): Promise<EventInbox>
  /** Stops every server and flushes the activity log; removes the data folder it created. */
  close (): Promise<void>
}

async function freePort (host: string): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

const token = (kind: string) => `sb_${kind}_${randomBytes(24).toString('base64url')}`

const OPTION_NAMES = ['port', 'host', 'seed', 'dataDir', 'apiToken', 'adminToken', 'env', 'logLevel']
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/**
 * The options in startSwitchboard()'s own words: a mistyped name or a port given as text would
 * otherwise be ignored, or reported as the environment variable it becomes (GATEWAY_PORT).
 */
function checkOptions (options: StartOptions): void {
  const wrong = (what: string) => { throw new TypeError(`startSwitchboard(): ${what}`) }
  for (const name of Object.keys(options)) if (!OPTION_NAMES.includes(name)) wrong(`unknown option "${name}"; the options are ${OPTION_NAMES.join(', ')}`)
  const { port, seed, host, logLevel, dataDir, apiToken, adminToken, env } = options
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) wrong(`port must be a whole number from 0 to 65535 (0 picks a free one), not ${JSON.stringify(port)}`)
  if (seed !== undefined && !Number.isInteger(seed)) wrong(`seed must be a whole number, not ${JSON.stringify(seed)}`)
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel)) wrong(`logLevel must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(logLevel)}`)
  for (const [name, value] of Object.entries({ host, dataDir, apiToken, adminToken })) if (value !== undefined && (typeof value !== 'string' || value === '')) wrong(`${name} must be a non-empty string`)
  for (const [name, value] of Object.entries({ apiToken, adminToken })) if (typeof value === 'string' && value.length < 16) wrong(`${name} must be at least 16 characters`)
  if (env !== undefined && (typeof env !== 'object' || env === null || Array.isArray(env))) wrong('env must be an object of variable names and string values')
}

/** Names the process that made a temporary data folder, so a later start can tell an abandoned one. */
const OWNER_FILE = 'started-by.json'
const TEMP_FOLDER = /^switchboard-[\w-]{6}$/

/**
 * Removes the temporary data folders (about 40 MB each) of stacks whose process is gone without
 * close(): a test worker killed by a timeout, Ctrl-C or SIGKILL leaves its folder behind, and
 * nothing else ever would remove it. Only folders this package made (they name their process) are
 * touched, and only once that process no longer exists.
 */
async function removeAbandonedFolders (): Promise<void> {
  const root = tmpdir()
  for (const name of await readdir(root).catch(() => [])) {
    if (!TEMP_FOLDER.test(name)) continue
    const folder = join(root, name)
    const owner = await readFile(join(folder, OWNER_FILE), 'utf8').then(text => (JSON.parse(text) as { pid?: unknown }).pid, () => undefined)
    if (typeof owner === 'number' && Number.isInteger(owner) && owner !== process.pid && !processAlive(owner)) {
      await rm(folder, { recursive: true, force: true }).catch(() => {})
    }
  }
}

/**
 * The whole sandbox in this process (mock mode, embedded database), on free ports and its own data
 * folder, so parallel test workers each get their own stack. Ports are chosen before the servers
 * listen because the gateway must be told where each service is.
 */
export async function startSwitchboard (options: StartOptions = {}): Promise<Switchboard> {
  checkOptions(options)
  const host = options.host ?? '127.0.0.1'
  const ownDataDir = options.dataDir === undefined
  const dataDir = options.dataDir ?? await mkdtemp(join(tmpdir(), 'switchboard-'))
  if (ownDataDir) {
    await writeFile(join(dataDir, OWNER_FILE), JSON.stringify({ pid: process.pid }) + '\n', { mode: 0o600 })
    // In the background: a start never waits on another stack's leftovers.
    removeAbandonedFolders().catch(() => {})
  }
  const apiToken = options.apiToken ?? token('api')
  const adminToken = options.adminToken ?? token('admin')
  let stack: Stack | undefined
  let urls: Record<string, string> | undefined
  try {
    // A port found free can be taken by another process before we listen on it: try again on new ones.
    for (let attempt = 1; !urls; attempt++) {
      const env: Record<string, string | undefined> = {
        ...options.env,
        HOST: host,
        SWITCHBOARD_DATA_DIR: dataDir,
        API_TOKEN: apiToken,
        ADMIN_TOKEN: adminToken,
        LOG_LEVEL: options.logLevel ?? options.env?.LOG_LEVEL ?? 'error',
        GATEWAY_PORT: String(options.port || await freePort(host))
      }
      if (options.seed !== undefined) env.SIM_SEED = String(options.seed)
      for (const s of SERVICES) {
        const port = await freePort(host)
        env[`${s.toUpperCase()}_PORT`] = String(port)
        env[`${s.toUpperCase()}_SERVICE_URL`] = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
      }
      stack = await buildStack(env)
      try {
        urls = await listenStack(stack)
      } catch (err) {
        await stack.close()
        stack = undefined
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 3 || options.port) throw err
      }
    }
  } catch (err) {
    if (ownDataDir) await rm(dataDir, { recursive: true, force: true })
    // The lock's own words are for ./switchboard start (SWITCHBOARD_DATA_DIR, kill <pid>): here the
    // environment is not read, and the holder may be another stack in this very process.
    if (err instanceof DataFolderLockedError) {
      const who = err.holder.pid === process.pid ? 'another stack in this process' : `process ${err.holder.pid}${err.holder.command ? ` (${err.holder.command})` : ''}`
      throw new ConfigError(`The data folder ${dataDir} is in use by ${who}; two stacks writing one embedded database would corrupt it. ` +
        "Give each stack its own folder (startSwitchboard's dataDir, or none for a temporary one; the CLI's --data-dir), or close the stack that holds it first.")
    }
    throw err
  }
  const running = stack!
  const url = urls.gateway!
  const api = gatewayClient(url, adminToken)

  let closed: Promise<void> | undefined
  const inboxes = new Set<EventInbox>()
  return {
    url,
    urls: urls as Switchboard['urls'],
    apiToken,
    adminToken,
    dataDir,
    reset: async () => {
      await api('POST', '/api/admin/reset')
      for (const inbox of inboxes) inbox.events.length = 0
    },
    journal: async (query = {}) => journal(api, query),
    emulator: async (service) => {
      const { items } = await api('GET', '/api/admin/emulators') as { items: Array<{ service: string, provider: string, reachable: boolean, base_url?: string, credentials?: Record<string, string> }> }
      const item = items.find(i => i.service === service)
      if (!item?.reachable || item.base_url === undefined) throw new Error(`The ${service} emulator did not answer; is the ${service} service running?`)
      return { provider: item.provider, baseUrl: item.base_url, credentials: item.credentials ?? {} }
    },
    waitForEmail: async ({ to, subject, status, timeoutMs = 10_000 }) => {
      // A status no email can reach would only time out: said at once instead.
      if (status !== undefined && !EMAIL_STATUSES.includes(status)) throw new Error(`waitForEmail: no email ever has status "${status}"; one of ${EMAIL_STATUSES.join(', ')}`)
      // An address matches whatever its case, as the messages API matches it.
      const address = to.toLowerCase()
      const entry = await waitFor(async () => {
        const rows = await journal(api, { service: 'email', limit: 1000 })
        return rows.find(r => r.contact?.toLowerCase() === address && (subject === undefined || r.summary === subject) && (status === undefined || r.status === status))
      }, timeoutMs, () => `no email to ${to}${subject !== undefined ? ` with subject "${subject}"` : ''}${status !== undefined ? ` in status ${status}` : ''} within ${timeoutMs} ms`)
      // The row and what was sent to SendGrid (the exchange the activity log captured), in one call.
      type Detail = { row: Record<string, unknown> | null, content: Record<string, unknown> | null }
      const { row, content } = await api('GET', `/api/admin/activity/email/${entry.id}`) as Detail
      const body = (key: string) => typeof content?.[key] === 'string' ? content[key] as string : null
      return {
        id: entry.id,
        to: entry.contact ?? to,
        from: (row?.from_email as string | null) ?? null,
        subject: entry.summary,
        text: body('text'),
        html: body('html'),
        status: entry.status,
        mode: entry.mode,
        requestId: entry.request_id,
        providerMessageId: (row?.provider_message_id as string | null) ?? null,
        createdAt: entry.created_at
      }
    },
    receiveEvents: async (options = {}) => {
      const inbox = await eventInbox(url, adminToken, host, options.types)
      inboxes.add(inbox)
      return inbox
    },
    close: () => {
      closed ??= (async () => {
        for (const inbox of inboxes) await inbox.close().catch(() => {})
        await running.close()
        if (ownDataDir) await rm(dataDir, { recursive: true, force: true })
      })()
      return closed
    }
  }
}

type Api = (method: string, path: string) => Promise<unknown>

function gatewayClient (baseUrl: string, adminToken: string): Api {
  return async (method, path) => {
    const res = await fetch(baseUrl + path, { method, headers: { authorization: `Bearer ${adminToken}` } })
    const body = await res.json().catch(() => undefined) as { message?: string } | undefined
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${body?.message ?? 'no message'}`)
    return body
  }
}

async function journal (api: Api, query: JournalQuery): Promise<JournalEntry[]> {
  const qs = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)]))
  const { items } = await api('GET', `/api/admin/journal${qs.size ? `?${qs}` : ''}`) as { items: JournalEntry[] }
  return items
}

// The activity log is written in the background, so a row appears shortly after the answer.
async function waitFor<T> (check: () => Promise<T | undefined>, timeoutMs: number, describe: () => string): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > until) throw new Error(describe())
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** Standard Webhooks: the signature header holds space-separated "v1,<base64>" entries. */
function signedBy (secret: string, id: string, timestamp: string, body: string, header: string): boolean {
  const expected = Buffer.from(signEvent(secret, id, timestamp, body))
  return header.split(' ').some(sig => { const b = Buffer.from(sig); return b.length === expected.length && timingSafeEqual(b, expected) })
}

async function eventInbox (gatewayUrl: string, adminToken: string, host: string, types: string[] | undefined): Promise<EventInbox> {
  const events: ReceivedEvent[] = []
  let secret = ''
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const id = String(req.headers['webhook-id'] ?? '')
      const timestamp = String(req.headers['webhook-timestamp'] ?? '')
      if (!secret || !signedBy(secret, id, timestamp, body, String(req.headers['webhook-signature'] ?? ''))) {
        res.writeHead(401).end()
        return
      }
      try {
        const event = JSON.parse(body) as { type: string, timestamp: string, data: Record<string, unknown> }
        // At least once: a retry of an event already kept is acknowledged, not kept twice.
        if (!events.some(e => e.id === id)) events.push({ id, type: event.type, timestamp: event.timestamp, data: event.data })
        res.writeHead(204).end()
      } catch {
        res.writeHead(400).end()
      }
    })
  })
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve))
  const { port } = server.address() as AddressInfo
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/events`
  const stop = () => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) })
  const res = await fetch(`${gatewayUrl}/api/admin/endpoints`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url, description: 'startSwitchboard().receiveEvents()', ...(types ? { types } : {}) })
  })
  const created = await res.json() as { id: string, secret: string, message?: string }
  if (res.status !== 201) {
    await stop()
    throw new Error(`POST /api/admin/endpoints answered ${res.status}: ${created.message ?? 'no message'}`)
  }
  secret = created.secret
  let closed: Promise<void> | undefined
  return {
    url,
    id: created.id,
    secret,
    events,
    waitFor: ({ type, where, timeoutMs = 10_000 }) => waitFor(async () => events.find(e => e.type === type && (where === undefined || where(e.data))), timeoutMs,
      () => `no ${type} event${where ? ' matching' : ''} within ${timeoutMs} ms (received: ${events.map(e => e.type).join(', ') || 'none'})`),
    close: () => {
      closed ??= (async () => {
        await fetch(`${gatewayUrl}/api/admin/endpoints/${created.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } }).then(r => r.arrayBuffer(), () => {})
        await stop()
      })()
      return closed
    }
  }
}
