/**
 * `./switchboard bench`: one run, side by side — a bare Fastify route as the reference, the
 * SendGrid emulator's route, the full gateway → service → emulator → log path at zero latency,
 * and the wall time of a 10,000-recipient bulk send at the spec's default latency. Prints a
 * table and writes bench/results/latest.json. Never part of the tests.
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

interface Target { url: string, child: ChildProcess }

async function startTarget (name: string): Promise<Target> {
  const child = spawn(process.execPath, [join(here, 'targets.ts'), name], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })
  for await (const line of lines) {
    const msg = JSON.parse(line) as { ready: boolean, url: string }
    if (msg.ready) return { url: msg.url, child }
  }
  throw new Error(`target ${name} exited before it was ready`)
}

function rssMiB (pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024)
}

async function stop (t: Target): Promise<void> {
  t.child.kill('SIGTERM')
  await new Promise(resolve => t.child.once('exit', resolve))
}

interface LoadResult { name: string, reqPerSec: number, p50: number, p99: number, non2xx: number, errors: number, rssMiB: number }

async function load (name: string, t: Target, url: string, opts: { method?: 'POST', headers?: Record<string, string>, body?: string }): Promise<LoadResult> {
  const base = { url, connections: CONNECTIONS, method: opts.method ?? 'POST', headers: opts.headers, body: opts.body }
  await autocannon({ ...base, duration: 2 }) // warm-up, not recorded
  const r = await autocannon({ ...base, duration: DURATION })
  return { name, reqPerSec: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, rssMiB: rssMiB(t.child.pid) }
}

const mail = JSON.stringify({ personalizations: [{ to: [{ email: 'bench@example.com' }] }], from: { email: 'sender@example.com' }, subject: 'Bench', content: [{ type: 'text/plain', value: 'Hello' }] })
const apiEmail = JSON.stringify({ to_email: 'bench@example.com', subject: 'Bench', content: '<p>Hello</p>' })

const results: LoadResult[] = []
const walls: Array<{ name: string, ms: number, detail: string }> = []

console.log(`load: autocannon -c ${CONNECTIONS} -d ${DURATION} (after a 2 s warm-up), servers in a child process\n`)

const bare = await startTarget('bare-fastify')
results.push(await load('bare Fastify route (reference)', bare, `${bare.url}/v3/mail/send`, { headers: { 'content-type': 'application/json' }, body: mail }))
await stop(bare)

const zero = await startTarget('stack-latency-0')
const urls0 = JSON.parse(zero.url) as Record<string, string>
results.push(await load('SendGrid emulator POST /v3/mail/send', zero, `${urls0.email}/sendgrid/v3/mail/send`, { headers: { authorization: 'Bearer SG.bench.key', 'content-type': 'application/json' }, body: mail }))
results.push(await load('gateway → email → emulator → log (latency 0)', zero, `${urls0.gateway}/api/automation/trigger/email`, { headers: API, body: apiEmail }))
await stop(zero)

const def = await startTarget('stack-default-latency')
const urlsD = JSON.parse(def.url) as Record<string, string>
const list = Array.from({ length: 10_000 }, (_v, i) => ({ to_email: `user${i}@example.com`, subject: `Hello ${i}`, content: '<p>Same body for everyone</p>' }))
const t0 = performance.now()
const res = await request(`${urlsD.gateway}/api/automation/trigger/email/batch`, { method: 'POST', headers: API, body: JSON.stringify({ email_list: list }) })
const bulk = await res.body.json() as { accepted: number, failed: number, requests: number }
walls.push({ name: '10,000-recipient bulk email at 300-1300 ms latency', ms: Math.round(performance.now() - t0), detail: `HTTP ${res.statusCode}, ${bulk.accepted} accepted, ${bulk.failed} failed, ${bulk.requests} SendGrid requests` })
await stop(def)

const ref = results[0]!.reqPerSec
console.log('| scenario | req/s | × bare | p50 ms | p99 ms | non-2xx | errors | RSS MiB |')
console.log('|---|--:|--:|--:|--:|--:|--:|--:|')
for (const r of results) console.log(`| ${r.name} | ${r.reqPerSec} | ${(r.reqPerSec / ref).toFixed(2)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} | ${r.rssMiB} |`)
console.log('')
for (const w of walls) console.log(`${w.name}: ${w.ms} ms (${w.detail})`)

const out = join(here, 'results')
mkdirSync(out, { recursive: true })
writeFileSync(join(out, 'latest.json'), JSON.stringify({ at: new Date().toISOString(), node: process.version, connections: CONNECTIONS, durationS: DURATION, results, walls }, null, 2) + '\n')
console.log(`\nwritten: bench/results/latest.json`)
