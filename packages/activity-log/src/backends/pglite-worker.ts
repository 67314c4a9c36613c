/**
 * The embedded database's own thread. PGlite is PostgreSQL compiled to WASM: every query runs
 * synchronously on the thread that owns it. Profiles of the full gateway path put it at a quarter
 * of the servers' CPU when it shared their event loop, so it lives here and the servers talk to it
 * with messages (see pglite.ts). One message in, one reply out, answered in order.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { PGlite } from '@electric-sql/pglite'
import { applyMigrations, DEFAULT_MIGRATIONS_DIR } from '../migrations.ts'
import { copyTemplateFolder, isFresh, removeDatabaseFiles, readTemplate, templateFile, templateFolder, writeTemplate, writeTemplateFolder } from './pglite-template.ts'
import { needsCheckpoint, needsVacuum, TABLE_ACTIVITY_SQL, vacuumStatement, WAL_ACTIVITY_SQL, type TableActivity, type WalActivity } from './pglite-maintenance.ts'
import { PreparedQueries } from './pglite-query.ts'
import { TYPE_PARSERS } from './sql.ts'

export type WorkerRequest =
  | { id: number, op: 'query', text: string, values?: unknown[] }
  | { id: number, op: 'exec', text: string }
  | { id: number, op: 'close' }

export type WorkerReply =
  | { id: number, ok: true, rows?: Array<Record<string, unknown>>, rowCount?: number }
  | { id: number, ok: false, error: SerializedError }

/** What survives the thread boundary of a database error: the message and PostgreSQL's fields. */
export interface SerializedError { message: string, name?: string, code?: string, detail?: string, hint?: string, severity?: string }

export function serializeError (err: unknown): SerializedError {
  const e = err as Partial<SerializedError> | null
  const out: SerializedError = { message: String(e?.message ?? err) }
  for (const key of ['name', 'code', 'detail', 'hint', 'severity'] as const) {
    const value = e?.[key]
    if (typeof value === 'string') out[key] = value
  }
  return out
}

const { dataDir, migrationsDir = DEFAULT_MIGRATIONS_DIR, templateDir, maintenanceEveryMs } = workerData as { dataDir: string, migrationsDir?: string, templateDir?: string, maintenanceEveryMs: number }
const port = parentPort!

/**
 * PGlite's own start parameters, with 32 MB of shared buffers instead of initdb's 128 MB: they live in
 * the WASM heap, which never shrinks, and were a fifth of an idle stack's memory. A sandbox's log
 * reads its recent rows; the operating system's page cache holds the rest. Measured on 20,000 rows
 * inserted and grouped 50 times: no slower, about 80 MB less resident.
 */
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=32MB']

// Relaxed durability: queries do not wait for the filesystem sync. This is a local sandbox's log;
// close() (every graceful shutdown) syncs, and the writer's spill file covers a database that is
// away at shutdown. Profiling showed PGlite's per-query filesystem work as its largest cost.
const ready = (async () => {
  const inMemory = dataDir.startsWith('memory://')
  const fresh = templateDir !== undefined && isFresh(dataDir)
  const open = (loadDataDir?: Blob) => PGlite.create(dataDir, { parsers: TYPE_PARSERS, relaxedDurability: true, startParams: START_PARAMS, ...(loadDataDir ? { loadDataDir } : {}) })
  // A template that cannot be used (cut short, another PGlite's, pruned while copied) is only a
  // cache: the database is created instead.
  let fromTemplate: PGlite | undefined
  // Which template this start makes, when it finds none of its kind.
  let makeFolder: string | undefined
  let makeFile: string | undefined
  if (fresh && !inMemory) {
    const folder = templateFolder(templateDir, migrationsDir)
    try {
      // Whatever a start killed mid-copy left (no PG_VERSION, so no database) goes first.
      removeDatabaseFiles(dataDir)
      if (copyTemplateFolder(folder, dataDir)) fromTemplate = await open()
    } catch {
      removeDatabaseFiles(dataDir)
    }
    if (fromTemplate === undefined) makeFolder = folder
  }
  if (fresh && fromTemplate === undefined) {
    // A memory:// start's kind; for a folder, still three times quicker than creating.
    const file = templateFile(templateDir, migrationsDir)
    const image = readTemplate(file)
    if (image !== undefined) fromTemplate = await open(image).catch(() => undefined)
    if (fromTemplate === undefined && inMemory) makeFile = file
  }
  let db = fromTemplate ?? await open()
  try {
    await applyMigrations({ query: (text, values) => db.query(text, values), exec: async sql => { await db.exec(sql) } }, migrationsDir)
  } catch (err) {
    await db.close()
    throw err
  }
  // The first database made from these migrations, still empty: kept for the next fresh start
  // (a cache: never a reason to fail a start).
  if (makeFile !== undefined) {
    try {
      writeTemplate(makeFile, new Uint8Array(await (await db.dumpDataDir('gzip')).arrayBuffer()))
    } catch { /* see above */ }
  } else if (makeFolder !== undefined) {
    // Closed first, so the copy is a cleanly shut-down database.
    await db.close()
    try {
      writeTemplateFolder(makeFolder, dataDir)
    } catch { /* see above */ }
    db = await open()
  }
  return db
})()

