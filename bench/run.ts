/**
 * `./switchboard bench`: one run, side by side — a bare Fastify route as the reference, two rows
 * of what this machine allows (the reference answering 3.5 KB, three bare servers forwarding to
 * each other), each provider emulator's main route, each service's route called directly and each
 * full gateway → service → emulator → log path at zero latency, the peers (Prism and Mockoon serving
 * SendGrid's mail send from its OpenAPI document), the wall times of a 10,000-recipient bulk email
 * and a 5,000-contact WhatsApp campaign at the spec's latencies, each emulator's memory per
 * record, and the stack's start time and idle memory. Prints req/s, the server's CPU per request, p50/p99 and RSS and writes
 * bench/results/latest.json. Never part of the tests.
 *
 * Targets (issue 26), each measured in BENCH_ROUNDS short rounds interleaved with what it is
 * measured against, reported as the median and the spread: an emulator route at least half of
 * bare Fastify's req/s (Zoom's with no non-2xx answer); a full gateway path at least half of three
 * bare hops (voice: 0.4); the SendGrid emulator at least five times the faster peer.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { PEER_PACKAGES, peerCommand } from './peers.ts'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import autocannon from 'autocannon'
import { randomUUID } from 'node:crypto'
import { request } from 'undici'
import { createPgliteBackend } from '@switchboard/activity-log'
import { freePort } from '@switchboard/service-kit/testing'
import { INTERNAL_HEADER } from '@switchboard/service-kit/tokens'
import { startPostgres } from '../scripts/postgres-server.ts'
import type { StackFile } from '../apps/stack/src/stack.ts'

const here = dirname(fileURLToPath(import.meta.url))
// Rows with targets run in ROUNDS rounds of DURATION seconds, each round with its own reference, so
// a verdict rests on a median rather than on one run that this shared machine may have slowed.
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3))
const DURATION = Number(process.env.BENCH_DURATION_S ?? 5)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const API = { authorization: 'Bearer bench-api-token-0123456789', 'content-type': 'application/json' }
const ADMIN = { authorization: 'Bearer bench-admin-token-0123456789', 'content-type': 'application/json' }
const JSON_TYPE = { 'content-type': 'application/json' }
/** The tokens of every server the bench starts (targets.ts too), so it can call a service as the gateway does. */
const BENCH_TOKENS = { API_TOKEN: 'bench-api-token-0123456789', ADMIN_TOKEN: 'bench-admin-token-0123456789', INTERNAL_TOKEN: 'bench-internal-token-0123456789' }
/** What the gateway shows a service: the internal credential (a service refuses its API without it). */
const AS_GATEWAY = { ...JSON_TYPE, [INTERNAL_HEADER]: BENCH_TOKENS.INTERNAL_TOKEN }

interface Target { urls: Record<string, string>, child: ChildProcess }

// BENCH_PIN=1 measures as the reference runs in peers.md did: every server process on CPU 0, this
// process (the load generator) on CPU 1 (taskset, util-linux). Unpinned, they share both cores.
const PIN = process.env.BENCH_PIN === '1'
if (PIN) {
  try {
    execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' })
  } catch (err) {
    console.error(`BENCH_PIN=1 needs taskset (Debian: util-linux) and at least two CPUs: ${(err as Error).message}. Run without BENCH_PIN to let the servers and the load generator share the cores.`)
    process.exit(1)
  }
}

