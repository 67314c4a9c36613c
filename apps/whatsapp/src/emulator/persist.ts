import { nextSeq, type EmulatorState } from '@switchboard/activity-log'
import { systemClock, type Clock } from '@switchboard/service-kit/clock'
import type { MessageStatus } from '../aisensy-webhooks.ts'

/** One notification of a message's life: a status change, or the customer's reply (magic number). */
export type LifeStep = { kind: 'status', status: MessageStatus, at: number } | { kind: 'reply', at: number }

/**
 * A submitted message whose notifications are not all posted yet: what they need (the number, the
 * name, the campaign), each one with its time, and how many are posted (`next`).
 */
export interface MessageLife {
  id: string
  seq: number
  phone: string
  userName: string
  campaignName: string
  steps: LifeStep[]
  next: number
}

const MESSAGE = 'message'
const PROJECT = 'project'

/**
 * The AiSensy emulator's state in the database (table aisensy_emulator_state, through the shared
 * EmulatorState): each message with notifications still due, stored when it is accepted and again
 * after each post with the time of its next one, removed after its last; and the emulated project's
 * id. The instance that accepted a message posts its notifications. One whose next notification is
 * due and not taken for `graceMs` has no live driver (its instance stopped or was killed): one
 * instance adopts it (an exclusive update of its due_at) and posts the rest. Nothing else is read back: no AiSensy API
 * reads a message's status, so instances hold only the messages they drive.
 */
export class AiSensyPersistence {
  readonly #db: EmulatorState
  #timer: NodeJS.Timeout | undefined
  #busy: Promise<void> | undefined

  /** The emulators' clock, which due times are written in. */
  readonly #clock: Clock

  constructor (db: EmulatorState, clock: Clock = systemClock) {
    this.#db = db
    this.#clock = clock
  }

  get state (): EmulatorState { return this.#db }

  /** The stored project id, or `fresh` stored as it (the first instance to start picks it). */
  async projectId (fresh: string): Promise<string> {
    const stored = await this.#db.get<{ id: string }>(PROJECT, PROJECT)
    if (stored) return stored.doc.id
    this.saveProject(fresh)
    await this.#db.flush()
    // Two instances starting together on a new database: the last write is everyone's from now on.
    return (await this.#db.get<{ id: string }>(PROJECT, PROJECT))?.doc.id ?? fresh
  }

  saveProject (id: string): void {
    this.#db.put(PROJECT, PROJECT, { id }, { seq: 0 })
  }

  newSeq (): number { return nextSeq() }

  /** The message as it stands: its next notification due at steps[next].at, or gone after its last. */
  saved (life: MessageLife): void {
    const step = life.steps[life.next]
    if (step === undefined) this.#db.remove(MESSAGE, life.id, life.seq)
    else this.#db.put(MESSAGE, life.id, life, { seq: life.seq, dueAt: step.at })
  }

  /** A message this instance stops driving without posting the rest (another instance's reset). */
  dropped (life: MessageLife): void {
    this.#db.remove(MESSAGE, life.id, life.seq)
  }

  /**
   * Every intervalMs: whether another instance reset the emulator (`cleared` is called), then the
   * messages left without a driver, each handed to `adopt` once this instance has taken it over.
   * `driving` tells the messages this instance posts itself (overdue only because it runs late).
   */
  start (opts: { intervalMs: number, graceMs: number, driving: (id: string) => boolean, adopt: (life: MessageLife) => void, cleared: () => void, onError: (err: unknown) => void }): void {
    const tick = async () => {
      if (await this.#db.clearedElsewhere()) opts.cleared()
      for (const r of await this.#db.abandoned<MessageLife>(MESSAGE, this.#clock.now(), opts.graceMs)) {
        if (r.dueAt === null || opts.driving(r.id)) continue
        await this.#db.adopt(MESSAGE, r.id, r.dueAt, () => opts.adopt(r.doc))
      }
    }
    const run = () => { this.#busy ??= tick().catch(opts.onError).finally(() => { this.#busy = undefined }) }
    this.#timer = setInterval(run, opts.intervalMs)
    this.#timer.unref()
    run()
    this.#db.startRetention(60_000)
  }

  /** Where clearedElsewhere() starts: a reset made before this instance started is not news. */
  async markSync (): Promise<void> {
    await this.#db.markSync()
  }

  async clear (): Promise<number> {
    return await this.#db.clear()
  }

  async close (): Promise<void> {
    clearInterval(this.#timer)
    await this.#busy
    await this.#db.close()
  }
}
