/**
 * The servers under test, each started in its own child process (`node targets.ts <name>`) so
 * the load generator does not share an event loop with them. Prints one JSON line
 * {"ready": true, "url": ...} once listening.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { Agent } from 'undici'
import { bufferedRequest } from '@switchboard/service-kit/buffered-request'
import { buildStack, listenStack } from '@switchboard/stack/stack'

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    }).on('error', reject)
  })
}

const SERVICES = ['GATEWAY', 'EMAIL', 'WHATSAPP', 'PAYMENTS', 'VOICE', 'ZOOM'] as const

/** The data folders this target made: removed when it exits (a full bench run made 30 of 300-900 MB). */
const dataDirs: string[] = []

async function stackEnv (overrides: Record<string, string>): Promise<Record<string, string>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'))
  dataDirs.push(dataDir)
  const env: Record<string, string> = {
    ...process.env as Record<string, string>,
    SWITCHBOARD_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    API_TOKEN: 'bench-api-token-0123456789',
    ADMIN_TOKEN: 'bench-admin-token-0123456789',
    // Known to the bench, so its rows that call a service directly can show the gateway's credential.
    INTERNAL_TOKEN: 'bench-internal-token-0123456789',
    // The benchmark measures throughput; the public rate limit would measure itself.
    RATE_LIMIT_MAX: '0',
    ...overrides
  }
  for (const name of SERVICES) {
    const port = await freePort()
    env[`${name}_PORT`] = String(port)
    if (name !== 'GATEWAY') env[`${name}_SERVICE_URL`] = `http://127.0.0.1:${port}`
  }
  return env
}

/** Every service at zero latency and certain success: the cost of the code path itself. */
const INSTANT = Object.fromEntries(['EMAIL', 'WHATSAPP', 'PAYMENTS', 'VOICE', 'ZOOM'].flatMap(s => [[`${s}_LATENCY_MS`, '0-0'], [`${s}_SUCCESS_RATE`, '1']]))

const targets: Record<string, () => Promise<string>> = {
  /** The reference: Fastify with one route, no validation, no logging. */
  async 'bare-fastify' () {
    const app = Fastify({ logger: false })
    app.post('/v3/mail/send', async (_request, reply) => reply.code(202).header('x-message-id', 'bench').send())
    return app.listen({ port: 0, host: '127.0.0.1' })
  },
  /**
   * The reference answering what the Zoom emulator answers for a new meeting (about 3.5 KB of JSON
   * instead of an empty 202): a bigger answer costs the server and the load generator, which share
   * the two cores, more per request.
   */
  async 'bare-fastify-3.5kb' () {
    const app = Fastify({ logger: false })
    const body = JSON.stringify({ padding: 'x'.repeat(3500) })
    app.post('/v3/mail/send', async (_request, reply) => reply.code(201).type('application/json').send(body))
    return app.listen({ port: 0, host: '127.0.0.1' })
  },
  /**
   * A gateway path's shape with nothing else in it: three bare Fastify servers in one process, the
   * first two forwarding each request to the next with the client every hop of ours uses
   * (bufferedRequest on a keep-alive undici Agent), the last answering 202. No token, validation,
   * log, database or webhook: what a path of three HTTP servers can do on this machine at best.
   */
  async 'three-bare-hops' () {
    const agent = new Agent({ connections: 128, keepAliveTimeout: 10_000 })
    let next: URL | undefined
    let url = ''
    for (let i = 0; i < 3; i++) {
      const app = Fastify({ logger: false })
      const target = next
      app.post('/v3/mail/send', async (request, reply) => {
        if (target === undefined) return reply.code(202).header('x-message-id', 'bench').send()
        const answer = await bufferedRequest(agent, { origin: target.origin, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request.body) })
        return reply.code(answer.statusCode).send(answer.body)
      })
      url = await app.listen({ port: 0, host: '127.0.0.1' })
      next = new URL('/v3/mail/send', url)
    }
    return url
  },
  /**
   * Stands in for the application a provider's webhooks go to (the user's app, not ours): reads
   * each post and answers 200 empty, as cheaply as node:http allows.
   */
  async 'webhook-sink' () {
    const server = createHttpServer((request, response) => {
      request.resume()
      request.on('end', () => response.end())
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`
  },
  /** The whole stack with zero simulated latency: for the emulator route and the gateway path. */
  async 'stack-latency-0' () {
    const stack = await buildStack(await stackEnv(INSTANT), false)
    const urls = await listenStack(stack)
    return JSON.stringify(urls)
  },
  /** The whole stack at the spec's default latencies and success rates, for bulk and campaign wall times. */
  async 'stack-default-latency' () {
    const stack = await buildStack(await stackEnv({}), false)
    const urls = await listenStack(stack)
    return JSON.stringify(urls)
  }
}

const name = process.argv[2] ?? ''
const start = targets[name]
if (!start) {
  console.error(`unknown target "${name}"; one of: ${Object.keys(targets).join(', ')}`)
  process.exit(2)
}
const url = await start()
// Started with --expose-gc and an IPC channel (the memory scenario): on "heap", collect garbage
// fully and answer with the heap still in use, which is what the stored data keeps; RSS also holds
// freed memory the allocator has not returned and high-water marks of buffers.
const gc = (globalThis as { gc?: () => void }).gc
if (gc !== undefined && process.send !== undefined) {
  process.on('message', message => {
    if (message !== 'heap') return
    gc(); gc()
    process.send!({ heapUsed: process.memoryUsage().heapUsed })
  })
  process.channel?.unref()
}
process.stdout.write(JSON.stringify({ ready: true, url }) + '\n')
// Exit on a signal without the graceful drain: the bench is done with this target (and a
// --cpu-prof profile is written on a normal exit).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0))
process.once('exit', () => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true })
})
