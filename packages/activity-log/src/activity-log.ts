/**
 * The buffered writer. Callers' writes go into one ordered queue and return at once; a single
 * pump writes the queue head to the backend (a run of consecutive inserts as one multi-row insert
 * per table), retrying with backoff while the database is away. Nothing a caller does here waits on
 * the database or throws, except reads, which flush first so a caller reads its own writes.
 */
import { randomUUID } from 'node:crypto'
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import type { ActivityLog, ActivityLogOptions, Filter, Row, Table } from './types.ts'
import { TABLES } from './tables.ts'

export type Operation =
  | { op: 'insert', table: Table, row: Row }
  | { op: 'update', table: Table, where: Filter, patch: Row }

type Logger = NonNullable<ActivityLogOptions['logger']>

const consoleLogger: Logger = {
  info: (obj, msg) => console.info(msg, obj),
  warn: (obj, msg) => console.warn(msg, obj),
  error: (obj, msg) => console.error(msg, obj)
}

/** How long a read waits for the queue before reading anyway (it then may miss unwritten rows). */
const READ_FLUSH_TIMEOUT_MS = 2_000

/**
 * Errors the database would give again for the same operation: bad data (SQLSTATE 22), a broken
 * constraint (23), an unknown column or table (42), or PostgREST's request and schema errors.
 * Retrying those would block every write behind them forever, so the operation is set aside.
 * Anything else (connection lost, timeouts, server restarting) is retried.
 */
export function isPermanentError (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^(?:(?:22|23|42)[0-9A-Z]{3}|PGRST[12]\d\d)$/.test(code)
}

