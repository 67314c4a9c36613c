/**
 * The writer. Every write joins one ordered queue and gets a promise that resolves once the write
 * is durable. A single pump commits the queue head: a run of consecutive inserts as one multi-row
 * insert per table, a run of status moves as one UPDATE per (table, status, patch), any other
 * update alone; so the rows of every request that arrived while the last commit was in flight go
 * in the next one (group commit).
 *
 * While the database is away, the queue is appended to the journal and fsynced, and those writes
 * are acknowledged; new writes go to the journal as they come. The pump keeps retrying from
 * memory, and the journal is deleted once everything in it is committed. At the next open the
 * journal is replayed in order first: inserts are idempotent by id and status moves by their rule,
 * so a replay of something already committed changes nothing.
 */
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import type { ActivityLog, ActivityLogOptions, Filter, Row, Table } from './types.ts'
import { TABLES } from './tables.ts'
import { composeStatus, isStatusTable, movesFrom, type StatusTable } from './status-rules.ts'
import { EmulatorState } from './emulator-state.ts'
import { MoveClock } from './move-clock.ts'
import { isRowId, newRowId } from './row-ids.ts'

export type Operation =
  | { op: 'insert', table: Table, row: Row }
  | { op: 'update', table: Table, where: Filter, patch: Row }
  /** A status move of one row: `key = value AND status IN (movesFrom(status))`. */
  | { op: 'advance', table: StatusTable, key: string, value: string, status: string, patch: Row }

type Logger = NonNullable<ActivityLogOptions['logger']>

/** A request refused (admit) because too many writes wait in memory: the service answers 503 with Retry-After. */
export class ActivityLogFullError extends Error {
  readonly code = 'ACTIVITY_LOG_FULL'
  readonly retryAfterSeconds: number
  readonly pending: number
  /**
   * `pending` may be past `limit`: the bound refuses new requests, never the writes of requests
   * already accepted (their provider calls were made).
   */
  constructor (pending: number, degraded: boolean, limit = pending) {
    const waiting = `${pending} writes are waiting for the database (at most ${limit} before new requests are refused: ACTIVITY_LOG_MAX_PENDING)`
    super(degraded
      ? `The database is unreachable and ${waiting}; this request was not accepted, so nothing of it can be lost. Retry later.`
      : `${waiting}; this request was not accepted, so nothing of it can be lost. Retry in a moment.`)
    this.name = 'ActivityLogFullError'
    this.pending = pending
    this.retryAfterSeconds = degraded ? 5 : 1
  }
}

/** A write that could not be made durable: the database is away and the journal cannot be written (or there is none). */
export class ActivityLogUnavailableError extends Error {
  readonly code = 'ACTIVITY_LOG_UNAVAILABLE'
  readonly retryAfterSeconds = 5
  constructor (why: string, options?: { cause?: unknown }) {
    super(`The write could not be stored: ${why}. Nothing was acknowledged; retry later.`, options)
    this.name = 'ActivityLogUnavailableError'
  }
}

const consoleLogger: Logger = {
  info: (obj, msg) => console.info(msg, obj),
  warn: (obj, msg) => console.warn(msg, obj),
  error: (obj, msg) => console.error(msg, obj)
}

/** How long a read waits for the queue before reading anyway (it then may miss unwritten rows). */
const READ_FLUSH_TIMEOUT_MS = 2_000

/**
 * Errors the database would give again for the same operation: bad data (SQLSTATE 22), a broken
 * constraint (23), an unknown column or table (42), a limit passed (54: a value too large for its
 * index), or PostgREST's request and schema errors.
 * Retrying those would block every write behind them forever, so the operation is set aside.
 * Anything else (connection lost, timeouts, server restarting) is retried.
 */
export function isPermanentError (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^(?:(?:22|23|42|54)[0-9A-Z]{3}|PGRST[12]\d\d)$/.test(code)
}

/** One caller's write: resolved once committed or journaled, whichever comes first. */
interface Ack {
  operation: Operation
  resolve: () => void
  reject: (err: Error) => void
  done: boolean
  journaled: boolean
}

/** One queue place: an operation, and the acks of every write folded into it. */
interface Entry {
  operation: Operation
  acks: Ack[]
  /** Set once the pump has taken it: a write in flight takes no more writes. */
  taken: boolean
  /** Its place in the order of writes. */
  seq: number
  /** Committed (or set aside), but still in the queue array behind an older entry. */
  written: boolean
}

const noop = () => {}

