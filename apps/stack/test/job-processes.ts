/**
 * For the durable-job tests: services started as real child processes (so they can be killed with
 * SIGKILL), and a provider emulator in this process behind a proxy that counts what reached it.
 */
import type { Test } from 'tap'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { EventEmitter, once } from 'node:events'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { request } from 'undici'
import { eventually, freePort, send } from './helper.ts'

export interface Child {
  url: string
  pid: number
  /** Everything it printed, for failure messages. */
  output: () => string
  /** SIGKILL: no shutdown code runs. Resolves once it is gone. */
  kill: () => Promise<void>
  /** SIGTERM: the graceful path. Resolves with the exit code. */
  terminate: () => Promise<number | null>
}

/** Starts `node <server>` with env on a free port (portVariable), waits for /health. */
export async function startChild (t: Test, server: string, portVariable: string, env: Record<string, string>): Promise<Child> {
  const port = await freePort()
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [server], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env, [portVariable]: String(port) },
    cwd: env.SWITCHBOARD_DATA_DIR,
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', d => { output = (output + d).slice(-20_000) })
  child.stderr.on('data', d => { output = (output + d).slice(-20_000) })
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>
  const alive = () => child.exitCode === null && child.signalCode === null
  t.teardown(async () => { if (alive()) { child.kill('SIGKILL'); await exited } })
  const url = `http://127.0.0.1:${port}`
  const up = await eventually(async () => alive() && (await send({ method: 'GET', url: `${url}/health`, timeoutMs: 1000 }).catch(() => undefined))?.status === 200, 60_000, 50)
  if (!up) throw new Error(`${server} did not start: ${output.slice(-3000)}`)
  return {
    url,
    pid: child.pid!,
    output: () => output,
    kill: async () => { if (alive()) { child.kill('SIGKILL'); await exited } },
    terminate: async () => { if (alive()) child.kill('SIGTERM'); return (await exited)[0] }
  }
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