async function startTarget (name: string, env: Record<string, string> = {}, opts: { heap?: boolean } = {}): Promise<Target> {
  // BENCH_PROFILE=1 writes a V8 CPU profile of each server process to bench/results/profiles.
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${join(here, 'results', 'profiles')}`] : []
  // heap: the target can be asked for its heap after a full GC (heapAfterGc), over an IPC channel.
  const node = [process.execPath, ...profile, ...(opts.heap ? ['--expose-gc'] : []), join(here, 'targets.ts'), name]
  const [command, ...args] = PIN ? ['taskset', '-c', '0', ...node] : node
  const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit', ...(opts.heap ? ['ipc' as const] : [])], env: { ...process.env, ...env } })
  for await (const line of createInterface({ input: child.stdout! })) {
    const msg = JSON.parse(line) as { ready: boolean, url: string }
    if (msg.ready) return { urls: msg.url.startsWith('{') ? JSON.parse(msg.url) : { bare: msg.url }, child }
  }
  throw new Error(`target ${name} exited before it was ready`)
}

/** The target's JS heap in use after a full garbage collection, in bytes (needs startTarget's heap option). */
async function heapAfterGc (t: Target): Promise<number> {
  const answer = new Promise<{ heapUsed: number }>(resolve => t.child.once('message', resolve as (m: unknown) => void))
  t.child.send('heap')
  return (await answer).heapUsed
}

const rssMiB = (pid: number | undefined) => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024)
/**
 * CPU time (user + system, every thread) a process has used, in µs. Linux's /proc/<pid>/stat gives
 * it in clock ticks of 10 ms (USER_HZ is 100 on every Linux ABI Node runs on).
 */
const cpuMicros = (pid: number | undefined) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

async function stop (t: Target): Promise<void> {
  t.child.kill('SIGTERM')
  await new Promise(resolve => t.child.once('exit', resolve))
}

async function json (url: string, method: string, headers: Record<string, string>, body?: unknown): Promise<any> {
  const res = await request(url, { method: method as 'POST', headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) })
  return res.body.json()
}

interface LoadResult { name: string, kind: 'reference' | 'floor' | 'emulator' | 'emulator+webhooks' | 'emulator+receiver' | 'service' | 'gateway' | 'peer' | 'variant', round: number, reqPerSec: number, p50: number, p99: number, non2xx: number, errors: number, rssMiB: number, cpuMicrosPerRequest: number }
const results: LoadResult[] = []
const walls: Array<{ name: string, ms: number, target: number | null, detail: string }> = []
const memory: Array<{ name: string, unit: string, detail: string, bytesPerItem: number }> = []

async function load (name: string, kind: LoadResult['kind'], t: Target, url: string, headers: Record<string, string>, body: string, round = 0): Promise<void> {
  const base = { url, connections: CONNECTIONS, method: 'POST' as const, headers, body }
  await autocannon({ ...base, duration: 2 }) // warm-up, not recorded
  // The server's CPU per request is steadier than req/s on a shared machine: it does not depend on
  // how much of the CPU the server got, and it tells what a request costs wherever it runs.
  const cpuBefore = cpuMicros(t.child.pid)
  const r = await autocannon({ ...base, duration: DURATION })
  const cpuMicrosPerRequest = Math.round((cpuMicros(t.child.pid) - cpuBefore) / Math.max(1, r.requests.total))
  const row = { name, kind, round, reqPerSec: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, rssMiB: rssMiB(t.child.pid), cpuMicrosPerRequest }
  results.push(row)
  console.log(`  ${name}${ROUNDS > 1 && isTargetRow(kind, name) ? ` [round ${round + 1}]` : ''}: ${row.reqPerSec} req/s, ${cpuMicrosPerRequest} µs CPU/request, p99 ${row.p99} ms${row.non2xx || row.errors ? `, ${row.non2xx} non-2xx, ${row.errors} errors` : ''}`)
}

console.log(`load: autocannon -c ${CONNECTIONS} -d ${DURATION} after a 2 s warm-up; servers in a child process${PIN ? ' on CPU 0, load generator on CPU 1' : ', sharing both cores with the load generator'}\n`)

// --- the reference ----------------------------------------------------------------------------
const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY, 'i') : undefined
const wanted = (name: string) => only === undefined || only.test(name)

const mail = JSON.stringify({ personalizations: [{ to: [{ email: 'bench@example.com' }] }], from: { email: 'sender@example.com' }, subject: 'Bench', content: [{ type: 'text/plain', value: 'Hello' }] })
// The reference runs at the start of every round: this machine's speed drifts (other work shares
// it), and each round's rows are measured against their own round's reference.
async function reference (round: number): Promise<void> {
  const bare = await startTarget('bare-fastify')
  await load('bare Fastify route (reference)', 'reference', bare, `${bare.urls.bare}/v3/mail/send`, JSON_TYPE, mail, round)
  await stop(bare)
}

// --- what the targets are up against on this machine ---------------------------------------------
// The reference answering as much as the Zoom emulator answers, and three bare servers forwarding
// to each other (a gateway path's shape with no work in it): read beside the Zoom emulator row and
// the gateway rows, they separate what our code costs from what the shape of the path costs here.
// The gateway targets are measured against the second.
const SHAPE_ROW = 'three bare Fastify hops (a gateway path\'s shape, no work)'
const floors = [
  { name: SHAPE_ROW, target: 'three-bare-hops', everyRound: true },
  { name: 'bare Fastify answering 3.5 KB (the Zoom emulator\'s answer size)', target: 'bare-fastify-3.5kb', everyRound: false }
]
/** Rows measured in every round: the targets and what they are measured against. */
function isTargetRow (kind: LoadResult['kind'], name: string): boolean {
  return kind === 'reference' || kind === 'emulator' || kind === 'gateway' || kind === 'peer' || name === SHAPE_ROW
}

// --- zero latency: emulator routes, then the full gateway paths --------------------------------
// Each scenario gets a fresh stack: an emulated message keeps producing status webhooks and log
// writes after the load stops, and that backlog must not be charged to the next scenario.
const zoomTokenFor = async (zoomUrl: string) => (await json(`${zoomUrl}/zoom/oauth/token?grant_type=account_credentials&account_id=bench`, 'POST', { authorization: `Basic ${Buffer.from('bench-client:bench-secret').toString('base64')}` })).access_token as string
const aisensyKey = 'eyJhbGciOiJIUzI1NiJ9.eyJpZCI6ImJlbmNoIn0.c2lnbmF0dXJl'
const BOLNA = { authorization: 'Bearer bn-bench-key', ...JSON_TYPE }

// Emulator rows: the route as a client of the emulator sees it, with the provider's webhooks not
// configured (a real setting of each provider: SendGrid's Event Webhook disabled, AiSensy and Zoom
// without a webhook URL, a Bolna agent without webhook_url). The target applies to these. Two more
// rows per provider show the webhooks' cost, without targets: "→ sink" posts them to another
// process (where a user's app would take them), "→ receiver" to our own receiver in the same
// process (verify, parse, log updates on the same event loop). Gateway rows include everything.
type Kind = LoadResult['kind']
interface Scenario {
  name: string
  kind: Kind
  /** Start a webhook sink; `env` turns its URL into the stack's environment (providers set there). */
  sink?: boolean
  env?: (sink: string) => Record<string, string>
  prepare: (u: Record<string, string>, sink: string) => Promise<[url: string, headers: Record<string, string>, body: string]>
}
type Request = [string, Record<string, string>, string]
/** Where a provider's webhooks go in a row: nowhere, a sink process, or our in-process receiver. */
type Hooks = 'off' | 'sink' | 'receiver'
const SG = { authorization: 'Bearer SG.bench.key', ...JSON_TYPE }
const sendgrid = async (u: Record<string, string>, hooks: Hooks, sink: string): Promise<Request> => {
  if (hooks !== 'receiver') await json(`${u.email}/sendgrid/v3/user/webhooks/event/settings`, 'PATCH', SG, hooks === 'off' ? { enabled: false } : { enabled: true, url: sink })
  return [`${u.email}/sendgrid/v3/mail/send`, SG, mail]
}
const aisensyBody = JSON.stringify({ apiKey: aisensyKey, campaignName: 'welcome_message', destination: '+919876543210', userName: 'Bench', templateParams: ['Bench'] })
const aisensy = async (u: Record<string, string>): Promise<Request> => [`${u.whatsapp}/aisensy/campaign/t1/api/v2`, JSON_TYPE, aisensyBody]
// Bolna posts a call's statuses to its agent's webhook_url: the bench makes an agent of its own
// (without one, or with the sink's); the seeded agents post to our receiver.
const bolna = async (u: Record<string, string>, hooks: Hooks, sink: string): Promise<Request> => {
  const agentId = hooks === 'receiver'
    ? ((await json(`${u.voice}/bolna/v2/agent/all`, 'GET', BOLNA)) as Array<{ id: string }>)[0]!.id
    : (await json(`${u.voice}/bolna/v2/agent`, 'POST', BOLNA, { agent_config: { agent_name: 'Bench', ...(hooks === 'sink' ? { webhook_url: sink } : {}), tasks: [{ task_type: 'conversation' }] }, agent_prompts: { task_1: { system_prompt: 'Benchmark agent.' } } })).agent_id as string
  return [`${u.voice}/bolna/call`, BOLNA, JSON.stringify({ agent_id: agentId, recipient_phone_number: '+919855550100' })]
}
const zoom = async (u: Record<string, string>): Promise<Request> => [`${u.zoom}/zoom/v2/users/me/meetings`, { authorization: `Bearer ${await zoomTokenFor(u.zoom!)}`, ...JSON_TYPE }, JSON.stringify({ topic: 'Bench', duration: 30 })]
const instamojo = async (u: Record<string, string>): Promise<Request> => [`${u.payments}/instamojo/api/1.1/payment-requests/`,
  { 'x-api-key': 'bench-key', 'x-auth-token': 'bench-token', 'content-type': 'application/x-www-form-urlencoded' }, 'amount=499.00&purpose=Bench']

const emulatorRows = (name: string, env: ((hooks: 'off' | 'sink', sink: string) => Record<string, string>) | undefined, prepare: (u: Record<string, string>, hooks: Hooks, sink: string) => Promise<Request>): Scenario[] => [
  { name, kind: 'emulator', sink: false, env: env ? () => env('off', '') : undefined, prepare: u => prepare(u, 'off', '') },
  { name: `${name.split(' ')[0]} emulator → sink`, kind: 'emulator+webhooks', sink: true, env: env ? sink => env('sink', sink) : undefined, prepare: (u, sink) => prepare(u, 'sink', sink) },
  { name: `${name.split(' ')[0]} emulator → receiver`, kind: 'emulator+receiver', prepare: u => prepare(u, 'receiver', '') }
]
/**
 * A service's own route called directly, with the internal credential the gateway adds (a service
 * refuses its API without it), then the same call through the gateway.
 */
const pathRows = (service: string, gatewayPath: string, servicePath: string, auth: Record<string, string>, body: unknown): Scenario[] => [
  { name: `${service} service ${servicePath} (no gateway)`, kind: 'service', prepare: async u => [`${u[service]}${servicePath}`, AS_GATEWAY, JSON.stringify(body)] },
  { name: `gateway → ${service} (latency 0)`, kind: 'gateway', prepare: async u => [`${u.gateway}${gatewayPath}`, auth, JSON.stringify(body)] }
]
const scenarios: Scenario[] = [
  ...emulatorRows('SendGrid emulator  POST /v3/mail/send', undefined, sendgrid),
  ...emulatorRows('AiSensy emulator   POST /campaign/t1/api/v2', (hooks, sink) => ({ AISENSY_WEBHOOK_URL: hooks === 'off' ? 'off' : sink }), aisensy),
  { name: 'Instamojo emulator POST /api/1.1/payment-requests/', kind: 'emulator', prepare: instamojo },
  ...emulatorRows('Bolna emulator     POST /call', undefined, bolna),
  ...emulatorRows('Zoom emulator      POST /v2/users/me/meetings', (hooks, sink) => ({ ZOOM_WEBHOOK_URL: hooks === 'off' ? 'off' : sink }), zoom),
  // Each gateway row has a row for the same call made to the service directly (no gateway hop, no
  // target): the two side by side and the emulator row say what each hop of the path costs.
  ...pathRows('email', '/api/automation/trigger/email', '/emails', API, { to_email: 'bench@example.com', subject: 'Bench', content: '<p>Hello</p>' }),
  ...pathRows('whatsapp', '/api/automation/trigger/whatsapp', '/messages', API, { to_number: '+919000000004', template_name: 'welcome_message', params: ['Bench'] }),
  ...pathRows('payments', '/api/admin/payment-links', '/payment-links', ADMIN, { amount: '499.00', purpose: 'Bench' }),
  ...pathRows('voice', '/api/automation/trigger/call', '/calls', API, { to_number: '+919855550100', script_id: 'appointment_reminder' }),
  ...pathRows('zoom', '/api/zoom/meetings', '/meetings', API, { topic: 'Bench', duration: 30 }),
  // What exchange capture (issue 22: a row per emulator exchange and per webhook post) costs on a
  // path: the same rows with ACTIVITY_CAPTURE=false, run once (no target).
  { name: 'Instamojo emulator, exchange capture off', kind: 'variant', env: () => ({ ACTIVITY_CAPTURE: 'false' }), prepare: instamojo },
  { name: 'gateway → email, exchange capture off', kind: 'variant', env: () => ({ ACTIVITY_CAPTURE: 'false' }), prepare: async u => [`${u.gateway}/api/automation/trigger/email`, API, JSON.stringify({ to_email: 'bench@example.com', subject: 'Bench', content: '<p>Hello</p>' })] },
  { name: 'gateway → voice, exchange capture off', kind: 'variant', env: () => ({ ACTIVITY_CAPTURE: 'false' }), prepare: async u => [`${u.gateway}/api/automation/trigger/call`, API, JSON.stringify({ to_number: '+919855550100', script_id: 'appointment_reminder' })] }
]
// --- the peers: Prism and Mockoon serving SendGrid's mail send from its official OpenAPI document --
// Installed on demand into bench/.peers (not project dependencies), measured in every round like
// the SendGrid emulator they are compared with.
const SENDGRID_SPEC = join(here, '..', '..', 'shared', 'reference', 'specs', 'sendgrid', 'tsg_mail_v3.json')
const PEERS = [
  { name: 'Prism mock of SendGrid POST /v3/mail/send', peer: 'prism' as const },
  { name: 'Mockoon CLI mock of SendGrid POST /v3/mail/send', peer: 'mockoon' as const }
].filter(p => wanted(p.name))
if (PEERS.length > 0 && !existsSync(SENDGRID_SPEC)) {
  console.log(`  peers skipped: SendGrid's OpenAPI document is not at ${SENDGRID_SPEC} (the shared/ folder beside the repository)`)
  PEERS.length = 0
}
if (PEERS.length > 0) installPeers()

