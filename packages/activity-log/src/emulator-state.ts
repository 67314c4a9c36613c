/**
 * A provider emulator's own state (Zoom's meetings, Instamojo's payment requests, Bolna's calls)
 * in the database, through any Backend: one mechanism for every emulator. A record is a JSON
 * document keyed by (kind, id) in the emulator's table (see the migration
 * 2026120608000_create_emulator_state.sql), with its creation order (seq), its lifecycle step and
 * the epoch ms its next step is due.
 *
 * Writes go behind the answer: put() and remove() queue the record and return; the queue (one entry
 * per record, the latest state wins) is written at most flushIntervalMs later, or at once when
 * maxQueued records wait. This is the provider's side of the sandbox, not the team's records: a
 * crash loses at most what was acknowledged within the last flush bound (written in the README),
 * and a database that is away keeps the queue retrying until it is back.
 *
 * Other instances on the same database see a record once it is written: by id at once (get()), and
 * in their caches through sync(), which reads the rows other writers changed since the last sync.
 */
import { randomUUID } from 'node:crypto'
import type { Backend, EmulatorTable, Row } from './types.ts'
import { isPermanentError } from './activity-log.ts'
import { batcher } from './batch.ts'

export interface StoredRecord<D = unknown> {
  kind: string
  id: string
  seq: number
  step: number
  /** Moved by every write of the document (put, remove, change); see change(). */
  version: number
  dueAt: number | null
  deleted: boolean
  /** The instance that wrote it last (EmulatorState.writer). */
  writer: string
  doc: D
}

export interface EmulatorStateOptions {
  backend: Backend
  table: EmulatorTable
  /** Longest a written record waits in the queue before a flush starts. Default 50 ms. */
  flushIntervalMs?: number
  /** A flush starts at once when this many records wait. Default 256. */
  maxQueued?: number
  /**
   * Most live records kept per kind; past it the oldest (by seq) are deleted at the next prune.
   * A kind not named here is kept until it is removed.
   */
  retention?: Record<string, number>
  /** How long tombstones stay so other instances learn of a removal. Default 10 min. */
  tombstoneMs?: number
  /** Retry backoff while the database is failing. Default 50 ms .. 2 s. */
  retryMinMs?: number
  retryMaxMs?: number
  logger?: { warn: (obj: object, msg?: string) => void }
}

export interface PutOptions {
  /** Creation order; given once, when the record is created. */
  seq: number
  /** Epoch ms of the record's next lifecycle step; null: nothing due. */
  dueAt?: number | null
}

/** What sync() hands to its `apply`. */
export interface SyncChange<D = unknown> {
  /** Another instance cleared everything since the last look: drop every cached record first. */
  cleared: boolean
  records: Array<StoredRecord<D>>
}

interface Pending { row: Row, version: number }
interface Claim { kind: string, id: string, from_step: number, to_step: number, due_at: number | null }

/** The kind of the marker row a clear leaves for other instances. */
const CLEARED = '_cleared'

// A write's commit can become visible a little after a later one's (concurrent transactions):
// each sync reads back this far before its cursor, and applying a row twice changes nothing.
const SYNC_OVERLAP_MS = 2_000

let seqCounter = 0
/**
 * A creation order that holds across instances and restarts without asking the database: epoch
 * microseconds plus a counter (records created in the same ms on one instance keep their order).
 */
export function nextSeq (): number {
  seqCounter = (seqCounter + 1) % 1000
  return Date.now() * 1000 + seqCounter
}

export class EmulatorState {
  /** Who writes: rows this instance wrote are skipped when it syncs. */
  readonly writer = randomUUID()
  readonly #backend: Backend
  readonly #table: EmulatorTable
  readonly #flushMs: number
  readonly #maxQueued: number
  readonly #retention: Record<string, number>
  readonly #tombstoneMs: number
  readonly #retryMin: number
  readonly #retryMax: number
  readonly #logger: EmulatorStateOptions['logger']
  #queue = new Map<string, Pending>()
  #version = 0
  #timer: NodeJS.Timeout | undefined
  #flushing: Promise<void> | undefined
  #failures = 0
  #syncCursor: string | undefined
  #clearedSeq = 0
  /**
   * Moves at the start and at the end of each of this instance's clears. A read whose time overlaps
   * a clear in any way (begun before it, or during it) answers as if it found nothing: its rows may
   * predate the reset's delete, and an emulator that applied them after resetting its memory would
   * bring back what the reset forgot. See #current().
   */
  #epoch = 0
  /** Clears under way (their delete not yet done). */
  #clearing = 0
  #retentionTimer: NodeJS.Timeout | undefined
  #closed = false
  /**
   * One set per sync under way: the records this instance wrote (put, remove, change, adopt) since
   * that sync began reading. Its rows of them are older than what this instance holds (see sync()).
   */
  readonly #syncs = new Set<Set<string>>()
  /** Per kind, the records abandoned() found due and not taken: since when (real time), at which due_at. */
  readonly #dueSince = new Map<string, Map<string, { dueAt: number, since: number }>>()

