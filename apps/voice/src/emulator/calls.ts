import { isoAt, systemClock, type TimerClock } from '@switchboard/service-kit/clock'
import { randomUUID } from 'node:crypto'
import type { CallStatus } from '@switchboard/schemas/voice'
import type { AgentState } from './agents.ts'
import { retryDelayMs, retryFields, type RetryPolicy } from './auto-retry.ts'
import { fillExecution, type CallScript } from './call-content.ts'
import { isFinal, LIVE, newExecution, PATHS, type Ending, type Execution } from './execution.ts'
import { IdQueue } from './id-queue.ts'
import { HOLD_MS } from './magic.ts'
import { WakeQueue } from './wake-queue.ts'

export { unluckyEnding, type Ending, type Execution } from './execution.ts'

interface Call extends CallScript {
  execution: Execution
  /** The statuses of this ending (shared, never changed) and how many of them have happened. */
  path: readonly CallStatus[]
  step: number
  /** Its place in the engine's wake-up queue (-1: none), when, and what happens then. */
  heapIndex: number
  dueAt: number
  dueKind: DueKind
  /** Bolna's auto-retry, when the call was placed with it (auto-retry.ts). */
  retry: RetryPolicy | undefined
}

/** What a call's next wake-up does: take its next step, or start a scheduled call. */
type DueKind = typeof ADVANCE | typeof START
const ADVANCE = 0
const START = 1

/** A call as the database keeps it (the agent by id; its wake-up time is the due_at column). */
export interface StoredCall {
  execution: Execution
  agentId: string
  userData: Record<string, unknown>
  ending: Ending
  step: number
  recordingUrl: string
  dueKind: DueKind
  retry?: RetryPolicy
}

/**
 * Where calls are kept beyond memory (apps/voice/src/emulator/persist.ts): every change is handed
 * over as it happens, with the time of the call's next step (null once it has ended).
 */
export interface CallPersistence {
  saved: (id: string, call: StoredCall, dueAt: number | null) => void
}

export interface CallEngineOptions {
  /** The emulators' clock (the admin API's test clock): when scheduled calls start and steps fall due. */
  clock?: TimerClock
  /** The simulator's random numbers (seeded when SIM_SEED is set). */
  random: () => number
  /** Time between status changes, read at every step so runtime changes apply. */
  stepMs: () => { min: number, max: number }
  /**
   * Called after every status change with the call's execution object itself (not a copy, so
   * nothing is cloned per step): read or serialise it now, never keep or change it.
   */
  onChange: (execution: Readonly<Execution>, agent: AgentState) => void
  /** Most calls kept; the oldest finished ones go first. */
  maxCalls?: number
  persistence?: CallPersistence
  /** How a call's next attempt ends, drawn when auto-retry places it again (attempt 2, 3, ...). */
  retryEnding?: (to: string, attempt: number) => Ending
  /** What a recording's URL ends with after its file name (a presigned link's query), if anything. */
  recordingQuery?: (executionId: string) => string
}

export interface NewCall {
  agent: AgentState
  to: string
  from: string
  userData: Record<string, unknown>
  ending: Ending
  hold?: boolean
  scheduledAt?: Date
  batchId?: string
  /** Where this emulator serves recordings (…/bolna/recordings). */
  recordingBaseUrl: string
  retry?: RetryPolicy
}

/**
 * Calls as the emulator plays them: each moves through Bolna's lifecycle on timers
 * (queued → initiated → ringing → in-progress → call-disconnected → completed, or busy /
 * no-answer / failed), with the transcript, duration, cost and recording filled in as it goes.
 * Kept in memory, bounded.
 *
 * Every call's next step waits in one queue ordered by due time (wake-queue.ts: a binary heap under
 * a single timer), so ten thousand live calls cost one timer, not ten thousand; the steps that fall
 * due together run in one tick. What a call says and costs is call-content.ts and call-cost.ts.
 * Nothing here walks all calls on the way of a request.
 */
export class CallEngine {
  readonly #calls = new Map<string, Call>()
  /** Ids of calls that have ended, in the order they ended: the first to go when full. */
  readonly #ended = new IdQueue()
  /** Every call's id in the order created: the next to go when full and none has ended. */
  readonly #created = new IdQueue()
  readonly #opts: CallEngineOptions
  readonly #max: number
  readonly #queue: WakeQueue<Call>
  readonly #clock: TimerClock
  #live = 0

  constructor (opts: CallEngineOptions) {
    this.#opts = opts
    this.#max = opts.maxCalls ?? 10_000
    this.#clock = opts.clock ?? systemClock
    this.#queue = new WakeQueue<Call>(this.#clock, call => this.#due(call))
  }

  get size (): number {
    return this.#calls.size
  }

  /** Calls between initiated and call-disconnected (for /user/me's concurrency). */
  get live (): number {
    return this.#live
  }

