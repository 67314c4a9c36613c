import type { ClockTimer, TimerClock } from '@switchboard/service-kit/clock'
import { newMeetingId, newMeetingUuid } from './ids.ts'
import type { MeetingFields } from './validate.ts'

export type MeetingStatus = 'waiting' | 'started' | 'ended'
/** Zoom's two ways of deleting a meeting's recordings: to the trash (restorable there), or for good. */
export type RecordingsRemoved = 'trash' | 'delete'
export type LifecycleEvent = 'meeting.started' | 'meeting.ended' | 'recording.completed'
const STAGE_OF: Record<LifecycleEvent, number> = { 'meeting.started': 1, 'meeting.ended': 2, 'recording.completed': 3 }

/** Fields a meeting keeps only when the caller set them (most meetings set none). */
export interface MeetingExtra {
  settings?: Record<string, unknown>
  recurrence?: Record<string, unknown>
  trackingFields?: Array<{ field: string, value: string }>
  preSchedule?: boolean
}

/**
 * One meeting, kept compact: a fixed set of fields (one hidden class), numbers for times, and
 * nothing derivable stored (passcodes, URLs, file ids and sizes are computed when read).
 */
export class MeetingRecord {
  readonly id: number
  readonly uuid: string
  readonly seq: number
  readonly createdMs: number
  topic: string
  type: 1 | 2 | 3 | 8
  /** Scheduled start, epoch ms; NaN for a recurring meeting with no fixed time (type 3). */
  startMs: number
  /** Minutes. */
  duration: number
  timezone: string
  agenda: string
  /** Set by the caller; undefined means the generated one. */
  password: string | undefined
  extra: MeetingExtra | undefined
  /** Real (wall-clock) ms at which it started / ended, once known; 0 before. */
  startedReal = 0
  endedReal = 0
  /** Its cloud recordings moved to the trash or deleted for good (DELETE …/recordings); undefined: kept. */
  recordings: RecordingsRemoved | undefined = undefined
  /** Which lifecycle webhooks were sent: 0 none, 1 started, 2 ended, 3 recording completed. */
  stage = 0
  /** Due time of this meeting's live entry in the scheduler (older entries are stale). */
  due = 0
  /** The stage the database holds (a claim moves it on; see MeetingPersistence.claim). */
  claimed = 0
  /** The claims of this meeting's lifecycle steps, one after the other. */
  claiming: Promise<void> | undefined = undefined
  deleted = false

  constructor (id: number, uuid: string, seq: number, createdMs: number, f: Required<Pick<MeetingFields, 'topic' | 'type' | 'duration' | 'timezone'>> & MeetingFields) {
    this.id = id
    this.uuid = uuid
    this.seq = seq
    this.createdMs = createdMs
    this.topic = f.topic
    this.type = f.type
    this.startMs = f.type === 3 ? Number.NaN : (f.startMs ?? createdMs)
    this.duration = f.duration
    this.timezone = f.timezone
    this.agenda = f.agenda ?? ''
    this.password = f.password
    this.extra = undefined
    this.setExtra(f)
  }

  /** What the database keeps: the fields, not the derived state or the scheduler's. */
  toDoc (): MeetingDoc {
    return {
      uuid: this.uuid,
      createdMs: this.createdMs,
      topic: this.topic,
      type: this.type,
      startMs: Number.isNaN(this.startMs) ? null : this.startMs,
      duration: this.duration,
      timezone: this.timezone,
      agenda: this.agenda,
      password: this.password ?? null,
      extra: this.extra ?? null,
      startedReal: this.startedReal,
      endedReal: this.endedReal,
      ...(this.recordings === undefined ? {} : { recordings: this.recordings })
    }
  }

  static fromDoc (id: number, seq: number, doc: MeetingDoc): MeetingRecord {
    const m = new MeetingRecord(id, doc.uuid, seq, doc.createdMs, { topic: doc.topic, type: doc.type, duration: doc.duration, timezone: doc.timezone })
    m.assign(doc)
    return m
  }

  /** Takes a stored document's fields (a record another instance changed). */
  assign (doc: MeetingDoc): void {
    this.topic = doc.topic
    this.type = doc.type
    this.startMs = doc.startMs ?? Number.NaN
    this.duration = doc.duration
    this.timezone = doc.timezone
    this.agenda = doc.agenda
    this.password = doc.password ?? undefined
    this.extra = doc.extra ?? undefined
    this.startedReal = doc.startedReal
    this.endedReal = doc.endedReal
    this.recordings = doc.recordings
  }

