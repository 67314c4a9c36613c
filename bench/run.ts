/**
 * `./switchboard bench`: one run, side by side — a bare Fastify route as the reference, each
 * provider emulator's main route, each full gateway → service → emulator → log path at zero
 * latency, the wall times of a 10,000-recipient bulk email and a 5,000-contact WhatsApp campaign
 * at the spec's latencies, and Zoom's memory per 100,000 meetings. Prints req/s, p50/p99 and RSS
 * and writes bench/results/latest.json. Never part of the tests.
 *
 * Targets (issue 9): an emulator route at least half of bare Fastify's req/s, a full gateway path
 * at least a sixth, a 10,000 bulk within the longest simulated latency plus one second.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import autocannon from 'autocannon'
import { request } from 'undici'

const here = dirname(fileURLToPath(import.meta.url))
const DURATION = Number(process.env.BENCH_DURATION_S ?? 10)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const API = { authorization: 'Bearer bench-api-token-0123456789', 'content-type': 'application/json' }
const ADMIN = { authorization: 'Bearer bench-admin-token-0123456789', 'content-type': 'application/json' }
const JSON_TYPE = { 'content-type': 'application/json' }

interface Target { urls: Record<string, string>, child: ChildProcess }

async function startTarget (name: string): Promise<Target> {
  // BENCH_PROFILE=1 writes a V8 CPU profile of each server process to bench/results/profiles.
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${join(here, 'results', 'profiles')}`] : []
  const child = spawn(process.execPath, [...profile, join(here, 'targets.ts'), name], { stdio: ['ignore', 'pipe', 'inherit'] })
  for await (const line of createInterface({ input: child.stdout! })) {
    const msg = JSON.parse(line) as { ready: boolean, url: string }
    if (msg.ready) return { urls: msg.url.startsWith('{') ? JSON.parse(msg.url) : { bare: msg.url }, child }
  }
  throw new Error(`target ${name} exited before it was ready`)
}

const rssMiB = (pid: number | undefined) => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024)

async function stop (t: Target): Promise<void> {
  t.child.kill('SIGTERM')
  await new Promise(resolve => t.child.once('exit', resolve))
}

async function json (url: string, method: string, headers: Record<string, string>, body?: unknown): Promise<any> {
  const res = await request(url, { method: method as 'POST', headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) })
  return res.body.json()
}

interface LoadResult { name: string, kind: 'reference' | 'emulator' | 'gateway', reqPerSec: number, p50: number, p99: number, non2xx: number, errors: number, rssMiB: number }
const results: LoadResult[] = []
const walls: Array<{ name: string, ms: number, target: number | null, detail: string }> = []
const memory: Array<{ name: string, detail: string, bytesPerItem: number }> = []

async function load (name: string, kind: LoadResult['kind'], t: Target, url: string, headers: Record<string, string>, body: string): Promise<void> {
  const base = { url, connections: CONNECTIONS, method: 'POST' as const, headers, body }
  await autocannon({ ...base, duration: 2 }) // warm-up, not recorded
  const r = await autocannon({ ...base, duration: DURATION })
  const row = { name, kind, reqPerSec: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, rssMiB: rssMiB(t.child.pid) }
  results.push(row)
  console.log(`  ${name}: ${row.reqPerSec} req/s, p99 ${row.p99} ms${row.non2xx || row.errors ? `, ${row.non2xx} non-2xx, ${row.errors} errors` : ''}`)
}

console.log(`load: autocannon -c ${CONNECTIONS} -d ${DURATION} after a 2 s warm-up; servers in a child process\n`)

// --- the reference ----------------------------------------------------------------------------
const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY, 'i') : undefined
const wanted = (name: string) => only === undefined || only.test(name)

const mail = JSON.stringify({ personalizations: [{ to: [{ email: 'bench@example.com' }] }], from: { email: 'sender@example.com' }, subject: 'Bench', content: [{ type: 'text/plain', value: 'Hello' }] })
const bare = await startTarget('bare-fastify')
await load('bare Fastify route (reference)', 'reference', bare, `${bare.urls.bare}/v3/mail/send`, JSON_TYPE, mail)
await stop(bare)

// --- zero latency: emulator routes, then the full gateway paths --------------------------------
// Each scenario gets a fresh stack: an emulated message keeps producing status webhooks and log
// writes after the load stops, and that backlog must not be charged to the next scenario.
const zoomTokenFor = async (zoomUrl: string) => (await json(`${zoomUrl}/zoom/oauth/token?grant_type=account_credentials&account_id=bench`, 'POST', { authorization: `Basic ${Buffer.from('bench-client:bench-secret').toString('base64')}` })).access_token as string
const aisensyKey = 'eyJhbGciOiJIUzI1NiJ9.eyJpZCI6ImJlbmNoIn0.c2lnbmF0dXJl'
const BOLNA = { authorization: 'Bearer bn-bench-key', ...JSON_TYPE }

type Scenario = [name: string, kind: LoadResult['kind'], prepare: (u: Record<string, string>) => Promise<[url: string, headers: Record<string, string>, body: string]>]
const scenarios: Scenario[] = [
  ['SendGrid emulator  POST /v3/mail/send', 'emulator', async u => [`${u.email}/sendgrid/v3/mail/send`, { authorization: 'Bearer SG.bench.key', ...JSON_TYPE }, mail]],
  ['AiSensy emulator   POST /campaign/t1/api/v2', 'emulator', async u => [`${u.whatsapp}/aisensy/campaign/t1/api/v2`, JSON_TYPE,
    JSON.stringify({ apiKey: aisensyKey, campaignName: 'welcome_message', destination: '+919876543210', userName: 'Bench', templateParams: ['Bench'] })]],
  ['Instamojo emulator POST /api/1.1/payment-requests/', 'emulator', async u => [`${u.payments}/instamojo/api/1.1/payment-requests/`,
    { 'x-api-key': 'bench-key', 'x-auth-token': 'bench-token', 'content-type': 'application/x-www-form-urlencoded' }, 'amount=499.00&purpose=Bench']],
  ['Bolna emulator     POST /call', 'emulator', async u => {
    const agentId = ((await json(`${u.voice}/bolna/v2/agent/all`, 'GET', BOLNA)) as Array<{ id: string }>)[0]!.id
    return [`${u.voice}/bolna/call`, BOLNA, JSON.stringify({ agent_id: agentId, recipient_phone_number: '+919855550100' })]
  }],
  ['Zoom emulator      POST /v2/users/me/meetings', 'emulator', async u => [`${u.zoom}/zoom/v2/users/me/meetings`, { authorization: `Bearer ${await zoomTokenFor(u.zoom!)}`, ...JSON_TYPE }, JSON.stringify({ topic: 'Bench', duration: 30 })]],
  ['gateway → email    (latency 0)', 'gateway', async u => [`${u.gateway}/api/automation/trigger/email`, API, JSON.stringify({ to_email: 'bench@example.com', subject: 'Bench', content: '<p>Hello</p>' })]],
  ['gateway → whatsapp (latency 0)', 'gateway', async u => [`${u.gateway}/api/automation/trigger/whatsapp`, API, JSON.stringify({ to_number: '+919000000004', template_name: 'welcome_message', params: ['Bench'] })]],
  ['gateway → payments (latency 0)', 'gateway', async u => [`${u.gateway}/api/admin/payment-links`, ADMIN, JSON.stringify({ amount: '499.00', purpose: 'Bench' })]],
  ['gateway → voice    (latency 0)', 'gateway', async u => [`${u.gateway}/api/automation/trigger/call`, API, JSON.stringify({ to_number: '+919855550100', script_id: 'appointment_reminder' })]],
  ['gateway → zoom     (latency 0)', 'gateway', async u => [`${u.gateway}/api/zoom/meetings`, API, JSON.stringify({ topic: 'Bench', duration: 30 })]]
]
for (const [name, kind, prepare] of scenarios) {
  if (!wanted(name)) continue
  const target = await startTarget('stack-latency-0')
  const [url, headers, body] = await prepare(target.urls)
  await load(name, kind, target, url, headers, body)
  await stop(target)
}

// --- Zoom's memory per 100,000 meetings (in memory, as the spec has it) ------------------------
if (wanted('Zoom memory')) {
  const mem = await startTarget('stack-latency-0')
  const memToken = (await json(`${mem.urls.zoom}/zoom/oauth/token?grant_type=account_credentials&account_id=bench`, 'POST', { authorization: `Basic ${Buffer.from('bench-client:bench-secret').toString('base64')}` })).access_token as string
  const before = rssMiB(mem.child.pid)
  const t0 = performance.now()
  const created = await autocannon({ url: `${mem.urls.zoom}/zoom/v2/users/me/meetings`, connections: CONNECTIONS, amount: 100_000, method: 'POST', headers: { authorization: `Bearer ${memToken}`, ...JSON_TYPE }, body: JSON.stringify({ topic: 'Bench meeting', duration: 30 }) })
  const seconds = (performance.now() - t0) / 1000
  await new Promise(resolve => setTimeout(resolve, 1000))
  const after = rssMiB(mem.child.pid)
  memory.push({ name: 'Zoom: 100,000 meetings created through the emulator', bytesPerItem: Math.round((after - before) * 1024 * 1024 / 100_000), detail: `RSS ${before} → ${after} MiB (+${after - before} MiB), ${Math.round(100_000 / seconds)} meetings/s, ${created['2xx']} created` })
  await stop(mem)
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

// --- report ------------------------------------------------------------------------------------
const ref = results[0]!.reqPerSec
console.log('\n| scenario | req/s | × bare | target | p50 ms | p99 ms | non-2xx | errors | RSS MiB |')
console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|')
for (const r of results) {
  const target = r.kind === 'emulator' ? 0.5 : r.kind === 'gateway' ? 1 / 6 : 1
  const verdict = r.kind === 'reference' ? '' : `${(target).toFixed(2)} ${r.reqPerSec / ref >= target ? 'met' : 'MISSED'}`
  console.log(`| ${r.name} | ${r.reqPerSec} | ${(r.reqPerSec / ref).toFixed(2)} | ${verdict} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} | ${r.rssMiB} |`)
}
console.log('')
for (const w of walls) console.log(`${w.name}: ${w.ms} ms${w.target ? ` (target ≤ ${w.target} ms: ${w.ms <= w.target ? 'met' : 'MISSED'})` : ''} — ${w.detail}`)
for (const m of memory) console.log(`${m.name}: ${m.bytesPerItem} bytes per meeting — ${m.detail}`)

const out = join(here, 'results')
mkdirSync(out, { recursive: true })
writeFileSync(join(out, 'latest.json'), JSON.stringify({ at: new Date().toISOString(), node: process.version, connections: CONNECTIONS, durationS: DURATION, results, walls, memory }, null, 2) + '\n')
console.log('\nwritten: bench/results/latest.json')
