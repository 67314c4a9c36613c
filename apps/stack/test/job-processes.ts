/**
 * For the durable-job tests: services started as real child processes (so they can be killed with
 * SIGKILL), and a provider emulator in this process behind a proxy that counts what reached it.
 */
import type { Test } from 'tap'
import { EventEmitter, once } from 'node:events'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { request } from 'undici'
import { createPostgresBackend } from '@switchboard/activity-log'
import { internalHeaders, startProcess, type StartedProcess } from '@switchboard/service-kit/testing'
import { freePort, seeded, send, type Reply } from './helper.ts'

/** A service running as a child process, and its URL. */
export interface Child extends StartedProcess {
  url: string
}

/** Starts `node <server>` with env on a free port (portVariable), warnings logged, waits for /health. */
export async function startChild (t: Test, server: string, portVariable: string, env: Record<string, string>): Promise<Child> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child = await startProcess(t, { script: server, env: { LOG_LEVEL: 'warn', ...env, [portVariable]: String(port) }, healthUrl: `${url}/health` })
  return { ...child, url }
}

export const WHATSAPP_SERVER = resolve(import.meta.dirname, '../../whatsapp/src/server.ts')
export const EMAIL_SERVER = resolve(import.meta.dirname, '../../email/src/server.ts')
export const VOICE_SERVER = resolve(import.meta.dirname, '../../voice/src/server.ts')

export interface CountingProxy {
  origin: string
  /** How many requests reached the emulator, per key (a destination, a recipient). */
  counts: Map<string, number>
  /** Sends forwarded so far: requests that named at least one key (reads, such as GETs, are not counted). */
  readonly requests: number
  /** Resolves once `requests` reaches n. */
  reached: (n: number) => Promise<void>
}

/**
 * A proxy in front of an emulator that counts, per key, what reached it (keysOf reads them from a
 * request's JSON body) before passing the request on and the answer back unchanged. Requests
 * without a key (reads) pass uncounted.
 */
export async function countingProxy (t: Test, target: string, keysOf: (body: any) => string[]): Promise<CountingProxy> {
  const counts = new Map<string, number>()
  const events = new EventEmitter()
  let requests = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', c => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      let keyed = false
      try {
        for (const key of keysOf(JSON.parse(body.toString('utf8')))) {
          counts.set(key, (counts.get(key) ?? 0) + 1)
          keyed = true
        }
      } catch { /* not JSON: the emulator answers it */ }
      if (keyed) {
        requests++
        events.emit('request', requests)
      }
      const headers: IncomingHttpHeaders = { ...req.headers }
      delete headers.host
      delete headers.connection
      delete headers['content-length']
      request(target + req.url, { method: req.method as 'POST', headers: headers as Record<string, string>, body }).then(async answer => {
        const text = Buffer.from(await answer.body.arrayBuffer())
        res.writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type'] ?? 'application/json') })
        res.end(text)
      }, () => { res.destroy() })
    })
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    get requests () { return requests },
    reached: (n) => new Promise(resolve => {
      if (requests >= n) return resolve()
      const on = (count: number) => { if (count >= n) { events.off('request', on); resolve() } }
      events.on('request', on)
    })
  }
}

/** The states a job (campaign, bulk send) ends in. */
export const FINAL = ['completed', 'completed_with_errors', 'stopped', 'failed']

/** A job's contacts by state, as its progress reports them. */
export interface Contacts { pending: number, in_flight: number, sent: number, failed: number, unknown: number, stopped: number }

/** The i-th test number of a series: +91<prefix><i, padded>. */
export const phoneNumber = (prefix: string, i: number) => `+91${prefix}${String(i).padStart(8 - prefix.length + 2, '0')}`

