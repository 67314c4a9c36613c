import type { EmulatorState } from '@switchboard/activity-log'
import { MeetingRecord, type MeetingDoc, type MeetingPersistence, type MeetingStore } from './store.ts'

const MEETING = 'meeting'

/**
 * The Zoom emulator's meetings in the database (table zoom_emulator_state, through the shared
 * EmulatorState): the store hands every change over as it happens, a meeting this instance does
 * not hold is read from the database, and what other instances change arrives through sync().
 */
export class ZoomMeetingPersistence implements MeetingPersistence {
  readonly #state: EmulatorState
  #store: MeetingStore | undefined
  #syncTimer: NodeJS.Timeout | undefined
  #syncing: Promise<void> | undefined

  constructor (state: EmulatorState) {
    this.#state = state
  }

  get state (): EmulatorState { return this.#state }

  saved (m: MeetingRecord, dueAt: number | null): void {
    this.#state.put(MEETING, String(m.id), m.toDoc(), { seq: m.seq, dueAt })
  }

  removed (m: MeetingRecord): void {
    this.#state.remove(MEETING, String(m.id), m.seq)
  }

  claim (m: MeetingRecord, to: number, dueAt: number | null): Promise<boolean> {
    return this.#state.claim(MEETING, String(m.id), m.claimed, to, dueAt)
  }

  async change (m: MeetingRecord, edit: (stored: MeetingRecord) => boolean): Promise<MeetingDoc | undefined> {
    const changed = await this.#state.change<MeetingDoc>(MEETING, String(m.id), doc => {
      const stored = MeetingRecord.fromDoc(m.id, m.seq, doc)
      return edit(stored) ? stored.toDoc() : undefined
    })
    return changed?.doc
  }

  async removeIf (m: MeetingRecord, allowed: (stored: MeetingRecord) => boolean): Promise<'removed' | 'refused' | undefined> {
    return await this.#state.removeIf<MeetingDoc>(MEETING, String(m.id), stored => allowed(MeetingRecord.fromDoc(m.id, m.seq, stored.doc)))
  }

  async storedStage (m: MeetingRecord): Promise<number | undefined> {
    return (await this.#state.get(MEETING, String(m.id)))?.step
  }

  /**
   * Loads every stored meeting into the store (their lifecycle timers are rebuilt from their stored
   * stage: a step that fell due while no instance ran is taken at once), then keeps the store in
   * step with other instances every syncMs.
   */
  async restore (store: MeetingStore, syncMs: number): Promise<number> {
    this.#store = store
    await this.#state.markSync()
    const records = await this.#state.load<MeetingDoc>(MEETING)
    for (const r of records) store.hydrate(Number(r.id), r.seq, r.step, r.doc)
    this.#syncTimer = setInterval(() => { void this.sync().catch(() => {}) }, syncMs)
    this.#syncTimer.unref()
    return records.length
  }

  /** Applies what other instances changed since the last sync (one at a time). */
  sync (): Promise<void> {
    this.#syncing ??= (async () => {
      const store = this.#store
      if (!store) return
      await this.#state.sync<MeetingDoc>(({ cleared, records }) => {
        if (cleared) store.clear()
        for (const r of records) {
          if (r.kind !== MEETING) continue
          if (r.deleted) store.forget(Number(r.id))
          else store.hydrate(Number(r.id), r.seq, r.step, r.doc)
        }
      })
    })().finally(() => { this.#syncing = undefined })
    return this.#syncing
  }

  /** A meeting this instance does not hold, from the database (created through another instance). */
  async find (id: number): Promise<MeetingRecord | undefined> {
    const store = this.#store
    if (!store) return undefined
    return await this.#state.get<MeetingDoc, MeetingRecord>(MEETING, String(id), r => store.hydrate(id, r.seq, r.step, r.doc))
  }

  async clear (): Promise<number> {
    return this.#state.clear()
  }

  async close (): Promise<void> {
    clearInterval(this.#syncTimer)
    await this.#syncing?.catch(() => {})
    await this.#state.close()
  }
}