for (let round = 0; round < ROUNDS; round++) {
  if (ROUNDS > 1) console.log(`round ${round + 1} of ${ROUNDS}`)
  await reference(round)
  for (const floor of floors) {
    if (!wanted(floor.name) || (round > 0 && !floor.everyRound)) continue
    const t = await startTarget(floor.target)
    await load(floor.name, 'floor', t, `${t.urls.bare}/v3/mail/send`, JSON_TYPE, mail, round)
    await stop(t)
  }
  for (const { name, kind, sink, env, prepare } of scenarios) {
    if (!wanted(name) || (round > 0 && !isTargetRow(kind, name))) continue
    const sinkTarget = sink ? await startTarget('webhook-sink') : undefined
    const target = await startTarget('stack-latency-0', env ? env(sinkTarget?.urls.bare ?? '') : {})
    const [url, headers, body] = await prepare(target.urls, sinkTarget?.urls.bare ?? '')
    await load(name, kind, target, url, headers, body, round)
    await stop(target)
    if (sinkTarget) await stop(sinkTarget)
  }
  for (const peer of PEERS) {
    const t = await startPeer(peer.peer)
    await load(peer.name, 'peer', t, `${t.urls.bare}/v3/mail/send`, SG, mail, round)
    await stop(t)
  }
}

