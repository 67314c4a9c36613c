/**
 * A throwaway PostgreSQL server for tests: a fresh cluster in a temp folder, trust auth on
 * 127.0.0.1 only, durability off (fsync, full page writes) because the data dies with the test.
 *
 *   node scripts/postgres-server.ts     prints the URL, runs until Ctrl-C
 */
import { execFile, execFileSync } from 'node:child_process'
import { appendFileSync, chownSync, existsSync, globSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:<port>/postgres (superuser, no password) */
  url: string
  stop (): Promise<void>
}

export interface StartPostgresOptions {
  /** Folder holding initdb, pg_ctl and postgres. Default: the newest /usr/lib/postgresql/<version>/bin. */
  binDir?: string
}

export function findPostgresBinDir (): string | undefined {
  const version = (dir: string) => Number(/postgresql\/(\d+)/.exec(dir)?.[1] ?? 0)
  return globSync('/usr/lib/postgresql/*/bin')
    .filter(dir => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')))
    .sort((a, b) => version(b) - version(a))[0]
}

function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export async function startPostgres (opts: StartPostgresOptions = {}): Promise<PostgresServer> {
  const binDir = opts.binDir ?? findPostgresBinDir()
  if (binDir === undefined) {
    throw new Error('PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin: apt-get install postgresql')
  }
  // The server refuses to run as root: as root, everything runs as the postgres user on files it owns.
  const asRoot = process.getuid?.() === 0
  const command = (bin: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', join(binDir, bin), ...args]] : [join(binDir, bin), args]

  const dir = mkdtempSync(join(tmpdir(), 'switchboard-pg-'))
  const dataDir = join(dir, 'data')
  const logFile = join(dir, 'server.log')
  if (asRoot) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim())
    chownSync(dir, id('-u'), id('-g'))
  }
  const pgCtl = (...args: string[]) => {
    const [cmd, argv] = command('pg_ctl', ['-D', dataDir, ...args])
    return run(cmd, argv, { cwd: dir })
  }

  // A crashed test process must not leave a server running.
  const onExit = () => {
    try {
      const [cmd, argv] = command('pg_ctl', ['-D', dataDir, '-m', 'immediate', 'stop'])
      execFileSync(cmd, argv, { cwd: dir, stdio: 'ignore' })
    } catch {}
    rmSync(dir, { recursive: true, force: true })
  }
  process.once('exit', onExit)

  try {
    const [initdb, initArgs] = command('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'])
    await run(initdb, initArgs, { cwd: dir })
    appendFileSync(join(dataDir, 'postgresql.conf'), [
      '',
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'shared_buffers = 16MB',
      'max_connections = 200',
      ''
    ].join('\n'))

    // Another process may take the free port before the server binds it: then try another.
    let port = 0
    for (let attempt = 1; ; attempt++) {
      port = await freePort()
      appendFileSync(join(dataDir, 'postgresql.conf'), `port = ${port}\n`)
      try {
        await pgCtl('-l', logFile, '-w', '-t', '60', 'start')
        break
      } catch (err) {
        if (attempt === 3) throw err
      }
    }

    let stopped: Promise<void> | undefined
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      stop () {
        stopped ??= (async () => {
          process.removeListener('exit', onExit)
          try {
            await pgCtl('-m', 'fast', '-w', 'stop')
          } finally {
            rmSync(dir, { recursive: true, force: true })
          }
        })()
        return stopped
      }
    }
  } catch (err) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : ''
    process.removeListener('exit', onExit)
    onExit()
    throw new Error(`could not start PostgreSQL from ${binDir}: ${(err as Error).message}\n${log}`, { cause: err })
  }
}

if (import.meta.main) {
  const server = await startPostgres()
  console.log(server.url)
  const keepAlive = setInterval(() => {}, 1 << 30)
  const shutdown = () => {
    clearInterval(keepAlive)
    server.stop().then(() => process.exit(0), err => {
      console.error(err)
      process.exit(1)
    })
  }
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
}
