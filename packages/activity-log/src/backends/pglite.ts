import { chmodSync, mkdirSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import { Worker } from 'node:worker_threads'
import { defaultTemplateDir, ownerOnly } from './pglite-template.ts'
import { createSqlBackend, type SqlBackend, type SqlDriver } from './sql.ts'
import type { SerializedError, WorkerReply, WorkerRequest } from './pglite-worker.ts'

export interface PgliteConfig {
  /** A folder, or 'memory://' for a throwaway in-memory database. */
  dataDir: string
  migrationsDir?: string
  /**
   * Where empty, migrated databases are kept to start fresh folders from (pglite-template.ts);
   * null turns that off. Default: the user's cache folder, or SWITCHBOARD_PGLITE_TEMPLATE_DIR.
   */
  templateDir?: string | null
  /**
   * How often the database thread, while in use, checks whether a checkpoint is due and which tables
   * need vacuuming (pglite-maintenance.ts); 0 turns that upkeep off. Default 10 s (or
   * SWITCHBOARD_PGLITE_UPKEEP_MS): at full speed the stack writes about 15 MB of log a second, and
   * the check is two catalog reads.
   */
  maintenanceEveryMs?: number
}

/** SWITCHBOARD_PGLITE_UPKEEP_MS when it is a whole number of milliseconds, else 10 s. */
function defaultUpkeepMs (): number {
  const configured = Number(process.env.SWITCHBOARD_PGLITE_UPKEEP_MS)
  return Number.isInteger(configured) && configured >= 0 && process.env.SWITCHBOARD_PGLITE_UPKEEP_MS !== '' ? configured : 10_000
}

/**
 * Embedded PostgreSQL (WASM) on a worker thread of this process, so its query work runs beside
 * the servers' event loop instead of on it. One process per data folder.
 */
export async function createPgliteBackend ({ dataDir, migrationsDir, templateDir = defaultTemplateDir(), maintenanceEveryMs = defaultUpkeepMs() }: PgliteConfig): Promise<SqlBackend> {
  if (!dataDir.startsWith('memory://')) {
    // The database's files are the activity log's: owner only, whatever the umask.
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    chmodSync(dataDir, 0o700)
  }
  const driver = await startWorker({ dataDir, migrationsDir, templateDir: templateDir ?? undefined, maintenanceEveryMs })
  // Whatever made the database (a template's copy, PGlite's own initdb or unpacking), its files
  // are the owner's only: PGlite leaves them 0666.
  // Best effort: the folder itself is 0700 already, so a walk cut short never refuses a start.
  if (!dataDir.startsWith('memory://')) try { ownerOnly(dataDir) } catch { /* see above */ }
  return createSqlBackend('pglite', driver)
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** A database error from the worker, with PostgreSQL's code (the writer tells permanent errors by it). */
function revive (e: SerializedError): Error {
  return Object.assign(new Error(e.message), e)
}

/**
 * V8 runs a WebAssembly function first as quick baseline code (Liftoff) and compiles it again with its
 * optimising compiler (TurboFan), on background threads, once it has run V8's tiering budget (13 MB of
 * code by default). Opening PGlite, checking the migrations and reading the emulators' stored state
 * spend that budget for hundreds of PostgreSQL's functions: on two cores those compiles competed
 * with the start, and the compilers' memory stayed in the idle process. A hundred times the budget
 * keeps a start and an idle stack on baseline code; what runs under sustained load still tiers up.
 * Measured (bench/README.md, 2026-12-07): start to /ready on an existing folder 1.0–1.1 s → 0.8–0.9 s,
 * idle RSS about 50 MiB less, and up to a tenth more CPU per request on the database-heavy gateway
 * paths in a 5 s bench round (WhatsApp, voice). A stack per test worker starts and idles far more
 * than it runs flat out. The flag is process-wide: it applies to any WebAssembly compiled later.
 */
const WASM_TIERING_BUDGET = 1_300_000_000

async function startWorker (workerData: { dataDir: string, migrationsDir: string | undefined, templateDir: string | undefined, maintenanceEveryMs: number }): Promise<SqlDriver> {
  // Before the thread compiles PGlite; V8 reads the flag when it instantiates a module.
  setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`)
  const worker = new Worker(new URL('./pglite-worker.ts', import.meta.url), { workerData })
  const pending = new Map<number, { resolve: (reply: WorkerReply & { ok: true }) => void, reject: (err: Error) => void }>()
  let nextId = 1
  let stopped: Error | undefined

  // The thread keeps the process alive only while it owes an answer: an idle database must not
  // hold a finished process open, and a flush at shutdown must not be cut off.
  const settle = (id: number) => {
    const waiter = pending.get(id)
    pending.delete(id)
    if (pending.size === 0) worker.unref()
    return waiter
  }
  worker.on('message', (reply: WorkerReply) => {
    const waiter = settle(reply.id)
    if (reply.ok) waiter?.resolve(reply)
    else waiter?.reject(revive(reply.error))
  })
  const fail = (err: Error) => {
    stopped ??= err
    for (const [id, waiter] of pending) { settle(id); waiter.reject(err) }
  }
  // Not reopened here: writes keep queueing (and spill to the file at shutdown), so say what to do.
  worker.on('error', err => fail(new Error(`the embedded database thread failed: ${err.message}. Restart Switchboard to reopen the database; queued writes are kept.`, { cause: err })))
  worker.on('exit', code => fail(new Error(`the embedded database thread stopped (exit code ${code}). Restart Switchboard to reopen the database; queued writes are kept.`)))

  function call (request: DistributiveOmit<WorkerRequest, 'id'>): Promise<WorkerReply & { ok: true }> {
    if (stopped) return Promise.reject(stopped)
    const id = nextId++
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject })
      worker.ref()
      worker.postMessage({ ...request, id })
    })
  }

  // The worker answers id 0 once the database is open and migrated (or could not be).
  try {
    await new Promise((resolve, reject) => pending.set(0, { resolve, reject }))
  } catch (err) {
    await worker.terminate()
    throw err
  }

  let closed: Promise<void> | undefined
  return {
    async query (text, values) {
      const reply = await call({ op: 'query', text, ...(values !== undefined ? { values } : {}) })
      return { rows: reply.rows ?? [], rowCount: reply.rowCount ?? 0 }
    },
    async exec (text) {
      await call({ op: 'exec', text })
    },
    close () {
      closed ??= (async () => {
        if (!stopped) await call({ op: 'close' }).catch(() => {})
        await worker.terminate()
      })()
      return closed
    }
  }
}