/** A peer serving SendGrid's document, as the bench's own child (so its CPU is counted), once it answers. */
async function startPeer (peer: 'prism' | 'mockoon'): Promise<Target> {
  const port = await freePort()
  const [command, ...args] = peerCommand(peer, join(here, '.peers', 'node_modules', '.bin'), SENDGRID_SPEC, port)
  const pinned = PIN ? ['taskset', '-c', '0', command!, ...args] : [command!, ...args]
  const child = spawn(pinned[0]!, pinned.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] })
  const url = `http://127.0.0.1:${port}`
  for (const until = Date.now() + 60_000; Date.now() < until;) {
    const answered = await request(`${url}/v3/mail/send`, { method: 'POST', headers: SG, body: mail }).then(async r => { await r.body.dump(); return true }, () => false)
    if (answered) return { urls: { bare: url }, child }
    if (child.exitCode !== null) break
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  child.kill('SIGKILL')
  throw new Error(`${peer} did not start serving ${SENDGRID_SPEC} on port ${port}`)
}

/** npm install of the peers' pinned versions into bench/.peers, once. */
function installPeers (): void {
  const dir = join(here, '.peers')
  if (existsSync(join(dir, 'node_modules', '.bin', 'prism')) && existsSync(join(dir, 'node_modules', '.bin', 'mockoon-cli'))) return
  console.log('  installing the peers (@stoplight/prism-cli, @mockoon/cli) into bench/.peers …')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), '{ "private": true }\n')
  execFileSync('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--loglevel=error', ...PEER_PACKAGES], { stdio: 'inherit' })
}