  constructor (opts: EmulatorStateOptions) {
    this.#backend = opts.backend
    this.#table = opts.table
    this.#flushMs = opts.flushIntervalMs ?? 50
    this.#maxQueued = opts.maxQueued ?? 256
    this.#retention = opts.retention ?? {}
    this.#tombstoneMs = opts.tombstoneMs ?? 600_000
    this.#retryMin = opts.retryMinMs ?? 50
    this.#retryMax = opts.retryMaxMs ?? 2_000
    this.#logger = opts.logger
  }

  /** Records written but not yet stored. */
  get pending (): number { return this.#queue.size }

  /** Stores the record's current document (behind the answer; see the class comment). */
  put (kind: string, id: string, doc: unknown, opts: PutOptions): void {
    const dueAt = opts.dueAt === undefined || opts.dueAt === null ? null : Math.ceil(opts.dueAt)
    this.#enqueue(kind, id, { kind, id, seq: opts.seq, due_at: dueAt, deleted: false, writer: this.writer, doc })
  }

  /** Removes the record (a tombstone other instances sync, pruned after tombstoneMs). */
  remove (kind: string, id: string, seq: number): void {
    this.#enqueue(kind, id, { kind, id, seq, due_at: null, deleted: true, writer: this.writer, doc: null })
  }

  #enqueue (kind: string, id: string, row: Row): void {
    if (this.#closed) return
    const key = `${kind}\u0000${id}`
    this.#wrote(key)
    this.#queue.delete(key) // re-inserted at the back: the queue stays in write order
    this.#queue.set(key, { row, version: ++this.#version })
    if (this.#queue.size >= this.#maxQueued) this.#startFlush()
    else if (this.#timer === undefined && this.#flushing === undefined) {
      this.#timer = setTimeout(() => this.#startFlush(), this.#flushMs)
    }
  }

  /** Tells the syncs under way that this instance wrote the record (nothing when none is). */
  #wrote (key: string): void {
    if (this.#syncs.size > 0) for (const written of this.#syncs) written.add(key)
  }

  #startFlush (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#flushing ??= this.#drain().finally(() => {
      this.#flushing = undefined
      if (this.#queue.size > 0 && !this.#closed) this.#timer ??= setTimeout(() => this.#startFlush(), this.#failures > 0 ? this.#backoff() : 0)
    })
  }

  #backoff (): number {
    return Math.min(this.#retryMax, this.#retryMin * 2 ** Math.min(this.#failures, 16))
  }