/** A JSON request to a service as the gateway would make it: with the internal credential. */
export const callService = (base: string, method: string, path: string, body?: unknown): Promise<Reply> => send({
  method,
  url: base + path,
  headers: { ...internalHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  body: body === undefined ? undefined : JSON.stringify(body),
  timeoutMs: 30_000
})

/** The random kill points of a crash test, from a seed it prints: JOBS_SEED replays them. */
export function killPoints (t: Test): () => number {
  const seed = Number(process.env.JOBS_SEED ?? Date.now() % 100_000)
  t.comment(`seed ${seed} (JOBS_SEED=${seed} replays the kill points)`)
  return seeded(seed)
}

/**
 * SIGKILLs the service `rounds` times, each somewhere in the next stretch of requests reaching
 * the emulator (so the kill lands with sends in flight), starting it again after each kill.
 * Returns the process running at the end and the pids of the killed ones.
 */
export async function killAtRandomMoments (t: Test, opts: {
  child: Child
  restart: () => Promise<Child>
  emulator: CountingProxy
  /** Requests the jobs make in all: each kill comes within the next total / (rounds + 2). */
  total: number
  rounds: number
  random: () => number
  /** What the emulator counts, for the comments: 'sends', 'calls'. */
  what: string
}): Promise<{ child: Child, killed: Set<number> }> {
  const { emulator, total, rounds } = opts
  let child = opts.child
  const killed = new Set<number>()
  for (let round = 1; round <= rounds; round++) {
    const at = emulator.requests + 1 + Math.floor(opts.random() * (total / (rounds + 2)))
    await emulator.reached(at)
    await child.kill()
    killed.add(child.pid)
    t.comment(`round ${round}: killed after ${emulator.requests} ${opts.what} reached the emulator`)
    child = await opts.restart()
  }
  return { child, killed }
}

/** No key (contact) reached the emulator twice. */
export function assertNoneTwice (t: Test, emulator: CountingProxy): void {
  t.same([...emulator.counts].filter(([, n]) => n > 1), [], 'no contact reached the emulator twice')
}

interface EndedJob { status: string, contacts: Contacts }

/**
 * What a crash test proves of the jobs it killed the service under, "every contact accounted for,
 * none sent twice": each job ended (completed, with errors or not) with every contact sent or
 * unknown and nothing left over or refused (`each` adds a job's own checks); no contact reached
 * the emulator twice, it got every sent one and at most the unknown ones besides; under half are
 * unknown; and, on PostgreSQL, every unknown contact was claimed by one of the killed processes.
 */
export async function assertAccountedFor<J extends EndedJob> (t: Test, opts: {
  jobs: ReadonlyArray<readonly [name: string, job: J, size: number]>
  each?: (name: string, job: J) => void
  emulator: CountingProxy
  /** What the emulator counts, for the messages: 'contacts', 'calls'. */
  what: string
  killed: Set<number>
  jobIds: string[]
  databaseUrl: string | undefined
}): Promise<void> {
  const sum = (c: Contacts) => c.sent + c.failed + c.unknown + c.stopped
  for (const [name, job, size] of opts.jobs) {
    t.ok(['completed', 'completed_with_errors'].includes(job.status), `the ${name} ended ${job.status}`)
    t.equal(sum(job.contacts), size, `${name}: sent ${job.contacts.sent} + failed ${job.contacts.failed} + unknown ${job.contacts.unknown} + stopped ${job.contacts.stopped} = ${size} contacts`)
    t.match(job.contacts, { pending: 0, in_flight: 0, failed: 0, stopped: 0 }, `${name}: nothing left over, nothing refused`)
    opts.each?.(name, job)
  }
  assertNoneTwice(t, opts.emulator)
  const total = opts.jobs.reduce((n, [, , size]) => n + size, 0)
  const sent = opts.jobs.reduce((n, [, job]) => n + job.contacts.sent, 0)
  const unknown = opts.jobs.reduce((n, [, job]) => n + job.contacts.unknown, 0)
  const got = opts.emulator.counts.size
  t.ok(got >= sent && got <= sent + unknown, `the emulator got ${got} ${opts.what}: every sent one (${sent}), and some of the ${unknown} unknown ones (in flight at a kill)`)
  t.ok(unknown < total / 2, `${unknown} unknown`)
  if (opts.databaseUrl) {
    // Unknown means claimed by a worker that was killed before its answer was recorded: each
    // unknown contact's worker (host:pid:…) is one of the killed processes.
    const db = await createPostgresBackend({ databaseUrl: opts.databaseUrl })
    t.teardown(() => db.close())
    const rows = await db.select('job_items', { where: { job_id: { in: opts.jobIds }, state: 'unknown' } })
    const pids = new Set(rows.map(r => Number(String(r.claimed_by).split(':')[1])))
    t.equal(rows.length, unknown)
    t.ok([...pids].every(pid => opts.killed.has(pid)), `every unknown contact was claimed by a killed process (${[...pids].join(', ')} of ${[...opts.killed].join(', ')})`)
  }
}