// --- each emulator's memory per record (issue 26, item 5) --------------------------------------
// The heap an emulator keeps per record after a full GC, each up to its retention bound (the
// README states the bound in MiB: bytes per record × records kept). Records are created through the
// emulator's own route, as an SDK would.
async function measureMemory (name: string, unit: string, count: number, prepare: (u: Record<string, string>) => Promise<Request>): Promise<void> {
  const mem = await startTarget('stack-latency-0', {}, { heap: true })
  const [url, headers, body] = await prepare(mem.urls)
  const [heapBefore, before] = [await heapAfterGc(mem), rssMiB(mem.child.pid)]
  const t0 = performance.now()
  const created = await autocannon({ url, connections: CONNECTIONS, amount: count, method: 'POST', headers, body })
  const seconds = (performance.now() - t0) / 1000
  // Webhooks, lifecycles and write-behind settle first.
  await new Promise(resolve => setTimeout(resolve, 3000))
  const [heapAfter, after] = [await heapAfterGc(mem), rssMiB(mem.child.pid)]
  // Per record: the heap the records keep after a full GC (the store's real cost). RSS is shown
  // beside it: it also holds memory freed but not returned and the high-water marks of buffers
  // the load itself filled, so it moves with the load's timing.
  const bytesPerItem = Math.round((heapAfter - heapBefore) / count)
  memory.push({ name: `${name}: ${count.toLocaleString('en')} ${unit}s created through the emulator`, unit, bytesPerItem, detail: `heap after GC ${Math.round(heapBefore / 2 ** 20)} → ${Math.round(heapAfter / 2 ** 20)} MiB; RSS ${before} → ${after} MiB (+${after - before} MiB); ${Math.round(count / seconds)} ${unit}s/s, ${created['2xx']} created, ${created.non2xx} not` })
  await stop(mem)
}
// Counts are each emulator's retention bound (or 100,000 for Zoom, whose bound is a setting).
if (wanted('Zoom memory')) await measureMemory('Zoom', 'meeting', 100_000, zoom)
if (wanted('Instamojo memory')) await measureMemory('Instamojo', 'payment request', 50_000, instamojo)
if (wanted('Bolna memory')) await measureMemory('Bolna', 'execution', 10_000, u => bolna(u, 'off', ''))

// --- start time and idle memory (issue 26, item 6) ------------------------------------------------
// A team starts a stack per test worker: from the process's start to the gateway's /ready 200, on a
// fresh data folder (the migrated template is loaded, not created) and on the same folder again, and
// the process's RSS once it idles. Measured on `node apps/stack/src/server.js`, what
// `./switchboard start` execs after its install checks.
/** The gateway's URL from the data folder's stack.json once this process (not an earlier run) wrote it. */
function gatewayOf (stackFile: string, pid: number | undefined): string | undefined {
  try {
    const file = JSON.parse(readFileSync(stackFile, 'utf8')) as StackFile
    return file.pid === pid ? file.urls.gateway : undefined
  } catch { return undefined } // not written yet, or being written
}
async function startAndTime (dataDir: string): Promise<{ ms: number, rss: number }> {
  const t0 = performance.now()
  const child = spawn(process.execPath, [join(here, '..', 'apps', 'stack', 'src', 'server.js')], {
    stdio: 'ignore',
    env: { ...process.env, SWITCHBOARD_DATA_DIR: dataDir, GATEWAY_PORT: '0', EMAIL_PORT: '0', WHATSAPP_PORT: '0', PAYMENTS_PORT: '0', VOICE_PORT: '0', ZOOM_PORT: '0', LOG_LEVEL: 'warn', DATABASE_URL: '' }
  })
  const exited = new Promise(resolve => child.once('exit', resolve))
  const stackFile = join(dataDir, 'stack.json')
  let ms = 0
  while (ms === 0) {
    if (child.exitCode !== null) throw new Error(`the stack exited with ${child.exitCode} before it was ready`)
    const gateway = gatewayOf(stackFile, child.pid)
    if (gateway !== undefined) {
      const ready = await request(`${gateway}/ready`).then(async r => { await r.body.dump(); return r.statusCode === 200 }, () => false)
      if (ready) ms = Math.round(performance.now() - t0)
    }
    if (ms === 0) await new Promise(resolve => setTimeout(resolve, 10))
  }
  // Idle: a few seconds after ready, once start-up garbage has been collected.
  await new Promise(resolve => setTimeout(resolve, 5000))
  const rss = rssMiB(child.pid)
  child.kill('SIGTERM')
  await exited
  return { ms, rss }
}
if (wanted('start')) {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-start-'))
  const fresh = await startAndTime(dataDir)
  walls.push({ name: 'start to /ready, fresh data folder', ms: fresh.ms, target: 1500, detail: `idle RSS ${fresh.rss} MiB (target ≤ 300)` })
  const again = await startAndTime(dataDir)
  walls.push({ name: 'start to /ready, existing data folder', ms: again.ms, target: 1000, detail: `idle RSS ${again.rss} MiB (target ≤ 300)` })
  rmSync(dataDir, { recursive: true, force: true })
}