ready.then(() => port.postMessage({ id: 0, ok: true }), err => port.postMessage({ id: 0, ok: false, error: serializeError(err) }))

// PGlite runs one query at a time anyway; a chain keeps replies in request order.
let chain: Promise<void> = Promise.resolve()
port.on('message', (request: WorkerRequest) => {
  chain = chain.then(() => handle(request))
})

// Upkeep (pglite-maintenance.ts): a look at the log and the tables every maintenanceEveryMs while
// statements arrive; a checkpoint when one is due and each table past autovacuum's thresholds
// vacuumed, each a step of its own on the chain, so queries that arrived meanwhile go first. An
// idle database is left alone.
let statementsSinceCheck = 0
let closing = false
if (maintenanceEveryMs > 0) {
  setInterval(() => {
    if (statementsSinceCheck === 0 || closing) return
    statementsSinceCheck = 0
    chain = chain.then(maintain)
  }, maintenanceEveryMs).unref()
}

async function maintain (): Promise<void> {
  try {
    const db = await ready
    const { rows: [wal] } = await db.query<WalActivity>(WAL_ACTIVITY_SQL)
    if (wal !== undefined && needsCheckpoint(wal)) {
      chain = chain.then(async () => {
        if (!closing) await db.exec('CHECKPOINT').catch(() => {})
      })
    }
    const { rows } = await db.query<TableActivity>(TABLE_ACTIVITY_SQL)
    for (const table of rows.filter(needsVacuum)) {
      chain = chain.then(async () => {
        if (!closing) await db.exec(vacuumStatement(table)).catch(() => {})
      })
    }
  } catch {
    // A database that did not open answers every request with its error; nothing to vacuum.
  }
}

/** The statements run most, prepared once (see pglite-query.ts). */
let prepared: PreparedQueries | undefined

async function viaQuery (db: PGlite, text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>>, rowCount: number }> {
  const result = await db.query<Record<string, unknown>>(text, values)
  return { rows: result.rows, rowCount: result.affectedRows ?? 0 }
}

async function handle (request: WorkerRequest): Promise<void> {
  try {
    const db = await ready
    if (request.op !== 'close') statementsSinceCheck++
    else closing = true
    if (request.op === 'query') {
      const result = await (prepared ??= new PreparedQueries(db)).query(request.text, request.values) ?? await viaQuery(db, request.text, request.values)
      port.postMessage({ id: request.id, ok: true, rows: result.rows, rowCount: result.rowCount } satisfies WorkerReply)
    } else if (request.op === 'exec') {
      await db.exec(request.text)
      port.postMessage({ id: request.id, ok: true } satisfies WorkerReply)
    } else {
      await db.close()
      port.postMessage({ id: request.id, ok: true } satisfies WorkerReply)
      port.close()
    }
  } catch (err) {
    // Includes a database that never opened: every request gets that error.
    port.postMessage({ id: request.id, ok: false, error: serializeError(err) } satisfies WorkerReply)
  }
}