  setExtra (f: MeetingFields): void {
    if (f.settings === undefined && f.recurrence === undefined && f.trackingFields === undefined && f.preSchedule === undefined) return
    const extra = this.extra ?? {}
    if (f.settings !== undefined) extra.settings = { ...extra.settings, ...f.settings }
    if (f.recurrence !== undefined) extra.recurrence = f.recurrence
    if (f.trackingFields !== undefined) extra.trackingFields = f.trackingFields
    if (f.preSchedule !== undefined) extra.preSchedule = f.preSchedule
    this.extra = extra
  }
}

/** A meeting as the database keeps it (JSON: a NaN start is null). */
export interface MeetingDoc {
  uuid: string
  createdMs: number
  topic: string
  type: 1 | 2 | 3 | 8
  startMs: number | null
  duration: number
  timezone: string
  agenda: string
  password: string | null
  extra: MeetingExtra | null
  startedReal: number
  endedReal: number
  /** Absent while the recordings are kept (and in documents stored before recordings could be removed). */
  recordings?: RecordingsRemoved
}

/**
 * Where the store keeps its meetings beyond memory (apps/zoom/src/emulator/persist.ts): every
 * change is handed over as it happens (written behind the answer), and each lifecycle step is
 * claimed before its webhook goes, so of every instance on one database exactly one posts it.
 */
export interface MeetingPersistence {
  saved: (m: MeetingRecord, dueAt: number | null) => void
  removed: (m: MeetingRecord) => void
  /** Moves the stored stage from m.claimed to `to`; false when another instance did it first. */
  claim: (m: MeetingRecord, to: number, dueAt: number | null) => Promise<boolean>
  /** The stored stage, after a lost claim. */
  storedStage: (m: MeetingRecord) => Promise<number | undefined>
  /**
   * Changes the stored meeting, never over another instance's change: `edit` changes a copy of
   * the meeting as stored (false: nothing to change), maybe more than once. Answers the stored
   * document afterwards; undefined when the database holds no such meeting.
   */
  change?: (m: MeetingRecord, edit: (stored: MeetingRecord) => boolean) => Promise<MeetingDoc | undefined>
  /**
   * Removes the stored meeting if `allowed` says so of it as stored, never over another
   * instance's change; undefined when the database holds no such meeting.
   */
  removeIf?: (m: MeetingRecord, allowed: (stored: MeetingRecord) => boolean) => Promise<'removed' | 'refused' | undefined>
}

export interface MeetingStoreOptions {
  /** Meeting seconds per real second: 60 plays a 30-minute meeting in 30 s. */
  timeScale: number
  /** Real ms between a meeting's end and its recordings being ready. */
  recordingDelayMs: number
  /** Ended meetings are dropped this long (real ms) after they ended. */
  retentionMs: number
  maxMeetings: number
  /**
   * Called when a meeting reaches a lifecycle step (to post the webhook). Without it the store
   * keeps no schedule at all (nothing would listen); statuses are computed from times either way.
   */
  /** `at`: when the step happened on the meeting's clock (its start, its end, its recording's readiness), never later than now. */
  onLifecycle?: (meeting: MeetingRecord, event: LifecycleEvent, at: number) => void
  /** False while webhook deliveries are backed up: due steps then wait (they are not dropped). */
  canEmit?: () => boolean
  /** Whether a meeting makes cloud recordings when it ends. */
  records?: (meeting: MeetingRecord) => boolean
  persistence?: MeetingPersistence
  /** A failed claim or store write, for the log. */
  onError?: (err: unknown, m: MeetingRecord) => void
  now?: () => number
  /** The emulators' clock (the test clock): what now() reads and what wakes the scheduler. Wins over now. */
  clock?: TimerClock
}

/**
 * The emulator's meetings, in memory, and their clock. A meeting's status is computed from its
 * times whenever it is read; one timer, set for the earliest due step in a min-heap, posts the
 * lifecycle webhooks; a sweep drops meetings that ended longer ago than the retention.
 */