// --- wall times at the spec's latencies ---------------------------------------------------------
if (wanted('bulk email') || wanted('WhatsApp campaign')) {
  const def = await startTarget('stack-default-latency')
  let t1 = 0
  if (wanted('bulk email')) {
    const list = Array.from({ length: 10_000 }, (_v, i) => ({ to_email: `user${i}@example.com`, subject: `Hello ${i}`, content: '<p>Same body for everyone</p>' }))
    t1 = performance.now()
    const bulk = await json(`${def.urls.gateway}/api/automation/trigger/email/batch`, 'POST', API, { email_list: list })
    walls.push({ name: '10,000-recipient bulk email (300-1300 ms latency)', ms: Math.round(performance.now() - t1), target: 1300 + 1000, detail: `${bulk.accepted} accepted, ${bulk.failed} failed, ${bulk.requests} SendGrid requests` })
    // Bodies of their own (a name, an invoice number): packed into SendGrid substitutions.
    const own = list.map((item, i) => ({ ...item, content: `<p>Dear customer ${i}, invoice INV-${1000 + i} is due.</p>` }))
    t1 = performance.now()
    const personal = await json(`${def.urls.gateway}/api/automation/trigger/email/batch`, 'POST', API, { email_list: own })
    walls.push({ name: '10,000-recipient bulk email, a body each (300-1300 ms latency)', ms: Math.round(performance.now() - t1), target: 1300 + 1000, detail: `${personal.accepted} accepted, ${personal.failed} failed, ${personal.requests} SendGrid requests` })
  }
  if (wanted('WhatsApp campaign')) {
    const contacts = Array.from({ length: 5000 }, (_v, i) => ({ to_number: `9${String(800000000 + i)}`, params: ['Bench'] }))
    t1 = performance.now()
    const campaign = await json(`${def.urls.gateway}/api/automation/whatsapp/campaigns`, 'POST', API, { name: 'Bench campaign', contacts, template_name: 'welcome_message' })
    let progress: any = campaign
    while (progress.status === 'running' && performance.now() - t1 < 120_000) {
      await new Promise(resolve => setTimeout(resolve, 100))
      progress = await json(`${def.urls.gateway}/api/automation/whatsapp/campaigns/${campaign.id}`, 'GET', API)
    }
    walls.push({ name: '5,000-contact WhatsApp campaign (400-1200 ms latency)', ms: Math.round(performance.now() - t1), target: null, detail: `${progress.status}: ${progress.sent} sent, ${progress.failed} failed` })
  }
  await stop(def)
}

// --- a campaign shared by instances of the WhatsApp service on one PostgreSQL --------------------
// Each instance is the service alone (apps/whatsapp/src/server.ts) at the default latency, mock
// mode (each sends to its own emulator), on one fresh PostgreSQL server per row (BENCH_POSTGRES_BIN
// or the newest /usr/lib/postgresql/*/bin). The campaign is created on the first instance; every
// instance's job runner claims its contacts.
for (const instances of [1, 2]) {
  const name = `5,000-contact WhatsApp campaign, ${instances} instance${instances > 1 ? 's' : ''} on one PostgreSQL (400-1200 ms latency)`
  if (!wanted(name)) continue
  const pg = await startPostgres(process.env.BENCH_POSTGRES_BIN ? { binDir: process.env.BENCH_POSTGRES_BIN } : {})
  const servers: ChildProcess[] = []
  const dataDirs: string[] = []
  try {
    const urls: string[] = []
    for (let i = 0; i < instances; i++) {
      const port = await freePort()
      const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-wa-'))
      dataDirs.push(dataDir)
      const child = spawn(process.execPath, [join(here, '../apps/whatsapp/src/server.ts')], { cwd: dataDir, stdio: ['ignore', 'ignore', 'inherit'], env: { PATH: process.env.PATH ?? '', DATABASE_URL: pg.url, SWITCHBOARD_DATA_DIR: dataDir, WHATSAPP_PORT: String(port), LOG_LEVEL: 'warn', ...BENCH_TOKENS } })
      servers.push(child)
      const url = `http://127.0.0.1:${port}`
      const until = Date.now() + 60_000
      while ((await request(`${url}/health`).then(async r => { await r.body.dump(); return r.statusCode }).catch(() => 0)) !== 200) {
        if (Date.now() > until) throw new Error(`WhatsApp instance ${i + 1} did not start`)
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      urls.push(url)
    }
    const contacts = Array.from({ length: 5000 }, (_v, i) => ({ to_number: `9${String(800000000 + i)}`, params: ['Bench'] }))
    const t1 = performance.now()
    const campaign = await json(`${urls[0]}/campaigns`, 'POST', AS_GATEWAY, { name: 'Bench campaign', contacts, template_name: 'welcome_message' })
    if (typeof campaign.id !== 'string') throw new Error(`the campaign was not created: ${JSON.stringify(campaign).slice(0, 300)}`)
    let progress: any = campaign
    while (['running', 'stopping'].includes(progress.status) && performance.now() - t1 < 180_000) {
      await new Promise(resolve => setTimeout(resolve, 100))
      progress = await json(`${urls[0]}/campaigns/${campaign.id}`, 'GET', AS_GATEWAY)
    }
    walls.push({ name, ms: Math.round(performance.now() - t1), target: null, detail: `${progress.status}: ${progress.contacts?.sent} sent, ${progress.contacts?.failed} failed, ${progress.contacts?.unknown} unknown` })
  } finally {
    for (const child of servers) child.kill('SIGTERM')
    await Promise.all(servers.map(child => child.exitCode !== null ? undefined : new Promise(resolve => child.once('exit', resolve))))
    await pg.stop()
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true })
  }
}

