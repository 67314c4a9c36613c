/**
 * The servers under test, each started in its own child process (`node targets.ts <name>`) so
 * the load generator does not share an event loop with them. Prints one JSON line
 * {"ready": true, "url": ...} once listening.
 */
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { buildStack, listenStack } from '@switchboard/stack/stack'

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    }).on('error', reject)
  })
}

async function stackEnv (overrides: Record<string, string>): Promise<Record<string, string>> {
  const [gateway, email] = [await freePort(), await freePort()]
  return {
    ...process.env as Record<string, string>,
    SWITCHBOARD_DATA_DIR: mkdtempSync(join(tmpdir(), 'switchboard-bench-')),
    LOG_LEVEL: 'warn',
    API_TOKEN: 'bench-api-token-0123456789',
    ADMIN_TOKEN: 'bench-admin-token-0123456789',
    GATEWAY_PORT: String(gateway),
    EMAIL_PORT: String(email),
    EMAIL_SERVICE_URL: `http://127.0.0.1:${email}`,
    ...overrides
  }
}

const targets: Record<string, () => Promise<string>> = {
  /** The reference: Fastify with one route, no validation, no logging. */
  async 'bare-fastify' () {
    const app = Fastify({ logger: false })
    app.post('/v3/mail/send', async (_request, reply) => reply.code(202).header('x-message-id', 'bench').send())
    return app.listen({ port: 0, host: '127.0.0.1' })
  },
  /** The whole stack with zero simulated latency: for the emulator route and the gateway path. */
  async 'stack-latency-0' () {
    const stack = await buildStack(await stackEnv({ EMAIL_LATENCY_MS: '0-0', EMAIL_SUCCESS_RATE: '1' }), false)
    const urls = await listenStack(stack)
    return JSON.stringify(urls)
  },
  /** The whole stack at the spec's default latency (300-1300 ms), for bulk wall time. */
  async 'stack-default-latency' () {
    const stack = await buildStack(await stackEnv({ EMAIL_LATENCY_MS: '300-1300', EMAIL_SUCCESS_RATE: '0.9' }), false)
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
process.stdout.write(JSON.stringify({ ready: true, url }) + '\n')
// Exit on a signal without the graceful drain: the bench is done with this target (and a
// --cpu-prof profile is written on a normal exit).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0))