  /** Places a call; returns its execution id. */
  create (input: NewCall): string {
    this.#evict()
    const id = randomUUID()
    const created = isoAt(this.#clock.now())
    const scheduled = input.scheduledAt && input.scheduledAt.getTime() > this.#clock.now() + 500 ? input.scheduledAt : undefined
    const execution = newExecution({
      id, agentId: input.agent.id, to: input.to, from: input.from, userData: input.userData, batchId: input.batchId, scheduledAt: scheduled, at: created
    })
    if (input.retry) Object.assign(execution, retryFields(input.retry))
    const call: Call = {
      execution,
      agent: input.agent,
      userData: input.userData,
      ending: input.ending,
      path: PATHS[input.ending],
      step: 0,
      turns: undefined,
      recordingUrl: `${input.recordingBaseUrl}/${id}.wav${this.#opts.recordingQuery?.(id) ?? ''}`,
      heapIndex: -1,
      dueAt: 0,
      dueKind: ADVANCE,
      retry: input.retry
    }
    this.#calls.set(id, call)
    this.#created.push(id)
    // Ids of calls already gone pile up here only while calls end before the engine is full.
    if (this.#created.length > 2 * this.#max) this.#created.retain(c => this.#calls.has(c))
    if (scheduled) {
      this.#wake(call, scheduled.getTime(), START)
    } else if (input.hold) {
      this.#wake(call, this.#clock.now() + HOLD_MS, ADVANCE)
    } else {
      this.#schedule(call)
    }
    // Its first status (queued, or scheduled for later) is posted too: Bolna posts every status
    // the execution takes (providers.md §4), and an auto-retried attempt's queued already was.
    this.#opts.onChange(execution, input.agent)
    return id
  }

  /**
   * Takes a stored call: one this engine drives from now on (`drive`: loaded at start, or adopted
   * from an instance that stopped), whose next step runs at its stored time (at once when that
   * passed), or a copy of one another instance drives, held for reads only.
   */
  hold (stored: StoredCall, agent: AgentState, dueAt: number | null, drive: boolean): void {
    const id = stored.execution.id
    let call = this.#calls.get(id)
    if (call) {
      if (LIVE.has(call.execution.status)) this.#live--
      call.execution = stored.execution
      call.step = stored.step
    } else {
      this.#evict()
      call = {
        execution: stored.execution,
        agent,
        userData: stored.userData,
        ending: stored.ending,
        path: PATHS[stored.ending],
        step: stored.step,
        turns: undefined,
        recordingUrl: stored.recordingUrl,
        heapIndex: -1,
        dueAt: 0,
        dueKind: stored.dueKind,
        retry: stored.retry
      }
      this.#calls.set(id, call)
      this.#created.push(id)
    }
    if (LIVE.has(call.execution.status)) this.#live++
    if (isFinal(call.execution.status)) this.#ended.push(id)
    if (drive && dueAt !== null) this.#wake(call, dueAt, stored.dueKind)
  }

  #save (call: Call): void {
    const persistence = this.#opts.persistence
    if (!persistence) return
    const final = isFinal(call.execution.status) || call.heapIndex < 0
    persistence.saved(call.execution.id, {
      execution: call.execution,
      agentId: call.agent.id,
      userData: call.userData,
      ending: call.ending,
      step: call.step,
      recordingUrl: call.recordingUrl,
      dueKind: call.dueKind,
      ...(call.retry ? { retry: call.retry } : {})
    }, final ? null : call.dueAt)
  }

  /** A copy of the execution object, as GET /executions/{id} answers it. */
  get (id: string): Execution | undefined {
    const c = this.#calls.get(id)
    return c ? structuredClone(c.execution) : undefined
  }

  /** The call's current status, without copying anything. */
  statusOf (id: string): CallStatus | undefined {
    return this.#calls.get(id)?.execution.status
  }

  /** The agent a call belongs to, without copying anything. */
  agentIdOf (id: string): string | undefined {
    return this.#calls.get(id)?.execution.agent_id
  }

  agentOf (id: string): AgentState | undefined {
    return this.#calls.get(id)?.agent
  }

  list (filter: { agentId?: string, status?: string, batchId?: string } = {}): Execution[] {
    const out: Execution[] = []
    for (const c of this.#calls.values()) {
      if (filter.agentId && c.execution.agent_id !== filter.agentId) continue
      if (filter.status && c.execution.status !== filter.status) continue
      if (filter.batchId && c.execution.batch_id !== filter.batchId) continue
      out.push(structuredClone(c.execution))
    }
    return out.reverse() // newest first
  }

  /** Bolna stops only calls that have not started: queued or scheduled. */
  stop (id: string): { ok: true, execution: Execution } | { ok: false, reason: 'not_found' } | { ok: false, reason: 'not_stoppable', status: CallStatus } {
    const call = this.#calls.get(id)
    if (!call) return { ok: false, reason: 'not_found' }
    if (call.execution.status !== 'queued' && call.execution.status !== 'scheduled') return { ok: false, reason: 'not_stoppable', status: call.execution.status }
    this.#queue.remove(call)
    call.step = call.path.length
    this.#set(call, 'stopped')
    return { ok: true, execution: structuredClone(call.execution) }
  }

  recordingFor (fileName: string): string | undefined {
    const id = fileName.replace(/\.wav$/, '')
    const call = this.#calls.get(id)
    return call?.execution.telephony_data.recording_url ? id : undefined
  }

  /** No call moves any more (the server is closing). */
  close (): void {
    this.#queue.close()
  }

  reset (): void {
    this.#queue.clear()
    this.#calls.clear()
    this.#ended.clear()
    this.#created.clear()
    this.#live = 0
  }

  /**
   * Full: the call that ended first goes; with none ended, the oldest call. Each id is taken
   * from each queue at most once, so this is constant time on average.
   */
  #evict (): void {
    if (this.#calls.size < this.#max) return
    let call: Call | undefined
    while (!call && this.#ended.length > 0) {
      const c = this.#calls.get(this.#ended.shift()!)
      if (c && isFinal(c.execution.status)) call = c
    }
    while (!call && this.#created.length > 0) call = this.#calls.get(this.#created.shift()!)
    if (!call) return
    this.#queue.remove(call)
    if (LIVE.has(call.execution.status)) this.#live--
    this.#calls.delete(call.execution.id)
  }

  #step (factor = 1): number {
    const { min, max } = this.#opts.stepMs()
    return Math.round((min + this.#opts.random() * (max - min)) * factor)
  }

  /** Waits the step that leads to the next status: ringing out and talking take longer. */
  #schedule (call: Call): void {
    const next = call.path[call.step]
    if (!next) return
    const factor = next === 'no-answer' ? 3 : next === 'call-disconnected' ? 2 : 1
    this.#wake(call, this.#clock.now() + this.#step(factor), ADVANCE)
  }

  #advance (call: Call): void {
    const next = call.path[call.step]
    if (!next || this.#calls.get(call.execution.id) !== call) return
    call.step++
    fillExecution(call.execution, next, call, this.#opts.random)
    this.#set(call, next)
    if (call.retry && isFinal(next) && this.#retry(call, call.retry, next)) return
    this.#schedule(call)
  }

  #set (call: Call, status: CallStatus): void {
    const e = call.execution
    if (LIVE.has(e.status)) this.#live--
    if (LIVE.has(status)) this.#live++
    e.status = status
    e.updated_at = isoAt(this.#clock.now())
    if (e.batch_run_details) e.batch_run_details = { ...e.batch_run_details, status, updated_at: e.updated_at }
    if (isFinal(status)) {
      this.#ended.push(e.id)
      this.#save(call)
    }
    this.#opts.onChange(e, call.agent)
  }

  /**
   * Bolna's auto-retry: a call that ended with a status its policy retries is scheduled again on
   * the same execution (the ended attempt in retry_history), and placed at its scheduled_at with a
   * new draw of how it ends. What the attempt said and cost is cleared for the next one (unverified
   * whether Bolna keeps the last attempt's figures until the next has its own).
   */
  #retry (call: Call, policy: RetryPolicy, status: CallStatus): boolean {
    const e = call.execution
    const delay = retryDelayMs(policy, e, status, call.ending)
    if (delay === undefined || this.#queue.closed) return false
    const attempt = (e.retry_count ?? 0) + 1
    e.retry_history = [...(e.retry_history ?? []), { attempt, status: call.ending === 'voicemail' ? 'voicemail' : status, at: e.updated_at }]
    e.retry_count = attempt
    const { to_number: to, from_number: from } = e.telephony_data
    const fresh = newExecution({ id: e.id, agentId: e.agent_id, to, from, userData: call.userData, scheduledAt: undefined, at: e.created_at })
    Object.assign(e, {
      conversation_duration: fresh.conversation_duration,
      total_cost: fresh.total_cost,
      error_message: null,
      answered_by_voice_mail: false,
      transcript: '',
      cost_breakdown: fresh.cost_breakdown,
      usage_breakdown: fresh.usage_breakdown,
      telephony_data: fresh.telephony_data,
      extracted_data: null
    })
    if (e.batch_run_details) e.batch_run_details = { ...e.batch_run_details, retried: attempt }
    call.ending = this.#opts.retryEnding?.(e.telephony_data.to_number, attempt + 1) ?? call.ending
    call.path = PATHS[call.ending]
    call.step = 0
    call.turns = undefined
    const at = this.#clock.now() + delay
    e.scheduled_at = new Date(at).toISOString()
    this.#set(call, 'scheduled')
    this.#wake(call, at, START)
    return true
  }

  #wake (call: Call, at: number, kind: DueKind): void {
    if (this.#queue.closed) return
    call.dueKind = kind
    this.#queue.add(call, at)
    this.#save(call)
  }

  /** A call's wake-up fell due: a scheduled call starts, any other takes its next step. */
  #due (call: Call): void {
    if (call.dueKind === START) {
      this.#set(call, 'queued')
      this.#schedule(call)
    } else {
      this.#advance(call)
    }
  }
}