// --- what the embedded database costs per statement and per row (issue 26) ----------------------
// Every emulator request now writes its state (issue 20) and its exchange (issue 22), and a gateway
// path writes log rows, outbox rows and receipts: this is the floor those writes stand on. CPU of
// this process (the PGlite thread included) per operation, the lowest of five rounds of 200, on a
// data folder as the stack uses it. Rows go in batches of 10, as group commit sends them under load.
const floorsOfDatabase: Array<{ name: string, micros: number }> = []
async function measureDatabase (): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-db-'))
  const db = await createPgliteBackend({ dataDir: join(dataDir, 'pglite') })
  try {
    const text = (n: number) => 'Namaste Priya, your appointment is confirmed. '.repeat(Math.ceil(n / 46)).slice(0, n)
    const exchange = () => ({
      id: randomUUID(),
      channel: 'email',
      kind: 'provider',
      direct: false,
      method: 'POST',
      path: '/v3/mail/send',
      status_code: 202,
      latency_ms: 1,
      provider_id: randomUUID(),
      refs: [randomUUID(), randomUUID()],
      contacts: ['priya@example.in'],
      summary: 'Your appointment',
      request: {
        headers: { 'content-type': 'application/json', 'user-agent': 'sendgrid/8.1.0;nodejs' },
        body: { personalizations: [{ to: [{ email: 'priya@example.in' }] }], from: { email: 'team@example.in' }, subject: 'Your appointment', content: [{ type: 'text/html', value: text(900) }] }
      },
      response: { headers: { 'x-message-id': randomUUID() }, body: '' },
      content: { subject: 'Your appointment', html: text(900) }
    })
    const state = () => ({ kind: 'execution', id: randomUUID(), seq: Date.now() * 1000, due_at: null, deleted: false, writer: 'bench', doc: { status: 'completed', transcript: text(1800), telephony_data: { to_number: '+919855550100', duration: '42' } } })
    const email = () => ({ id: randomUUID(), request_id: randomUUID(), mode: 'mock', to_email: 'priya@example.in', subject: 'Your appointment', status: 'queued' })
    const batches = async (make: () => Promise<void>) => { for (let i = 0; i < 20; i++) await make() }
    await cpuOf('a statement (SELECT 1), the round trip to the database thread', 200, async () => { for (let i = 0; i < 200; i++) await db.query('SELECT 1') })
    await cpuOf('an email_logs row', 200, () => batches(() => db.insert('email_logs', Array.from({ length: 10 }, email))))
    await cpuOf('an activity_exchanges row (2.6 KB: a SendGrid send as captured)', 200, () => batches(() => db.insert('activity_exchanges', Array.from({ length: 10 }, exchange))))
    await cpuOf('an emulator state row (2.0 KB: a Bolna execution)', 200, () => batches(async () => { await db.rpc('emulator_state_put', { p_table: 'bolna_emulator_state', p_rows: Array.from({ length: 10 }, state) }) }))
  } finally {
    await db.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
  // The same round trip without a data folder: what PGlite's file work adds to every statement.
  const memory = await createPgliteBackend({ dataDir: 'memory://' })
  try {
    await cpuOf('a statement (SELECT 1) on an in-memory database (no files)', 200, async () => { for (let i = 0; i < 200; i++) await memory.query('SELECT 1') })
  } finally {
    await memory.close()
  }
}
/** CPU of this process (the PGlite thread included) per operation: the lowest of five rounds. */
async function cpuOf (label: string, ops: number, run: () => Promise<void>): Promise<void> {
  const rounds: number[] = []
  for (let r = 0; r < 5; r++) {
    const c0 = process.cpuUsage()
    await run()
    const c = process.cpuUsage(c0)
    rounds.push((c.user + c.system) / ops)
  }
  floorsOfDatabase.push({ name: label, micros: Math.round(Math.min(...rounds)) })
}
if (wanted('embedded database')) await measureDatabase()

