/**
 * The time a status move is stamped with (updated_at): the emulators' test clock's time, which is
 * real time unless a test froze or moved it, or a data set load set it back to a past hour.
 *
 * The clock is a setting in this database (key `clock`, `{frozen_at, offset_ms}`: see
 * packages/service-kit/src/emulator/clock.ts), so that every instance agrees on it, and every read
 * and write of the settings goes through the activity log: the services' RuntimeSettings polls
 * them, stores a new clock with writeSettings, and re-reads them at once when the gateway says the
 * clock moved. Following that row here gives the log the clock at the same moment the services'
 * TestClock gets it, with nothing to wire between the two packages.
 */
import type { SettingRow } from './rows.ts'

/** The settings row of the test clock (RuntimeSettings' CLOCK_SETTING). */
export const CLOCK_SETTING = 'clock'

export class MoveClock {
  #frozenAt: number | null = null
  #offsetMs = 0
  #turn: string | undefined

  /** Takes the clock's state from settings rows read or written (rows without it change nothing). */
  follow (rows: readonly SettingRow[]): void {
    const row = rows.find(r => r.key === CLOCK_SETTING)
    if (row === undefined) return
    // Read as clock.ts's parseClockState reads it: anything malformed is real time.
    const v = row.value !== null && typeof row.value === 'object' ? row.value as Record<string, unknown> : {}
    this.#frozenAt = typeof v.frozen_at === 'number' && Number.isFinite(v.frozen_at) ? v.frozen_at : null
    this.#offsetMs = typeof v.offset_ms === 'number' && Number.isFinite(v.offset_ms) ? v.offset_ms : 0
  }

  /** Milliseconds since the epoch on the clock, as TestClock.now() reads it. */
  now (): number {
    return this.#frozenAt ?? Date.now() + this.#offsetMs
  }

  /**
   * Now on the clock, as an ISO string. The moves made in one synchronous run (a webhook post's
   * events, applied in one loop) share one stamp, as they did when each service stamped its batch,
   * so moves with the same values still go to the database as one statement (Supabase's grouping).
   */
  stamp (): string {
    if (this.#turn === undefined) {
      this.#turn = new Date(this.now()).toISOString()
      queueMicrotask(() => { this.#turn = undefined })
    }
    return this.#turn
  }
}