export class MeetingStore {
  readonly #byId = new Map<number, MeetingRecord>()
  readonly #opts: MeetingStoreOptions
  readonly #now: () => number
  #onLifecycle: MeetingStoreOptions['onLifecycle']
  #seq = 0
  // The scheduler: a binary min-heap in two parallel arrays (no tuple per entry).
  #dues: number[] = []
  #recs: MeetingRecord[] = []
  #timer: ClockTimer | undefined
  #timerAt = Number.POSITIVE_INFINITY
  #sweeper: NodeJS.Timeout | undefined
  #closed = false
  #claims = 0

  constructor (opts: MeetingStoreOptions) {
    if (!(opts.timeScale > 0)) throw new Error('timeScale must be positive')
    this.#opts = opts
    const clock = opts.clock
    this.#now = clock ? () => clock.now() : opts.now ?? Date.now
    this.#onLifecycle = opts.onLifecycle
  }

  /**
   * Starts calling onLifecycle for a store made without one (an event subscription added later):
   * steps already past are not replayed, every later one is (what Zoom does for a new subscription).
   * One pass over the meetings, once.
   */
  startLifecycle (onLifecycle: NonNullable<MeetingStoreOptions['onLifecycle']>): void {
    if (this.#onLifecycle) return
    this.#onLifecycle = onLifecycle
    const now = this.#now()
    for (const m of this.#byId.values()) {
      this.#pin(m, now)
      const status = this.status(m, now)
      m.stage = status === 'waiting' ? 0 : status === 'started' ? 1 : this.recordingsReady(m, now) ? 3 : 2
      m.due = 0
      this.#schedule(m)
    }
  }

  get size (): number { return this.#byId.size }
  get scheduled (): number { return this.#dues.length }
  /** Webhooks waiting for their lifecycle step's claim in the database (they go once claimed). */
  get claimsInFlight (): number { return this.#claims }
  get timeScale (): number { return this.#opts.timeScale }

  /** Starts the retention sweep (unref'd: it never holds the process open). */
  startSweeper (intervalMs: number): void {
    clearInterval(this.#sweeper)
    this.#sweeper = setInterval(() => this.sweep(), intervalMs)
    this.#sweeper.unref()
  }

  close (): void {
    this.#closed = true
    clearInterval(this.#sweeper)
    this.#timer?.cancel()
  }

  get (id: number): MeetingRecord | undefined { return this.#byId.get(id) }

  byUuid (uuid: string): MeetingRecord | undefined {
    for (const m of this.#byId.values()) if (m.uuid === uuid) return m
    return undefined
  }

  get full (): boolean { return this.#byId.size >= this.#opts.maxMeetings }

  create (fields: Required<Pick<MeetingFields, 'topic' | 'type' | 'duration' | 'timezone'>> & MeetingFields, seq = ++this.#seq): MeetingRecord {
    const id = newMeetingId(n => this.#byId.has(n))
    const m = new MeetingRecord(id, newMeetingUuid(), seq, this.#now(), fields)
    this.#byId.set(id, m)
    this.#schedule(m)
    this.#save(m)
    return m
  }

  /**
   * Takes a meeting as the database holds it (loaded at start, read on a cache miss, or changed by
   * another instance): a new one joins the store, a known one takes the stored fields, and its
   * next lifecycle step is (re)scheduled from the stored stage.
   */
  hydrate (id: number, seq: number, stage: number, doc: MeetingDoc): MeetingRecord {
    let m = this.#byId.get(id)
    if (m === undefined) {
      m = MeetingRecord.fromDoc(id, seq, doc)
      this.#byId.set(id, m)
      if (seq > this.#seq) this.#seq = seq
    } else {
      m.assign(doc)
    }
    m.claimed = Math.max(m.claimed, stage)
    m.stage = Math.max(m.stage, stage)
    m.due = 0
    this.#schedule(m)
    return m
  }

  /** Drops a meeting another instance deleted. */
  forget (id: number): void {
    const m = this.#byId.get(id)
    if (!m) return
    m.deleted = true
    this.#byId.delete(id)
  }

  /**
   * Changes a meeting's fields (PATCH). With a database, on its stored copy (see #change). False
   * when the meeting is gone (deleted through another instance).
   */
  async update (m: MeetingRecord, f: MeetingFields): Promise<boolean> {
    const now = this.#now()
    return await this.#change(m, stored => { this.#apply(stored, f, now); return true })
  }

  #apply (m: MeetingRecord, f: MeetingFields, now: number): void {
    this.#pin(m, now)
    if (f.topic !== undefined) m.topic = f.topic
    if (f.type !== undefined) {
      m.type = f.type
      if (f.type === 3 && !m.startedReal) m.startMs = Number.NaN
      else if (Number.isNaN(m.startMs)) m.startMs = now
    }
    if (f.startMs !== undefined && m.type !== 3) m.startMs = f.startMs
    if (f.duration !== undefined) m.duration = f.duration
    if (f.timezone !== undefined) m.timezone = f.timezone
    if (f.agenda !== undefined) m.agenda = f.agenda
    if (f.password !== undefined) m.password = f.password
    m.setExtra(f)
  }

  /**
   * Makes a change to a meeting. In memory only: on the meeting, then stored (put). With a
   * database that changes records in place: on the database's copy, never over another
   * instance's change (a PATCH through an instance that held the meeting a moment too long put
   * back its older copy: another instance's rename undone, an ended meeting waiting again), and
   * what is stored then is what this instance holds. False when the database no longer holds it.
   * In memory only, the change is made before this returns (a promise only with the database).
   */
  #change (m: MeetingRecord, edit: (stored: MeetingRecord) => boolean): boolean | Promise<boolean> {
    const persistence = this.#opts.persistence
    if (!persistence?.change) {
      if (!edit(m)) return true
      this.#schedule(m)
      this.#save(m)
      return true
    }
    return persistence.change(m, edit).then(doc => {
      if (doc === undefined) {
        this.forget(m.id)
        return false
      }
      if (m.deleted) return false
      m.assign(doc)
      this.#schedule(m)
      return true
    })
  }

  /**
   * Deletes a meeting unless it is in progress (DELETE …/meetings/{id}). With a database that
   * changes records in place, decided on the stored copy (see #change): a meeting another instance
   * started or moved meanwhile is judged as it is now, and one it deleted is 'missing'.
   */
  async delete (m: MeetingRecord): Promise<'deleted' | 'in_progress' | 'missing'> {
    const inProgress = (stored: MeetingRecord) => this.status(stored) === 'started'
    const persistence = this.#opts.persistence
    if (persistence?.removeIf) {
      const outcome = await persistence.removeIf(m, stored => !inProgress(stored))
      if (outcome === undefined) {
        this.forget(m.id)
        return 'missing'
      }
      if (outcome === 'refused') return 'in_progress'
    } else if (inProgress(m)) {
      return 'in_progress'
    }
    m.deleted = true
    this.#byId.delete(m.id)
    if (!persistence?.removeIf) persistence?.removed(m)
    return 'deleted'
  }

  clear (): number {
    const n = this.#byId.size
    for (const m of this.#byId.values()) m.deleted = true
    this.#byId.clear()
    this.#dues = []
    this.#recs = []
    return n
  }

  /**
   * Ends a meeting now (PUT …/status {"action":"end"}). A waiting meeting starts and ends at once.
   * False when the meeting is gone (see update()).
   */
  async end (m: MeetingRecord): Promise<boolean> {
    const now = this.#now()
    const changing = this.#change(m, stored => {
      if (this.status(stored, now) === 'ended') return false
      this.#pin(stored, now)
      if (!stored.startedReal) stored.startedReal = now
      stored.endedReal = now
      return true
    })
    const there = typeof changing === 'boolean' ? changing : await changing
    this.#run()
    return there
  }

  /**
   * Moves a meeting's cloud recordings to the trash or deletes them for good (DELETE
   * …/meetings/{id}/recordings?action=). Trashed recordings can still be deleted for good; anything
   * else without recordings to act on is 'missing' (Zoom's 3301). With a database, decided on the
   * stored copy (see #change).
   */
  async removeRecordings (m: MeetingRecord, action: RecordingsRemoved): Promise<'removed' | 'missing'> {
    const now = this.#now()
    let removed = false
    const changing = this.#change(m, stored => {
      removed = this.recordingsReady(stored, now) && stored.recordings !== 'delete' && stored.recordings !== action
      if (removed) stored.recordings = action
      return removed
    })
    const there = typeof changing === 'boolean' ? changing : await changing
    return there && removed ? 'removed' : 'missing'
  }

  /** The recordings GET …/recordings and the downloads serve: ready, and neither trashed nor deleted. */
  recordingsKept (m: MeetingRecord, now = this.#now()): boolean {
    return m.recordings === undefined && this.recordingsReady(m, now)
  }

  // ---- the meeting clock -------------------------------------------------------------------

  startReal (m: MeetingRecord): number {
    if (m.startedReal) return m.startedReal
    if (Number.isNaN(m.startMs)) return Number.POSITIVE_INFINITY
    return m.createdMs + Math.max(0, m.startMs - m.createdMs) / this.#opts.timeScale
  }

  endReal (m: MeetingRecord): number {
    if (m.endedReal) return m.endedReal
    return this.startReal(m) + (m.duration * 60_000) / this.#opts.timeScale
  }

  recordingReadyReal (m: MeetingRecord): number {
    return this.endReal(m) + this.#opts.recordingDelayMs
  }

  status (m: MeetingRecord, now = this.#now()): MeetingStatus {
    if (now >= this.endReal(m)) return 'ended'
    if (now >= this.startReal(m)) return 'started'
    return 'waiting'
  }

  /** True once the meeting ended and its cloud recordings are processed. */
  recordingsReady (m: MeetingRecord, now = this.#now()): boolean {
    return this.records(m) && this.status(m, now) === 'ended' && now >= this.recordingReadyReal(m)
  }

  records (m: MeetingRecord): boolean {
    return this.#opts.records ? this.#opts.records(m) : true
  }

  /** A real instant as meeting time: the meeting's clock runs timeScale times faster from its creation. */
  virtual (m: MeetingRecord, real: number): number {
    return m.createdMs + (real - m.createdMs) * this.#opts.timeScale
  }

  /** Meetings in creation order, after the cursor (a seq), that pass the filter. */
  * list (filter: (m: MeetingRecord) => boolean, afterSeq = 0): Generator<MeetingRecord> {
    for (const m of this.#byId.values()) if (m.seq > afterSeq && filter(m)) yield m
  }

  count (filter: (m: MeetingRecord) => boolean): number {
    let n = 0
    for (const m of this.#byId.values()) if (filter(m)) n++
    return n
  }

  /** Drops meetings that ended longer ago than the retention; returns how many. */
  sweep (now = this.#now()): number {
    let dropped = 0
    for (const m of this.#byId.values()) {
      if (this.endReal(m) + this.#opts.retentionMs <= now) {
        m.deleted = true
        this.#byId.delete(m.id)
        this.#opts.persistence?.removed(m)
        dropped++
      }
    }
    this.#compact()
    return dropped
  }

  // ---- the scheduler -----------------------------------------------------------------------

  /** Fixes a started/ended meeting's real start and end so later edits cannot rewrite its past. */
  #pin (m: MeetingRecord, now: number): void {
    const status = this.status(m, now)
    if (status !== 'waiting' && !m.startedReal) m.startedReal = this.startReal(m)
    if (status === 'ended' && !m.endedReal) m.endedReal = this.endReal(m)
  }

  #nextDue (m: MeetingRecord): number {
    if (m.stage === 0) return this.startReal(m)
    if (m.stage === 1) return this.endReal(m)
    if (m.stage === 2 && this.records(m)) return this.recordingReadyReal(m)
    return Number.POSITIVE_INFINITY
  }

  #save (m: MeetingRecord): void {
    if (!this.#opts.persistence) return
    const due = this.#onLifecycle ? this.#nextDue(m) : Number.POSITIVE_INFINITY
    this.#opts.persistence.saved(m, Number.isFinite(due) ? due : null)
  }

  #schedule (m: MeetingRecord): void {
    if (this.#closed || m.deleted || !this.#onLifecycle) return
    const due = this.#nextDue(m)
    if (due === m.due && m.due !== 0) return
    m.due = due
    if (!Number.isFinite(due)) return
    this.#push(due, m)
    if (due < this.#timerAt) this.#arm(due)
  }

  #advance (m: MeetingRecord, now: number): void {
    const events: LifecycleEvent[] = []
    this.#pin(m, now)
    // Each step at its own instant: an advance of the test clock past a meeting's start and end
    // fires at each of them, but a step that waits on the database is emitted after the advance.
    const at = (event: LifecycleEvent) => Math.min(now, event === 'meeting.started' ? this.startReal(m) : event === 'meeting.ended' ? this.endReal(m) : this.recordingReadyReal(m))
    const status = this.status(m, now)
    if (m.stage < 1 && status !== 'waiting') { m.stage = 1; events.push('meeting.started') }
    if (m.stage < 2 && status === 'ended') { m.stage = 2; events.push('meeting.ended') }
    if (m.stage === 2 && this.recordingsReady(m, now)) { m.stage = 3; events.push('recording.completed') }
    m.due = 0
    this.#schedule(m)
    const persistence = this.#opts.persistence
    const stamped = events.map(event => [event, at(event)] as const)
    if (!persistence || m.stage === m.claimed) {
      for (const [event, when] of stamped) this.#onLifecycle!(m, event, when)
      return
    }
    // The webhooks go only if this instance moved the stored stage on (at most once per step),
    // one claim at a time per meeting so each starts from the stage the last one left.
    const to = m.stage
    const due = Number.isFinite(m.due) && m.due !== 0 ? m.due : null
    this.#claims += events.length
    m.claiming = (m.claiming ?? Promise.resolve()).then(async () => {
      for (let attempt = 0; attempt < 2 && m.claimed < to; attempt++) {
        const from = m.claimed
        let won = await persistence.claim(m, to, due)
        if (!won) {
          // Another instance moved it on: claim what is left, if anything. A meeting the database
          // does not hold (its write refused) is this instance's alone: its steps go from here.
          const stored = await persistence.storedStage(m)
          if (stored !== undefined) {
            m.claimed = Math.max(m.claimed, stored)
            continue
          }
          won = true
        }
        m.claimed = to
        if (!m.deleted) for (const [event, when] of stamped) if (STAGE_OF[event] > from) this.#onLifecycle!(m, event, when)
        return
      }
    }).catch(err => this.#opts.onError?.(err, m)).finally(() => { this.#claims -= events.length })
  }

  #run (): void {
    this.#timer?.cancel()
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
    if (this.#closed) return
    const now = this.#now()
    while (this.#dues.length && this.#dues[0]! <= now) {
      if (this.#opts.canEmit && !this.#opts.canEmit()) {
        // Waiting for room is real time whatever the clock reads (a frozen clock must not stall it).
        this.#timerAt = now
        const t = setTimeout(() => this.#run(), 25)
        t.unref()
        this.#timer = { cancel: () => clearTimeout(t) }
        return
      }
      const [due, m] = this.#pop()
      if (m.deleted || m.due !== due) continue
      this.#advance(m, now)
    }
    if (this.#dues.length) this.#arm(this.#dues[0]!)
  }

  #arm (at: number): void {
    this.#timer?.cancel()
    this.#timerAt = at
    if (this.#opts.clock) {
      this.#timer = this.#opts.clock.at(at, () => this.#run())
      return
    }
    // setTimeout takes at most 2^31-1 ms; a later step is re-armed when that fires.
    const delay = Math.min(Math.max(0, at - this.#now()), 2_147_000_000)
    const t = setTimeout(() => this.#run(), delay)
    t.unref()
    this.#timer = { cancel: () => clearTimeout(t) }
  }

  /** Rebuilds the heap without stale entries once they outnumber live ones. */
  #compact (): void {
    if (this.#dues.length <= 2 * this.#byId.size + 1024) return
    const live: Array<[number, MeetingRecord]> = []
    for (let i = 0; i < this.#dues.length; i++) {
      const m = this.#recs[i]!
      if (!m.deleted && m.due === this.#dues[i]) live.push([this.#dues[i]!, m])
    }
    this.#dues = []
    this.#recs = []
    for (const [due, m] of live) this.#push(due, m)
  }

  #push (due: number, m: MeetingRecord): void {
    const d = this.#dues
    const r = this.#recs
    let i = d.length
    d.push(due)
    r.push(m)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (d[parent]! <= due) break
      d[i] = d[parent]!
      r[i] = r[parent]!
      i = parent
    }
    d[i] = due
    r[i] = m
  }

  #pop (): [number, MeetingRecord] {
    const d = this.#dues
    const r = this.#recs
    const top: [number, MeetingRecord] = [d[0]!, r[0]!]
    const lastDue = d.pop()!
    const lastRec = r.pop()!
    if (d.length) {
      let i = 0
      const n = d.length
      for (;;) {
        const left = 2 * i + 1
        if (left >= n) break
        const right = left + 1
        const child = right < n && d[right]! < d[left]! ? right : left
        if (d[child]! >= lastDue) break
        d[i] = d[child]!
        r[i] = r[child]!
        i = child
      }
      d[i] = lastDue
      r[i] = lastRec
    }
    return top
  }
}
