import { nextSeq, type EmulatorState } from '@switchboard/activity-log'
import { BoundedMap } from '@switchboard/service-kit/bounded-map'
import { systemClock, type Clock } from '@switchboard/service-kit/clock'
import type { AgentState } from './agents.ts'
import type { StoredBatch } from './batches.ts'
import type { CallEngine, CallPersistence, StoredCall } from './calls.ts'

const AGENT = 'agent'
const CALL = 'call'
const BATCH = 'batch'

/**
 * Bolna's agents and executions in the database (table bolna_emulator_state, through the shared
 * EmulatorState). The instance that places a call drives it; every change is stored with the time
 * of its next step. A call whose step is due and not taken for `graceMs` has no live driver (its
 * instance stopped or was killed): one instance adopts it (an exclusive update of its due_at) and
 * plays the rest of it, remaining status posts included. Other instances hold copies for reads.
 */
export class BolnaPersistence implements CallPersistence {
  readonly #db: EmulatorState
  // Bounded as the engine is: ids of calls long gone are not kept for ever.
  readonly #seqs = new BoundedMap<string, number>(100_000)
  #engine: CallEngine | undefined
  #agents: Map<string, AgentState> | undefined
  #reseed: (() => void) | undefined
  #timer: NodeJS.Timeout | undefined
  #busy: Promise<void> | undefined
  #graceMs = 2_000
  #restoreBatches: ((stored: StoredBatch[]) => void) | undefined

  /** The emulators' clock, which due times are written in. */
  readonly #clock: Clock

  constructor (db: EmulatorState, clock: Clock = systemClock) {
    this.#db = db
    this.#clock = clock
  }

  saved (id: string, call: StoredCall, dueAt: number | null): void {
    let seq = this.#seqs.get(id)
    if (seq === undefined) {
      seq = nextSeq()
      this.#seqs.set(id, seq)
    }
    this.#db.put(CALL, id, call, { seq, dueAt })
  }

  saveAgent (agent: AgentState): void {
    this.#db.put(AGENT, agent.id, agent, { seq: Date.parse(agent.createdAt) * 1000 || nextSeq() })
  }

  /**
   * Changes an agent on the database's copy, never over another instance's change (a PATCH through
   * an instance that held the agent a moment too long put its older copy back: another instance's
   * edit undone everywhere). `edit` changes the stored agent, maybe more than once. Answers the
   * agent as stored afterwards; undefined when the database holds no such agent.
   */
  async changeAgent (id: string, edit: (agent: AgentState) => void): Promise<AgentState | undefined> {
    const changed = await this.#db.change<AgentState>(AGENT, id, agent => { edit(agent); return agent })
    return changed?.doc
  }

  removeAgent (agent: AgentState): void {
    this.#db.remove(AGENT, agent.id, Date.parse(agent.createdAt) * 1000 || nextSeq())
  }

  saveBatch (batch: StoredBatch): void {
    this.#db.put(BATCH, batch.id, batch, { seq: Date.parse(batch.createdAt) * 1000 || nextSeq() })
  }

  removeBatch (id: string): void {
    this.#db.remove(BATCH, id, nextSeq())
  }

  /** Loads the stored batches into the batch routes (a scheduled one starts at its time), and later other instances' changes. */
  async restoreBatches (restore: (stored: StoredBatch[]) => void): Promise<void> {
    this.#restoreBatches = restore
    restore((await this.#db.load<StoredBatch>(BATCH)).map(r => r.doc))
  }

  /** Loads agents and calls (calls as read-only copies until adopted); sync and adoption start with startTimers(). */
  async restore (engine: CallEngine, agents: Map<string, AgentState>, reseed: () => void): Promise<void> {
    this.#engine = engine
    this.#agents = agents
    this.#reseed = reseed
    await this.#db.markSync()
    for (const a of await this.#db.load<AgentState>(AGENT)) agents.set(a.id, a.doc)
    for (const c of await this.#db.load<StoredCall>(CALL)) this.#hold(c.doc, c.dueAt, c.seq, false)
  }

  /** Every intervalMs: other instances' changes, then calls left without a driver. */
  startTimers (intervalMs = 1000, graceMs = 2_000): void {
    this.#graceMs = graceMs
    const tick = () => {
      this.#busy ??= this.#tick().catch(() => {}).finally(() => { this.#busy = undefined })
    }
    tick()
    this.#timer = setInterval(tick, intervalMs)
    this.#timer.unref()
    this.#db.startRetention(60_000)
  }

  async #tick (): Promise<void> {
    await this.#db.sync(({ cleared, records }) => {
      if (cleared) {
        this.#engine?.reset()
        this.#reseed?.()
      }
      for (const r of records) {
        if (r.kind === AGENT) {
          if (r.deleted) this.#agents?.delete(r.id)
          else this.#agents?.set(r.id, r.doc as AgentState)
        } else if (r.kind === CALL && !r.deleted) {
          this.#hold(r.doc as StoredCall, r.dueAt, r.seq, false)
        } else if (r.kind === BATCH && !r.deleted) {
          this.#restoreBatches?.([r.doc as StoredBatch])
        }
      }
    })
    for (const r of await this.#db.abandoned<StoredCall>(CALL, this.#clock.now(), this.#graceMs)) {
      if (r.dueAt !== null) await this.#db.adopt(CALL, r.id, r.dueAt, () => this.#hold(r.doc, r.dueAt, r.seq, true))
    }
  }

  #hold (call: StoredCall, dueAt: number | null, seq: number, drive: boolean): void {
    const agent = this.#agents?.get(call.agentId) ?? placeholderAgent(call.agentId)
    this.#seqs.set(call.execution.id, seq)
    this.#engine?.hold(call, agent, dueAt, drive)
  }

  /** A call this instance does not hold, from the database (placed through another instance). */
  async find (id: string): Promise<boolean> {
    return await this.#db.get<StoredCall, true>(CALL, id, r => { this.#hold(r.doc, r.dueAt, r.seq, false); return true }) ?? false
  }

  async clear (): Promise<void> {
    this.#seqs.clear()
    await this.#db.clear()
  }

  async close (): Promise<void> {
    clearInterval(this.#timer)
    await this.#busy
    await this.#db.close()
  }
}

/** A call outlives its agent (deleted since): it plays on, posting nowhere, as on Bolna. */
function placeholderAgent (id: string): AgentState {
  return { id, name: 'Deleted agent', welcomeMessage: '', prompt: '', conversation: [], defaults: {}, extracted: null, webhookUrl: null, createdAt: '', updatedAt: '' }
}