// --- report ------------------------------------------------------------------------------------
const median = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b); const m = Math.floor(v.length / 2); return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2 }
const referenceOf = (round: number) => results.find(r => r.kind === 'reference' && r.round === round)?.reqPerSec ?? Number.NaN
const shapeOf = (round: number) => results.find(r => r.name === SHAPE_ROW && r.round === round)?.reqPerSec ?? Number.NaN
const references = results.filter(r => r.kind === 'reference')
const ref = Math.round(references.reduce((sum, r) => sum + r.reqPerSec, 0) / references.length)

/** What each row is held to (issue 26): against the round's reference, or its three bare hops. */
function targetOf (r: LoadResult): { against: 'bare' | 'hops', min: number } | undefined {
  if (r.kind === 'emulator') return { against: 'bare', min: 0.5 }
  if (r.kind === 'gateway') return { against: 'hops', min: r.name.includes('voice') ? 0.4 : 0.5 }
  return undefined
}

interface Summary { name: string, kind: LoadResult['kind'], rounds: number, reqPerSec: number, cpu: number, p99: number, non2xx: number, errors: number, rssMiB: number, ratio: number, spread: [number, number], against: 'bare' | 'hops', target?: number, met?: boolean }
const summaries: Summary[] = []
for (const name of [...new Set(results.map(r => r.name))]) {
  const rows = results.filter(r => r.name === name)
  const first = rows[0]!
  const target = targetOf(first)
  const against = target?.against ?? 'bare'
  const ratios = rows.map(r => r.reqPerSec / (against === 'hops' ? shapeOf(r.round) : ROUNDS > 1 && isTargetRow(r.kind, r.name) ? referenceOf(r.round) : ref))
  const ratio = median(ratios)
  const non2xx = rows.reduce((n, r) => n + r.non2xx, 0)
  const met = target === undefined ? undefined : ratio >= target.min && (!name.startsWith('Zoom') || non2xx === 0)
  summaries.push({ name, kind: first.kind, rounds: rows.length, reqPerSec: Math.round(median(rows.map(r => r.reqPerSec))), cpu: Math.round(median(rows.map(r => r.cpuMicrosPerRequest))), p99: median(rows.map(r => r.p99)), non2xx, errors: rows.reduce((n, r) => n + r.errors, 0), rssMiB: Math.max(...rows.map(r => r.rssMiB)), ratio, spread: [Math.min(...ratios), Math.max(...ratios)], against, ...(target ? { target: target.min, met } : {}) })
}

console.log(`\nreference: ${ref} req/s (mean of ${references.map(r => r.reqPerSec).join(', ')}); rows with targets: the median of ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}, each against its own round`)
console.log('\n| scenario | req/s | ratio (median, spread) | against | target | CPU µs/req | p99 ms | non-2xx | errors | RSS MiB |')
console.log('|---|--:|--:|---|---|--:|--:|--:|--:|--:|')
for (const r of summaries) {
  const spread = r.rounds > 1 ? ` (${r.spread[0].toFixed(2)}–${r.spread[1].toFixed(2)})` : ''
  const verdict = r.target === undefined ? '' : `≥ ${r.target}${r.name.startsWith('Zoom') && r.kind === 'emulator' ? ', 0 non-2xx' : ''}: ${r.met ? 'met' : 'MISSED'}`
  console.log(`| ${r.name} | ${r.reqPerSec} | ${r.ratio.toFixed(2)}${spread} | ${r.against === 'hops' ? 'three hops' : 'bare'} | ${verdict} | ${r.cpu} | ${r.p99} | ${r.non2xx} | ${r.errors} | ${r.rssMiB} |`)
}
const sendgridRow = summaries.find(r => r.kind === 'emulator' && r.name.startsWith('SendGrid'))
const peers = summaries.filter(r => r.kind === 'peer')
if (sendgridRow !== undefined && peers.length > 0) {
  const fastest = peers.reduce((a, b) => (b.reqPerSec > a.reqPerSec ? b : a))
  const times = sendgridRow.reqPerSec / fastest.reqPerSec
  console.log(`\nSendGrid emulator against the faster peer (${fastest.name}, ${fastest.reqPerSec} req/s): ${times.toFixed(1)}× (target ≥ 5×: ${times >= 5 ? 'met' : 'MISSED'})`)
}
console.log('')
for (const w of walls) console.log(`${w.name}: ${w.ms} ms${w.target ? ` (target ≤ ${w.target} ms: ${w.ms <= w.target ? 'met' : 'MISSED'})` : ''} — ${w.detail}`)
for (const m of memory) console.log(`${m.name}: ${m.bytesPerItem} bytes of heap per ${m.unit} — ${m.detail}`)
if (floorsOfDatabase.length > 0) console.log(`\nThe embedded database (PGlite), CPU per operation (lowest of 5 rounds):\n${floorsOfDatabase.map(f => `  ${f.micros} µs: ${f.name}`).join('\n')}`)

const out = join(here, 'results')
mkdirSync(out, { recursive: true })
writeFileSync(join(out, 'latest.json'), JSON.stringify({ at: new Date().toISOString(), node: process.version, connections: CONNECTIONS, durationS: DURATION, rounds: ROUNDS, pinned: PIN, referenceReqPerSec: ref, summaries, results, walls, memory }, null, 2) + '\n')
console.log('\nwritten: bench/results/latest.json')