export function createActivityLog (options: ActivityLogOptions): ActivityLog {
  const {
    backend,
    batchSize = 500,
    flushIntervalMs = 20,
    retryMinMs = 50,
    retryMaxMs = 2_000,
    closeTimeoutMs = 5_000,
    spillFile,
    logger = consoleLogger
  } = options

  const queue: Operation[] = []
  // Monotonic counters: queue.length === queued - settled. A flush waits for `settled` to reach
  // the `queued` it saw, which works because operations settle strictly in queue order.
  let queued = 0
  let settled = 0
  let waiters: Array<{ target: number, resolve: () => void }> = []
  let pumping = false
  let timer: NodeJS.Timeout | undefined
  let failures = 0
  let degradedSince: number | undefined
  // After a batch hit a permanent error, its operations are written one by one to find the culprit.
  let isolateUntil = 0
  let stopped = false
  let closing: Promise<void> | undefined
  let wakeUp: (() => void) | undefined
  let replay: { file: string, until: number } | undefined

  const replayFile = spillFile === undefined ? undefined : `${spillFile}.replay`

  function enqueue (operation: Operation): void {
    if (stopped) {
      spill([operation])
      return
    }
    queue.push(operation)
    queued++
    if (pumping) return
    if (queue.length >= batchSize) kick()
    else timer ??= setTimeout(kick, flushIntervalMs)
  }

  function kick (): void {
    clearTimeout(timer)
    timer = undefined
    if (!pumping && !stopped && queue.length > 0) void pump()
  }

  /**
   * How many head operations go in the next write: a run of consecutive inserts, whatever their
   * tables (a service logging to two tables per message alternates them). No table references
   * another, so the run is written as one multi-row insert per table; inserts are idempotent, so a
   * retry after a partial write is safe.
   */
  function nextBatch (): number {
    const head = queue[0]!
    if (head.op !== 'insert' || settled < isolateUntil) return 1
    let n = 1
    while (n < batchSize && n < queue.length && queue[n]!.op === 'insert') n++
    return n
  }

  async function write (batch: Operation[]): Promise<void> {
    const head = batch[0]!
    if (head.op !== 'insert') {
      await backend.update(head.table, head.where, head.patch)
      return
    }
    const byTable = new Map<Table, Row[]>()
    for (const o of batch as Array<Extract<Operation, { op: 'insert' }>>) {
      const rows = byTable.get(o.table)
      if (rows) rows.push(o.row)
      else byTable.set(o.table, [o.row])
    }
    for (const [table, rows] of byTable) await backend.insert(table, rows)
  }

  async function pump (): Promise<void> {
    pumping = true
    try {
      while (queue.length > 0 && !stopped) {
        const n = nextBatch()
        const batch = queue.slice(0, n)
        try {
          await write(batch)
        } catch (err) {
          if (stopped) return
          if (!isPermanentError(err)) {
            failures++
            if (degradedSince === undefined) {
              degradedSince = Date.now()
              logger.warn({ err, pending: queue.length }, 'activity log: database unavailable, buffering writes and retrying')
            }
            await sleep(backoff())
            continue
          }
          if (n > 1) {
            isolateUntil = settled + n
            continue
          }
          reject(batch[0]!, err)
        }
        if (stopped) return
        queue.splice(0, n)
        settle(n)
      }
    } finally {
      pumping = false
    }
  }

  function settle (n: number): void {
    settled += n
    if (degradedSince !== undefined) {
      logger.info({ downMs: Date.now() - degradedSince, retries: failures, pending: queue.length }, 'activity log: database back, writing the buffer')
      degradedSince = undefined
    }
    failures = 0
    waiters = waiters.filter(w => {
      if (w.target > settled) return true
      w.resolve()
      return false
    })
    if (replay !== undefined && settled >= replay.until) {
      removeFile(replay.file)
      replay = undefined
    }
  }

  /** Exponential, capped, with jitter so several processes do not retry in lockstep. */
  function backoff (): number {
    const ceiling = Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(failures - 1, 30))
    return ceiling / 2 + Math.random() * ceiling / 2
  }

  function sleep (ms: number): Promise<void> {
    return new Promise(resolve => {
      const t = setTimeout(done, ms)
      function done (): void {
        clearTimeout(t)
        wakeUp = undefined
        resolve()
      }
      wakeUp = done
    })
  }

  /** An operation the database refuses for good: logged with its content, kept in a side file. */
  function reject (operation: Operation, err: unknown): void {
    logger.error({ err, operation }, 'activity log: the database rejected an operation; it is set aside, not retried')
    if (spillFile === undefined) return
    try {
      appendLines(`${spillFile}.rejected`, [operation])
    } catch (fileErr) {
      logger.error({ err: fileErr }, 'activity log: could not keep the rejected operation')
    }
  }

  /** Returns whether the operations are safely on disk. */
  function spill (operations: Operation[]): boolean {
    if (operations.length === 0) return true
    if (spillFile === undefined) {
      logger.error({ lost: operations.length }, 'activity log: database unavailable at shutdown and no spillFile: operations lost')
      return false
    }
    try {
      appendLines(spillFile, operations)
      logger.warn({ spillFile, operations: operations.length }, 'activity log: database unavailable at shutdown, operations kept for the next start')
      return true
    } catch (err) {
      logger.error({ err, lost: operations.length, spillFile }, 'activity log: could not write the spill file: operations lost')
      return false
    }
  }

  function removeFile (file: string): void {
    try {
      unlinkSync(file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.error({ err, file }, 'activity log: could not remove a replayed spill file')
    }
  }

  /**
   * Operations a previous run spilled. The file is first renamed aside, so it is deleted only
   * after its operations are written (a crash before then replays it again: inserts are
   * idempotent); a spill file written next to a pending replay is merged into it.
   */
  function loadSpilled (): Operation[] {
    if (spillFile === undefined || replayFile === undefined) return []
    try {
      if (existsSync(spillFile)) {
        if (existsSync(replayFile)) {
          appendFileSync(replayFile, readFileSync(spillFile))
          unlinkSync(spillFile)
        } else {
          renameSync(spillFile, replayFile)
        }
      }
      if (!existsSync(replayFile)) return []
      const operations: Operation[] = []
      for (const line of readFileSync(replayFile, 'utf8').split('\n')) {
        if (line.trim() === '') continue
        try {
          const o = JSON.parse(line) as Operation
          if ((o.op === 'insert' || o.op === 'update') && TABLES.has(o.table)) operations.push(o)
          else throw new Error('not an operation')
        } catch (err) {
          // A line cut short by a crash mid-write; everything else is still replayed.
          logger.warn({ err, line: line.slice(0, 200) }, 'activity log: skipping an unreadable spill file line')
        }
      }
      return operations
    } catch (err) {
      logger.error({ err, spillFile }, 'activity log: could not read the spill file')
      return []
    }
  }

  function flush (timeoutMs = 10_000): Promise<void> {
    const target = queued
    if (settled >= target) return Promise.resolve()
    kick()
    return new Promise((resolve, rejectFlush) => {
      const waiter = {
        target,
        resolve: () => {
          clearTimeout(t)
          resolve()
        }
      }
      const t = setTimeout(() => {
        waiters = waiters.filter(w => w !== waiter)
        rejectFlush(new Error(`activity log: flush timed out after ${timeoutMs} ms, ${queue.length} operations pending`))
      }, timeoutMs)
      waiters.push(waiter)
    })
  }

  const readable = () => flush(READ_FLUSH_TIMEOUT_MS).catch(() => {})

  const spilled = loadSpilled()
  if (spilled.length > 0) {
    logger.info({ operations: spilled.length, spillFile }, 'activity log: replaying operations spilled by the previous run')
    for (const o of spilled) enqueue(o)
    replay = { file: replayFile!, until: queued }
  } else if (replayFile !== undefined && existsSync(replayFile)) {
    removeFile(replayFile)
  }

  return {
    backend,

    record (table, row) {
      try {
        // Copied: the caller may reuse the object. Ids are the writer's, so retries stay idempotent.
        const copy = table === 'settings' || row.id != null ? { ...row } : { id: randomUUID(), ...row }
        enqueue({ op: 'insert', table, row: copy })
      } catch (err) {
        logger.error({ err, table }, 'activity log: could not queue a record')
      }
    },

    recordUpdate (table, where, patch) {
      try {
        enqueue({ op: 'update', table, where: { ...where }, patch: { ...patch } })
      } catch (err) {
        logger.error({ err, table }, 'activity log: could not queue an update')
      }
    },

    flush,

    async select (table, query) {
      await readable()
      return backend.select(table, query)
    },

    async count (table, where) {
      await readable()
      return backend.count(table, where)
    },

    async rpc<T> (fn: string, args?: Record<string, unknown>, options?: { flush?: boolean }) {
      if (options?.flush !== false) await readable()
      return backend.rpc<T>(fn, args)
    },

    get pending () {
      return queue.length
    },

    get degraded () {
      return degradedSince !== undefined
    },

    close () {
      closing ??= (async () => {
        await flush(closeTimeoutMs).catch(() => {})
        stopped = true
        clearTimeout(timer)
        wakeUp?.()
        // A write still in flight may yet commit; spilling it too only means an idempotent replay.
        // The replay file's unwritten operations are still queued: once spilled, it can go.
        if (spill(queue.splice(0)) && replay !== undefined) removeFile(replay.file)
        replay = undefined
        await backend.close()
      })()
      return closing
    }
  }
}

/** Appends JSON lines and fsyncs: the point of these files is to outlive the process. */
function appendLines (file: string, operations: Operation[]): void {
  mkdirSync(dirname(file), { recursive: true })
  const lines = operations.map(o => {
    try {
      return JSON.stringify(o) + '\n'
    } catch {
      return '' // not serialisable (a BigInt, a cycle): it could never have been written either
    }
  }).join('')
  const fd = openSync(file, 'a')
  try {
    writeSync(fd, lines)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
