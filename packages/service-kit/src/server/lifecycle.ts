import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { ConfigError } from './env.ts'

/** Loads .env when present; the environment itself wins over the file. */
export function loadDotEnv (path = '.env'): void {
  try {
    process.loadEnvFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}

/**
 * Process entry for one or more servers: build, listen, and close gracefully on SIGINT/SIGTERM
 * (in-flight requests finish, buffers flush) with a hard deadline.
 */
export async function runServers (build: () => Promise<Array<{ app: FastifyInstance, port: number, host: string }>>, onListening?: () => void): Promise<void> {
  let servers: Array<{ app: FastifyInstance, port: number, host: string }>
  try {
    servers = await build()
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message)
      process.exit(78) // EX_CONFIG
    }
    throw err
  }
  closeWithGrace({ delay: 15_000 }, async ({ err, signal }) => {
    const log = servers[0]?.app.log
    if (err) log?.error({ err }, 'closing after an unexpected error')
    else log?.info({ signal }, 'shutting down')
    // Close in reverse order: the public face stops taking requests first.
    for (const s of [...servers].reverse()) await s.app.close()
  })
  for (const s of servers) {
    try {
      await s.app.listen({ port: s.port, host: s.host })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
      console.error(`Port ${s.port} on ${s.host} is already in use, probably by another Switchboard or another program. ` +
        `Stop that process (\`lsof -i :${s.port}\` names it), or set this server's *_PORT variable to another port (0 picks any free port).`)
      for (const started of servers) await started.app.close()
      process.exit(1)
    }
  }
  onListening?.()
}