export function createActivityLog (options: ActivityLogOptions): ActivityLog {
  const {
    backend,
    batchSize = 500,
    groupSize = 200,
    flushIntervalMs = 0,
    retryMinMs = 50,
    retryMaxMs = 2_000,
    closeTimeoutMs = 5_000,
    maxPending = 100_000,
    journalFile,
    logger = consoleLogger
  } = options

  // In order; written entries leave from the head (one written ahead of an older one waits there).
  const queue: Entry[] = []
  let waiting = 0
  // Status moves still open to coalescing: by table and key column, then by value.
  const open = new Map<string, Map<string, Entry>>()
  // The next entry's seq. A flush waits until no entry older than the seq it saw is queued.
  let queued = 0
  let waiters: Array<{ target: number, resolve: () => void }> = []
  let pumping = false
  let timer: NodeJS.Timeout | undefined
  let immediate: NodeJS.Immediate | undefined
  let failures = 0
  let degradedSince: number | undefined
  // After a batch hit a permanent error, its entries are written one by one to find the culprit.
  let isolateUntil = 0
  let stopped = false
  let closing: Promise<void> | undefined
  let wakeUp: (() => void) | undefined
  // Acks appended to the journal and not yet committed; the journal goes once this is zero.
  let journaledOutstanding = 0
  // The time status moves are stamped with: the emulators' clock, followed through the settings.
  const moveClock = new MoveClock()
  let toJournal: Ack[] = []
  let journalScheduled = false

  function enqueue (operation: Operation): Promise<void> {
    let ack!: Ack
    const promise = new Promise<void>((resolve, reject) => {
      ack = { operation, resolve, reject, done: false, journaled: false }
    })
    // Handled here, so a caller that does not wait cannot crash the process; awaiting still throws.
    promise.catch(noop)
    if (stopped) {
      journal([ack])
      return promise
    }
    // Never refused for the bound: a write records what a request already did (a mail the
    // provider accepted), and refusing it would lose that record while telling the caller nothing
    // happened. The bound is checked before the work, by admit().
    if (!coalesce(ack)) push({ operation, acks: [ack], taken: false, seq: queued, written: false })
    // While the database is away, the write is journaled at once rather than after the next failed attempt.
    if (degradedSince !== undefined) scheduleJournal([ack])
    schedule()
    return promise
  }

  function push (entry: Entry): void {
    queue.push(entry)
    queued++
    waiting++
    const o = entry.operation
    if (o.op === 'advance') {
      const column = `${o.table}\u0000${o.key}`
      let values = open.get(column)
      if (!values) open.set(column, values = new Map())
      values.set(o.value, entry)
    } else if (o.op === 'update') forgetOpen(o)
  }

  /** The id of the one row an update names (its filter is `{ id }` alone and it sets something), else undefined. */
  const byId = (o: Extract<Operation, { op: 'update' }>): string | undefined =>
    Object.keys(o.where).length === 1 && typeof o.where.id === 'string' && Object.keys(o.patch).some(c => c !== 'id' && o.patch[c] !== undefined) ? o.where.id : undefined

  const openEntry = (o: Extract<Operation, { op: 'advance' }>) => open.get(`${o.table}\u0000${o.key}`)?.get(o.value)

  /**
   * Moves queued before an update must stay before it, so the moves of the rows it may touch take
   * no more writes: of one row when it names one by id (the common case: a patch of the row a
   * request just wrote), else of the whole table.
   */
  function forgetOpen (o: Extract<Operation, { op: 'update' }>): void {
    const id = Object.keys(o.where).length === 1 && typeof o.where.id === 'string' ? o.where.id : undefined
    for (const [column, values] of open) {
      if (!column.startsWith(`${o.table}\u0000`)) continue
      if (id !== undefined && column === `${o.table}\u0000id`) values.delete(id)
      else open.delete(column)
    }
  }

  /** Folds a status move into a waiting move of the same row when one status does both. */
  function coalesce (ack: Ack): boolean {
    const o = ack.operation
    if (o.op !== 'advance') return false
    const entry = openEntry(o)
    if (entry === undefined || entry.taken) return false
    const before = entry.operation as Extract<Operation, { op: 'advance' }>
    const status = composeStatus(o.table, before.status, o.status)
    if (status === undefined) return false
    // Later values over earlier ones: each event carries what its status knows.
    if (status === o.status) entry.operation = { ...before, status, patch: { ...before.patch, ...o.patch } }
    entry.acks.push(ack)
    return true
  }

  function schedule (): void {
    if (pumping || stopped || waiting === 0) return
    if (waiting >= batchSize) kick()
    else if (flushIntervalMs > 0) timer ??= setTimeout(kick, flushIntervalMs)
    else immediate ??= setImmediate(kick)
  }

  function kick (): void {
    clearTimeout(timer)
    timer = undefined
    clearImmediate(immediate)
    immediate = undefined
    if (!pumping && !stopped && waiting > 0) void pump()
  }

  /**
   * The entries of the next write, from the queue head: a run of inserts (whatever their tables:
   * no table references another), or a run of status moves naming each row once (moves of
   * different rows commute), or one update. An insert run reaches past status moves and patches
   * that name their rows by one value (a request patching the row it wrote a moment ago, a webhook
   * moving a message): inserts of other rows commute with them, so those stay where they are and
   * the inserts of every request still go together.
   */
  function nextBatch (): Entry[] {
    const head = queue[0]!
    const o = head.operation
    if (head.seq < isolateUntil) return [head]
    if (o.op === 'update') {
      // A run of patches of single rows by id (a request patching the row it wrote) goes together
      // when the backend can write them in one statement; a row named twice ends the run.
      if (backend.updateEach === undefined || byId(o) === undefined) return [head]
      const batch = [head]
      const rows = new Set([`${o.table}\u0000${byId(o)}`])
      for (let i = 1; i < queue.length && batch.length < batchSize && i < 2 * batchSize; i++) {
        const e = queue[i]!
        if (e.written) continue
        const next = e.operation
        const id = next.op === 'update' ? byId(next) : undefined
        if (id === undefined || rows.has(`${next.table}\u0000${id}`)) break
        rows.add(`${next.table}\u0000${id}`)
        batch.push(e)
      }
      return batch
    }
    const batch = [head]
    if (o.op === 'insert') {
      // The rows the writes passed over name, by column: an insert of one of them ends the run.
      const passed = new Map<string, Set<unknown>>()
      const pass = (column: string, value: unknown) => {
        let values = passed.get(column)
        if (!values) passed.set(column, values = new Set())
        values.add(value)
      }
      const named = (row: Row) => {
        for (const [column, values] of passed) if (values.has(row[column])) return true
        return false
      }
      for (let i = 1; i < queue.length && batch.length < batchSize && i < 2 * batchSize; i++) {
        const e = queue[i]!
        if (e.written) continue
        const next = e.operation
        if (next.op === 'insert') {
          if (named(next.row)) break
          batch.push(e)
        } else if (next.op === 'advance') {
          pass(next.key, next.value)
        } else if (Object.keys(next.where).length === 1 && typeof next.where.id === 'string') {
          pass('id', next.where.id)
        } else break
      }
      return batch
    }
    // A run of moves reaches past inserts of rows none of its moves name (a send arriving between
    // two webhooks): the moves cannot touch those rows, so the inserts wait their turn unharmed.
    const rows = new Set([`${o.table}\u0000${o.value}`])
    const inserted = new Set<unknown>()
    for (let i = 1; i < queue.length && batch.length < batchSize && i < 2 * batchSize; i++) {
      const e = queue[i]!
      if (e.written) continue
      const next = e.operation
      if (next.op === 'insert') {
        for (const column of ['id', 'provider_message_id', 'execution_id']) if (next.row[column] != null) inserted.add(next.row[column])
        continue
      }
      if (next.op !== 'advance' || rows.has(`${next.table}\u0000${next.value}`) || inserted.has(next.value)) break
      rows.add(`${next.table}\u0000${next.value}`)
      batch.push(e)
    }
    return batch
  }

  async function write (batch: Operation[]): Promise<void> {
    const head = batch[0]!
    if (head.op === 'update') {
      if (batch.length === 1 || backend.updateEach === undefined) {
        await backend.update(head.table, head.where, head.patch)
        return
      }
      // Patches by id that set the same columns of one table: one statement, each row its values.
      const shapes = new Map<string, { table: Table, rows: Row[] }>()
      for (const o of batch as Array<Extract<Operation, { op: 'update' }>>) {
        const columns = Object.keys(o.patch).filter(c => o.patch[c] !== undefined && c !== 'id')
        const shape = `${o.table}\u0000${columns.sort().join('\u0000')}`
        let group = shapes.get(shape)
        if (group === undefined) shapes.set(shape, group = { table: o.table, rows: [] })
        const row: Row = { id: o.where.id }
        for (const c of columns) row[c] = o.patch[c]
        group.rows.push(row)
      }
      for (const g of shapes.values()) await backend.updateEach(g.table, 'id', g.rows)
      return
    }
    if (head.op === 'insert') {
      const byTable = new Map<Table, Row[]>()
      for (const o of batch as Array<Extract<Operation, { op: 'insert' }>>) {
        const rows = byTable.get(o.table)
        if (rows) rows.push(o.row)
        else byTable.set(o.table, [o.row])
      }
      for (const [table, rows] of byTable) await backend.insert(table, rows)
      return
    }
    const moves = batch as Array<Extract<Operation, { op: 'advance' }>>
    if (backend.updateEach !== undefined && moves.length > 1) {
      // Moves that set the same columns become one statement, each row with its own status and
      // values (a webhook's timestamp, a call's duration), each moving by its own status's rule.
      const shapes = new Map<string, { table: StatusTable, key: string, rows: Row[], from: Record<string, readonly string[]> }>()
      for (const o of moves) {
        const columns = Object.keys(o.patch).filter(c => o.patch[c] !== undefined)
        const shape = `${o.table}\u0000${o.key}\u0000${columns.sort().join('\u0000')}`
        let group = shapes.get(shape)
        if (group === undefined) shapes.set(shape, group = { table: o.table, key: o.key, rows: [], from: {} })
        const row: Row = { status: o.status, [o.key]: o.value }
        for (const c of columns) row[c] = o.patch[c]
        group.rows.push(row)
        group.from[o.status] ??= [...movesFrom(o.table, o.status)!]
      }
      for (const g of shapes.values()) await backend.updateEach(g.table, g.key, g.rows, g.from)
      return
    }
    // Moves with the same target and values become one statement naming all their rows.
    const groups = new Map<string, { o: Extract<Operation, { op: 'advance' }>, values: string[] }>()
    for (const o of moves) {
      const signature = `${o.table}\u0000${o.key}\u0000${o.status}\u0000${JSON.stringify(o.patch)}`
      const g = groups.get(signature)
      if (g && g.values.length < groupSize) g.values.push(o.value)
      else {
        if (g) await writeGroup(g.o, g.values)
        groups.set(signature, { o, values: [o.value] })
      }
    }
    for (const g of groups.values()) await writeGroup(g.o, g.values)
  }

  async function writeGroup (o: Extract<Operation, { op: 'advance' }>, values: string[]): Promise<void> {
    const where: Filter = { [o.key]: values.length === 1 ? values[0]! : { in: values }, status: { in: [...movesFrom(o.table, o.status)!] } }
    await backend.update(o.table, where, { ...o.patch, status: o.status })
  }

  async function pump (): Promise<void> {
    pumping = true
    try {
      while (waiting > 0 && !stopped) {
        const batch = nextBatch()
        for (const e of batch) {
          if (!e.taken && e.operation.op === 'advance' && openEntry(e.operation) === e) open.get(`${e.operation.table}\u0000${e.operation.key}`)!.delete(e.operation.value)
          e.taken = true
        }
        try {
          await write(batch.map(e => e.operation))
        } catch (err) {
          if (stopped) return
          if (!isPermanentError(err)) {
            failures++
            if (degradedSince === undefined) {
              degradedSince = Date.now()
              logger.warn({ err, pending: waiting }, 'activity log: database unavailable, journaling writes and retrying')
            }
            // Everything waiting is made durable now, so its callers need not wait for the database.
            scheduleJournal(queue.flatMap(e => e.written ? [] : e.acks))
            flushJournal()
            await sleep(backoff())
            continue
          }
          if (batch.length > 1) {
            isolateUntil = batch.at(-1)!.seq + 1
            continue
          }
          reject(batch[0]!.operation, err)
        }
        if (stopped) return
        for (const e of batch) e.written = true
        waiting -= batch.length
        let head = 0
        while (head < queue.length && queue[head]!.written) head++
        queue.splice(0, head)
        settle(batch)
      }
    } finally {
      pumping = false
    }
    schedule()
  }

  function settle (batch: Entry[]): void {
    for (const e of batch) {
      for (const ack of e.acks) {
        if (ack.journaled) journaledOutstanding--
        if (!ack.done) {
          ack.done = true
          ack.resolve()
        }
      }
    }
    if (degradedSince !== undefined) {
      logger.info({ downMs: Date.now() - degradedSince, retries: failures, pending: waiting }, 'activity log: database back, writing the queue')
      degradedSince = undefined
    }
    failures = 0
    const oldest = queue[0]?.seq ?? queued
    waiters = waiters.filter(w => {
      if (w.target > oldest) return true
      w.resolve()
      return false
    })
    if (journaledOutstanding === 0 && toJournal.length === 0 && journalFile !== undefined && existsSync(journalFile)) removeFile(journalFile)
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
    if (journalFile === undefined) return
    try {
      appendLines(`${journalFile}.rejected`, [operation])
    } catch (fileErr) {
      logger.error({ err: fileErr }, 'activity log: could not keep the rejected operation')
    }
  }

  /** Acks to journal at the end of this turn of the event loop: one append and one fsync for all of them. */
  function scheduleJournal (acks: Ack[]): void {
    for (const ack of acks) if (!ack.journaled && !ack.done) toJournal.push(ack)
    if (journalScheduled || toJournal.length === 0) return
    journalScheduled = true
    setImmediate(flushJournal)
  }

  function flushJournal (): void {
    journalScheduled = false
    const acks = toJournal
    toJournal = []
    journal(acks)
  }

  /** Appends the acks' operations to the journal and fsyncs; then they are acknowledged. */
  function journal (acks: Ack[]): void {
    // Once each: a write can be listed twice (journaled on arrival while the database is away, and
    // again by a retry that failed in the same turn). Appended twice, it was also counted twice as
    // outstanding, and the journal stayed after everything in it had committed.
    const open = [...new Set(acks)].filter(a => !a.journaled && !a.done)
    if (open.length === 0) return
    if (journalFile === undefined) {
      if (stopped) for (const a of open) fail(a, new ActivityLogUnavailableError('the activity log is closed and has no journal'))
      return // without a journal a write is acknowledged only once committed
    }
    try {
      appendLines(journalFile, open.map(a => a.operation))
    } catch (err) {
      logger.error({ err, journalFile, operations: open.length }, 'activity log: could not write the journal')
      if (stopped) for (const a of open) fail(a, new ActivityLogUnavailableError('the journal could not be written', { cause: err }))
      return
    }
    for (const a of open) {
      a.journaled = true
      // Once stopped the operation is nowhere else: only the journal's copy remains.
      if (!stopped) journaledOutstanding++
      a.done = true
      a.resolve()
    }
  }

  function fail (ack: Ack, err: Error): void {
    ack.done = true
    ack.reject(err)
  }

  function removeFile (file: string): void {
    try {
      unlinkSync(file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.error({ err, file }, 'activity log: could not remove the journal')
    }
  }

  /** Operations the journal holds from a previous run, in order. */
  function loadJournal (): Operation[] {
    if (journalFile === undefined || !existsSync(journalFile)) return []
    try {
      chmodSync(journalFile, 0o600)
      const operations: Operation[] = []
      for (const line of readFileSync(journalFile, 'utf8').split('\n')) {
        if (line.trim() === '') continue
        try {
          const o = JSON.parse(line) as Operation
          const valid = TABLES.has(o.table) && (o.op === 'insert' || o.op === 'update' || (o.op === 'advance' && isStatusTable(o.table) && movesFrom(o.table, o.status) !== undefined))
          if (!valid) throw new Error('not an operation')
          operations.push(o)
        } catch (err) {
          // A line cut short by a crash mid-append was never acknowledged; everything else is replayed.
          logger.warn({ err, line: line.slice(0, 200) }, 'activity log: skipping an unreadable journal line')
        }
      }
      return operations
    } catch (err) {
      logger.error({ err, journalFile }, 'activity log: could not read the journal')
      return []
    }
  }

  function flush (timeoutMs = 10_000): Promise<void> {
    const target = queued
    if ((queue[0]?.seq ?? queued) >= target) return Promise.resolve()
    kick()
    // eslint-disable-next-line promise/param-names -- `reject` is this module's function for a failed write
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
        rejectFlush(new Error(`activity log: flush timed out after ${timeoutMs} ms, ${waiting} operations pending`))
      }, timeoutMs)
      waiters.push(waiter)
    })
  }

  // While the database is away a read cannot see the queued writes anyway: it does not wait for them.
  const readable = () => degradedSince !== undefined ? Promise.resolve() : flush(READ_FLUSH_TIMEOUT_MS).catch(noop)

  const replayed = loadJournal()
  if (replayed.length > 0) {
    logger.info({ operations: replayed.length, journalFile }, 'activity log: replaying the journal of the previous run')
    for (const operation of replayed) {
      const ack: Ack = { operation, resolve: noop, reject: noop, done: true, journaled: true }
      journaledOutstanding++
      if (coalesce(ack)) continue
      push({ operation, acks: [ack], taken: false, seq: queued, written: false })
    }
    schedule()
  } else if (journalFile !== undefined && existsSync(journalFile)) {
    removeFile(journalFile)
  }

  function copyRow (table: Table, row: object): Row {
    // Copied: the caller may reuse the object. Ids are the writer's, so retries stay idempotent.
    const r = row as Row
    return table === 'settings' || r.id != null ? { ...r } : { id: newRowId(), ...r }
  }

  return {
    admit () {
      if (waiting < maxPending) return
      logger.warn({ pending: waiting, limit: maxPending }, 'activity log: queue full, refusing a request')
      throw new ActivityLogFullError(waiting, degradedSince !== undefined, maxPending)
    },

    record (table, row) {
      if (!TABLES.has(table) || row === null || typeof row !== 'object') return Promise.reject(new TypeError(`activity log: not a row of a known table (${String(table)})`))
      return enqueue({ op: 'insert', table, row: copyRow(table, row) })
    },

    recordUpdate (table, where, patch) {
      return enqueue({ op: 'update', table, where: { ...where }, patch: { ...patch } })
    },

    advance (table, key, values, status, patch = {}) {
      if (movesFrom(table, status) === undefined) return Promise.reject(new TypeError(`activity log: ${table} has no status ${JSON.stringify(status)}`))
      // Rows are keyed by a uuid id: a value that is not one matches no row, and queued it would
      // fail the whole batch it is written in (the rest of the batch parked as rejected).
      const list = (typeof values === 'string' ? [values] : values).filter(v => key !== 'id' || isRowId(v))
      const { status: _status, ...rest } = patch as Row
      // Every service's status moves are stamped here, when the move is made, on the emulators'
      // clock (a frozen or moved test clock, a data set's history), so updated_at never reads real
      // time next to a created_at on the clock. Stamped before it is queued: the journal keeps the
      // stamp, and a move that waits for the database is not dated when it is finally written.
      rest.updated_at ??= moveClock.stamp()
      return Promise.all(list.map(value => enqueue({ op: 'advance', table, key, value, status, patch: rest }))).then(noop)
    },

    emulatorState: options => new EmulatorState({ ...options, backend }),

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

    async readSettings () {
      const rows = (await backend.select('settings')) as unknown as Awaited<ReturnType<ActivityLog['readSettings']>>
      moveClock.follow(rows)
      return rows
    },

    async writeSettings (rows, changes = []) {
      if (rows.length) await backend.upsert('settings', rows.map(r => ({ ...r })), ['key'])
      if (changes.length) await backend.insert('settings_changes', changes.map(r => ({ ...r })))
      moveClock.follow(rows)
    },

    async clear (tables) {
      await flush()
      const cleared: Record<string, number> = {}
      for (const table of tables) cleared[table] = await backend.delete(table, {})
      return cleared
    },

    ping () {
      return backend.ping()
    },

    get pending () {
      return waiting
    },

    get degraded () {
      return degradedSince !== undefined
    },

    close () {
      closing ??= (async () => {
        await flush(closeTimeoutMs).catch(noop)
        stopped = true
        clearTimeout(timer)
        clearImmediate(immediate)
        wakeUp?.()
        // A write still in flight may yet commit; journaling it too only means an idempotent replay.
        // What is already journaled stays in the file for the next open.
        const unwritten = queue.splice(0).flatMap(e => e.written ? [] : e.acks)
        waiting = 0
        toJournal = []
        journal(unwritten)
        for (const a of unwritten) if (!a.done) fail(a, new ActivityLogUnavailableError('the activity log closed before the database came back'))
        if (unwritten.length > 0) logger.warn({ journalFile, operations: unwritten.length }, 'activity log: closed with writes not committed; they are in the journal for the next start')
        await backend.close()
      })()
      return closing
    }
  }
}

/** Appends JSON lines and fsyncs: the point of these files is to outlive the process. Owner-only. */
function appendLines (file: string, operations: Operation[]): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  const lines = operations.map(o => {
    try {
      return JSON.stringify(o) + '\n'
    } catch {
      return '' // not serialisable (a BigInt, a cycle): it could never have been written either
    }
  }).join('')
  const fd = openSync(file, 'a', 0o600)
  try {
    writeSync(fd, lines)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