  /** Writes everything queued when it starts (in batches), retrying while the database fails. */
  async #drain (): Promise<void> {
    while (this.#queue.size > 0) {
      const batch = [...this.#queue.entries()].slice(0, 500)
      try {
        await this.#backend.rpc('emulator_state_put', { p_table: this.#table, p_rows: batch.map(([, p]) => p.row) })
        this.#failures = 0
      } catch (err) {
        if (isPermanentError(err)) {
          // A record the database refuses would block every later one: it is dropped, loudly.
          this.#logger?.warn({ err, table: this.#table, records: batch.length }, 'emulator state: a batch was refused and dropped')
        } else {
          if (this.#failures++ === 0) this.#logger?.warn({ err, table: this.#table, pending: this.#queue.size }, 'emulator state: database unavailable, retrying')
          return
        }
      }
      // A record written again while the batch was in flight stays queued (its newer version).
      for (const [key, p] of batch) if (this.#queue.get(key)?.version === p.version) this.#queue.delete(key)
    }
  }

  /** Resolves once everything queued before the call is stored (rejects after timeoutMs). */
  async flush (timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    const target = this.#version
    const waiting = () => [...this.#queue.values()].some(p => p.version <= target)
    while (waiting()) {
      if (Date.now() > deadline) throw new Error(`emulator state: ${this.#queue.size} records not stored after ${timeoutMs} ms`)
      this.#startFlush()
      await (this.#flushing ?? new Promise(resolve => setTimeout(resolve, this.#backoff())))
    }
  }

  /**
   * One record by id: this instance's unstored write if any, else the database's. An emulator that
   * keeps what it finds in memory does it in `hold` (see sync()); get() returns what hold returns.
   */
  async get<D> (kind: string, id: string): Promise<StoredRecord<D> | undefined>
  async get<D, R> (kind: string, id: string, hold: (record: StoredRecord<D>) => R): Promise<R | undefined>
  async get<D, R> (kind: string, id: string, hold?: (record: StoredRecord<D>) => R): Promise<R | StoredRecord<D> | undefined> {
    const queued = this.#queue.get(`${kind}\u0000${id}`)
    if (queued) {
      if (queued.row.deleted) return undefined
      const record = toRecord<D>({ step: 0, version: 0, ...queued.row })
      return hold ? hold(record) : record
    }
    const epoch = this.#epoch
    const [row] = await this.#backend.select(this.#table, { where: { kind, id, deleted: false }, limit: 1 })
    if (!row || !this.#current(epoch)) return undefined
    return hold ? hold(toRecord<D>(row)) : toRecord<D>(row)
  }

  /** Every live record of a kind, oldest first (for rebuilding the cache at start). */
  async load<D> (kind: string): Promise<Array<StoredRecord<D>>> {
    const out: Array<StoredRecord<D>> = []
    const page = 5_000
    for (let after = -1; ;) {
      const rows = await this.#backend.select(this.#table, { where: { kind, deleted: false, seq: { gt: after } }, orderBy: { column: 'seq' }, limit: page })
      for (const row of rows) out.push(toRecord<D>(row))
      if (rows.length < page) return out
      after = out[out.length - 1]!.seq
    }
  }

  /** Where sync() starts: call before load() at start, so nothing written between them is missed. */
  async markSync (): Promise<void> {
    const [row] = await this.#backend.select(this.#table, { orderBy: { column: 'updated_at', ascending: false }, limit: 1 })
    this.#syncCursor = row ? String(row.updated_at) : new Date(0).toISOString()
    const [marker] = await this.#backend.select(this.#table, { where: { kind: CLEARED, id: CLEARED } })
    this.#clearedSeq = marker ? Number(marker.seq) : 0
  }

  /**
   * The records other instances changed since the last sync (tombstones included), oldest change
   * first, and whether another instance cleared everything since (then `records` are the ones
   * written after the clear), handed to `apply`. Rows within SYNC_OVERLAP_MS of the cursor are read
   * again: applying one twice is harmless.
   *
   * `apply` runs in the same tick as the check that no clear of this instance began while the rows
   * were read, and not at all if one did: records handed back to the caller instead would reach it
   * a microtask later, after a reset that ran in between had emptied its memory, and bring back
   * what the reset forgot.
   *
   * A record this instance wrote since the sync began reading, or whose write still waits in its
   * queue, is left out: the row read is the one this instance's write replaces (or replaced),
   * older than what it holds, and applied it would stay in its memory (its own rows are not read
   * again). Such a row is read again next time (the cursor stops before it): if it was newer after
   * all (written by another instance just after this one's write), it arrives then.
   */
  async sync<D> (apply: (change: SyncChange<D>) => void): Promise<void> {
    if (this.#syncCursor === undefined) await this.markSync()
    const epoch = this.#epoch
    const from = new Date(Date.parse(this.#syncCursor!) - SYNC_OVERLAP_MS).toISOString()
    const written = new Set<string>()
    this.#syncs.add(written)
    let rows: Row[]
    try {
      rows = await this.#backend.select(this.#table, { where: { updated_at: { gte: from }, writer: { neq: this.writer } }, orderBy: { column: 'updated_at' }, limit: 10_000 })
    } finally {
      this.#syncs.delete(written)
    }
    // Read again next time: the rows after the clear's marker are news then.
    if (!this.#current(epoch)) return
    const skipped = (row: Row) => {
      const key = `${String(row.kind)}\u0000${String(row.id)}`
      return written.has(key) || this.#queue.has(key)
    }
    const firstSkipped = rows.find(skipped)
    const last = firstSkipped ?? rows[rows.length - 1]
    if (last && String(last.updated_at) > this.#syncCursor!) this.#syncCursor = String(last.updated_at)
    let records = rows.map(row => skipped(row) ? undefined : toRecord<D>(row)).filter(r => r !== undefined)
    const marker = records.findLastIndex(r => r.kind === CLEARED)
    const cleared = marker >= 0 && records[marker]!.seq > this.#clearedSeq
    if (cleared) this.#clearedSeq = records[marker]!.seq
    if (marker >= 0) records = records.slice(marker + 1)
    if (cleared) this.#dropWritesOfTheCleared(this.#clearedSeq)
    apply({ cleared, records })
    if (cleared) await this.#tombstoneWritesOfTheCleared(this.#clearedSeq)
  }

  /**
   * Another instance's reset, learnt of late: what this instance queued of records made before it
   * (a call it was driving takes its next step) is dropped unwritten.
   */
  #dropWritesOfTheCleared (clearedSeq: number): void {
    for (const [key, pending] of this.#queue) if (Number(pending.row.seq) < clearedSeq) this.#queue.delete(key)
  }

  /**
   * ...and what it wrote of them between the reset and now is marked deleted: a tombstone, so the
   * other instances drop the copies they may have read meanwhile. Without it a call this instance
   * was driving came back after the reset (its next step rewrote it) and stayed for good.
   */
  async #tombstoneWritesOfTheCleared (clearedSeq: number): Promise<void> {
    try {
      await this.#backend.update(this.#table, { writer: this.writer, deleted: false, seq: { lt: clearedSeq }, kind: { neq: CLEARED } }, { deleted: true, doc: null })
    } catch (err) {
      this.#logger?.warn({ err, table: this.#table }, 'emulator state: what this instance wrote after another instance\'s reset could not be marked deleted')
    }
  }

  /**
   * Whether another instance cleared everything since this one last looked (markSync() at start,
   * its own clear(), or this call): one read of the marker row. For an emulator that holds only
   * the records it drives and so needs no sync() of other instances' rows, only their resets.
   */
  async clearedElsewhere (): Promise<boolean> {
    const [marker] = await this.#backend.select(this.#table, { where: { kind: CLEARED, id: CLEARED } })
    const seq = marker ? Number(marker.seq) : 0
    if (seq <= this.#clearedSeq) return false
    this.#clearedSeq = seq
    this.#dropWritesOfTheCleared(seq)
    await this.#tombstoneWritesOfTheCleared(seq)
    return true
  }

  /**
   * Moves a record's lifecycle from step `from` to step `to` if no one did it first: across
   * instances exactly one claim of a step wins, so each lifecycle step is acted on (a webhook
   * posted) once. The record's queued write is stored first. The row's writer stays whoever wrote
   * its document: a claim does not write it, so this instance still syncs a document another
   * instance wrote before the claim.
   */
  async claim (kind: string, id: string, from: number, to: number, dueAt: number | null): Promise<boolean> {
    if (this.#queue.has(`${kind}\u0000${id}`)) await this.flush()
    return this.#claim({ kind, id, from_step: from, to_step: to, due_at: dueAt === null ? null : Math.ceil(dueAt) })
  }

  /**
   * Changes a record in the database at once, never over another instance's change: its document
   * is read from the database, `change` makes the new one from it (undefined: nothing to change),
   * and it is written only if nobody wrote it since the read (its version unchanged: every put,
   * remove and change moves it; a claim or an adoption does not, so a record's lifecycle step and
   * its document change independently), else read and changed again. For records several
   * instances change by turns (a payment request paid through one and read through another, a
   * Zoom meeting edited through one while another ends it): put() writes a whole document behind
   * the answer, so a copy held a moment too long would undo the other instance's change. The
   * record's queued write is stored first. Answers the document as stored after the change (or
   * unchanged) and whether this call changed it; undefined when there is no such record. Changes
   * after the record's creation must all be made this way: put() writes whatever it is given.
   */
  async change<D> (kind: string, id: string, change: (doc: D) => D | undefined): Promise<{ doc: D, seq: number, changed: boolean } | undefined> {
    return await this.#writeUnchanged<D, { doc: D, seq: number, changed: boolean }>(kind, id, stored => {
      const next = change(structuredClone(stored.doc))
      if (next === undefined) return { done: { doc: stored.doc, seq: stored.seq, changed: false } }
      return { write: { doc: next, version: stored.version + 1, writer: this.writer }, done: { doc: next, seq: stored.seq, changed: true } }
    })
  }

  /**
   * Removes a record only if `allowed` says so of the record as stored, and only if nobody wrote it
   * since the read (as change() does): a removal decided on a copy held a moment too long (a Zoom
   * meeting another instance started meanwhile) would otherwise go through. Answers 'removed',
   * 'refused' (allowed said no), or undefined when there is no such record.
   */
  async removeIf<D> (kind: string, id: string, allowed: (stored: StoredRecord<D>) => boolean): Promise<'removed' | 'refused' | undefined> {
    return await this.#writeUnchanged<D, 'removed' | 'refused'>(kind, id, stored => allowed(stored)
      ? { write: { doc: null, deleted: true, due_at: null, version: stored.version + 1, writer: this.writer }, done: 'removed' }
      : { done: 'refused' })
  }

  /**
   * Reads the record from the database, lets `decide` say what to write, and writes it only if the
   * record's version is still the one read; else reads and decides again.
   */
  async #writeUnchanged<D, R> (kind: string, id: string, decide: (stored: StoredRecord<D>) => { write?: Row, done: R }): Promise<R | undefined> {
    if (this.#queue.has(`${kind}\u0000${id}`)) await this.flush()
    for (let attempt = 0; attempt < 100; attempt++) {
      const epoch = this.#epoch
      const [row] = await this.#backend.select(this.#table, { where: { kind, id, deleted: false }, limit: 1 })
      if (!row || !this.#current(epoch)) return undefined
      const stored = toRecord<D>(row)
      const { write, done } = decide(stored)
      if (write === undefined) return done
      if (await this.#backend.update(this.#table, { kind, id, version: stored.version, deleted: false }, write) > 0) {
        this.#wrote(`${kind}\u0000${id}`)
        return done
      }
    }
    throw new Error(`emulator state: ${kind} ${id} kept changing under 100 attempts to change it`)
  }

  // Claims made together are one statement (every meeting or call whose step falls due in a tick
  // claims it); two claims of one record never share a batch, so the second sees the first's step.
  readonly #claim = batcher<Claim, boolean>(async claims => {
    const moved = await this.#backend.rpc<Array<[string, string]> | null>('emulator_state_claim', { p_table: this.#table, p_claims: claims })
    const won = new Set((moved ?? []).map(([kind, id]) => `${kind}\u0000${id}`))
    return claims.map(c => won.has(`${c.kind}\u0000${c.id}`))
  }, { key: c => `${c.kind}\u0000${c.id}` })

  /**
   * Records whose next step was due before `before` (epoch ms) and is still not taken: the instance
   * driving them stopped. adopt() takes one over.
   */
  async overdue<D> (kind: string, before: number): Promise<Array<StoredRecord<D>>> {
    await this.flush()
    const epoch = this.#epoch
    const rows = await this.#backend.select(this.#table, { where: { kind, deleted: false, due_at: { lt: Math.floor(before) } }, orderBy: { column: 'due_at' }, limit: 1_000 })
    return this.#current(epoch) ? rows.map(row => toRecord<D>(row)) : []
  }

  /**
   * Records left without a driver: due on the emulators' clock (`clockNow`, what due_at is written
   * in) and not taken for at least `graceMs` of real time. adopt() takes one over.
   *
   * The grace is real time because a test clock moves apart from it: set an hour back, every live
   * record read an hour overdue by the clock, and another instance took over calls their own
   * instance was still playing (each status posted twice); moved a day ahead, a stopped instance's
   * records waited a day of real time. A record is first seen due here: on a clock that reads
   * real time (within a second) it has been due for what the clock says; on a moved one, from
   * now. Seen due again with the same due_at once the grace has passed, it is abandoned: its
   * driver would have written its next step by then.
   */
  async abandoned<D> (kind: string, clockNow: number, graceMs: number): Promise<Array<StoredRecord<D>>> {
    const due = await this.overdue<D>(kind, clockNow)
    const realNow = Date.now()
    const clockIsReal = Math.abs(clockNow - realNow) < 1_000
    const seen = this.#dueSince.get(kind)
    const next = new Map<string, { dueAt: number, since: number }>()
    const abandoned: Array<StoredRecord<D>> = []
    for (const record of due) {
      if (record.dueAt === null) continue
      const before = seen?.get(record.id)
      const since = before !== undefined && before.dueAt === record.dueAt
        ? before.since
        : clockIsReal ? realNow - (clockNow - record.dueAt) : realNow
      next.set(record.id, { dueAt: record.dueAt, since })
      if (realNow - since >= graceMs) abandoned.push(record)
    }
    this.#dueSince.set(kind, next)
    return abandoned
  }

  /**
   * Takes over a record found overdue (its due_at unchanged since): true for exactly one instance,
   * which starts driving it in `drive`, in the same tick as the check that no clear began meanwhile
   * (see sync()).
   */
  async adopt (kind: string, id: string, dueAt: number, drive: () => void = () => {}): Promise<boolean> {
    const epoch = this.#epoch
    const taken = await this.#backend.update(this.#table, { kind, id, due_at: dueAt, deleted: false }, { due_at: null, writer: this.writer }) > 0
    if (taken) this.#wrote(`${kind}\u0000${id}`)
    // Taken just before this instance's own clear deleted it: there is nothing left to drive.
    if (!taken || !this.#current(epoch)) return false
    drive()
    return true
  }

  /**
   * Applies the retention: past `retention[kind]` live records the oldest are deleted, and
   * tombstones older than tombstoneMs go. Returns how many rows were deleted.
   */
  async prune (): Promise<number> {
    await this.flush()
    let deleted = 0
    for (const [kind, max] of Object.entries(this.#retention)) {
      const [edge] = await this.#backend.select(this.#table, { where: { kind, deleted: false }, orderBy: { column: 'seq', ascending: false }, offset: max, limit: 1 })
      if (edge) deleted += await this.#backend.delete(this.#table, { kind, seq: { lte: Number(edge.seq) } })
    }
    deleted += await this.#backend.delete(this.#table, { deleted: true, updated_at: { lt: new Date(Date.now() - this.#tombstoneMs).toISOString() } })
    return deleted
  }

  /** Applies the retention now and every intervalMs (unref'd: it never holds the process open). */
  startRetention (intervalMs: number): void {
    clearInterval(this.#retentionTimer)
    const prune = () => { this.prune().catch(err => this.#logger?.warn({ err, table: this.#table }, 'emulator state: retention failed')) }
    prune()
    this.#retentionTimer = setInterval(prune, intervalMs)
    this.#retentionTimer.unref()
  }

  /**
   * Forgets every record (the emulator's reset): the queue and the table. A marker row tells other
   * instances (their sync) to drop their cached records too. Returns how many live records went.
   */
  async clear (): Promise<number> {
    this.#epoch++
    this.#clearing++
    try {
      // What is queued is stored first: a removal still queued would otherwise count as live.
      await this.flush().catch((err: unknown) => this.#logger?.warn({ err, table: this.#table }, 'emulator state: queued records not stored before a clear'))
      this.#queue.clear()
      clearTimeout(this.#timer)
      this.#timer = undefined
      await this.#flushing
      const live = await this.#backend.count(this.#table, { deleted: false, kind: { neq: CLEARED } })
      await this.#backend.delete(this.#table, { kind: { neq: '' } })
      this.#clearedSeq = nextSeq()
      await this.#backend.upsert(this.#table, [{ kind: CLEARED, id: CLEARED, seq: this.#clearedSeq, deleted: false, writer: this.writer, doc: null }], ['kind', 'id'])
      return live
    } finally {
      this.#clearing--
      this.#epoch++
    }
  }

  /**
   * Whether a read that began at `epoch` may be applied: no clear began or ended since, and none is
   * under way. (A read begun during a clear, before its delete, would otherwise pass both checks.)
   */
  #current (epoch: number): boolean {
    return epoch === this.#epoch && this.#clearing === 0
  }

  /** Stores what is queued (bounded by timeoutMs; what is left is logged) and stops. */
  async close (timeoutMs = 5_000): Promise<void> {
    try {
      await this.flush(timeoutMs)
    } catch (err) {
      this.#logger?.warn({ err, table: this.#table, lost: this.#queue.size }, 'emulator state: records not stored at shutdown')
    }
    this.#closed = true
    clearTimeout(this.#timer)
    clearInterval(this.#retentionTimer)
  }
}

function toRecord<D> (row: Row): StoredRecord<D> {
  return {
    kind: String(row.kind),
    id: String(row.id),
    seq: Number(row.seq),
    step: Number(row.step ?? 0),
    version: Number(row.version ?? 0),
    dueAt: row.due_at === null || row.due_at === undefined ? null : Number(row.due_at),
    deleted: row.deleted === true,
    writer: String(row.writer ?? ''),
    doc: row.doc as D
  }
}
