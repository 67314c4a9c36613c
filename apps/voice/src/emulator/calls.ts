import { isoNow, systemClock, type ClockTimer, type TimerClock } from '@switchboard/service-kit/clock'
import { randomUUID } from 'node:crypto'
import type { CallStatus } from '@switchboard/schemas/voice'
import { FINAL_CALL_STATUSES } from '@switchboard/schemas/voice'
import { fillVariables, type AgentState } from './agents.ts'
import { HOLD_MS } from './magic.ts'

/** How a call placed through the emulator ends. */
export type Ending = 'completed' | 'voicemail' | 'busy' | 'no-answer' | 'failed'

/** The execution object, as GET /executions/{id} answers and every webhook carries it. */
export interface Execution {
  id: string
  agent_id: string
  batch_id: string | null
  conversation_duration: number
  total_cost: number
  status: CallStatus
  error_message: string | null
  answered_by_voice_mail: boolean
  transcript: string
  created_at: string
  updated_at: string
  scheduled_at: string | null
  cost_breakdown: { llm: number, network: number, platform: number, synthesizer: number, transcriber: number }
  usage_breakdown: {
    synthesizer_characters: number
    synthesizer_model: string
    transcriber_duration: number
    transcriber_model: string
    llm_tokens: number
    llm_model: Record<string, { input: number, output: number }>
  }
  telephony_data: {
    duration: string
    to_number: string
    from_number: string
    recording_url: string | null
    hosted_telephony: boolean
    provider_call_id: string | null
    call_type: 'outbound' | 'inbound'
    provider: 'plivo' | 'twilio'
    hangup_by: string | null
    hangup_reason: string | null
    hangup_provider_code: number | null
    ring_duration: number | null
    post_dial_delay: number | null
    to_number_carrier: string | null
  }
  transfer_call_data: null
  batch_run_details: { status: CallStatus, created_at: string, updated_at: string, retried: number } | null
  extracted_data: Record<string, unknown> | null
  context_details: { recipient_data: Record<string, unknown>, recipient_phone_number: string }
  extraction_webhook_status: boolean | null
}

interface Call {
  execution: Execution
  agent: AgentState
  userData: Record<string, unknown>
  ending: Ending
  /** The statuses of this ending (shared, never changed) and how many of them have happened. */
  path: readonly CallStatus[]
  step: number
  /** The spoken turns, once the call has been answered (computed once). */
  turns: Array<[string, string]> | undefined
  recordingUrl: string
  /** Its place in the engine's wake-up queue (-1: none), when, and what happens then. */
  heapIndex: number
  dueAt: number
  dueKind: DueKind
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
}

const PATHS: Record<Ending, CallStatus[]> = {
  completed: ['initiated', 'ringing', 'in-progress', 'call-disconnected', 'completed'],
  voicemail: ['initiated', 'ringing', 'in-progress', 'call-disconnected', 'completed'],
  busy: ['initiated', 'ringing', 'busy'],
  'no-answer': ['initiated', 'ringing', 'no-answer'],
  failed: ['initiated', 'failed']
}

// Cents per minute of conversation, per component (the shape of Bolna's cost_breakdown; the
// rates are ours, chosen to land near Bolna's published per-minute price).
const CENTS_PER_MINUTE = { llm: 0.9, network: 2.4, platform: 2.0, synthesizer: 1.8, transcriber: 0.6 }

const round2 = (n: number) => Math.round(n * 100) / 100
const now = isoNow
const FINAL: ReadonlySet<CallStatus> = new Set(FINAL_CALL_STATUSES)
const LIVE: ReadonlySet<CallStatus> = new Set(['initiated', 'ringing', 'in-progress', 'call-disconnected'])
const isFinal = (s: CallStatus) => FINAL.has(s)

/** Random draws for the ending of a call that lost the success-rate draw. */
export function unluckyEnding (r: number): Ending {
  return r < 0.5 ? 'no-answer' : r < 0.8 ? 'busy' : 'failed'
}

function carrier (to: string): string {
  // Plausible carriers by country code; only a display value (unverified).
  if (to.startsWith('+91')) return 'Reliance Jio Infocomm Ltd (RJIL)'
  if (to.startsWith('+1')) return 'Verizon Wireless'
  if (to.startsWith('+44')) return 'Vodafone UK'
  return 'Unknown'
}

/**
 * Ids in arrival order, taken from the front. (A Set or Map used this way is slow: the entries
 * deleted at its front stay as holes that every "first entry" lookup walks over until the table
 * is rebuilt.) Entries may go stale; the reader skips those.
 */
class IdQueue {
  #items: string[] = []
  #head = 0

  get length (): number {
    return this.#items.length - this.#head
  }

  push (id: string): void {
    this.#items.push(id)
  }

  shift (): string | undefined {
    if (this.#head >= this.#items.length) return undefined
    const id = this.#items[this.#head++]
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return id
  }

  /** Keeps only the ids `keep` approves (for dropping stale entries now and then). */
  retain (keep: (id: string) => boolean): void {
    this.#items = this.#items.slice(this.#head).filter(keep)
    this.#head = 0
  }

  clear (): void {
    this.#items = []
    this.#head = 0
  }
}

/**
 * Calls as the emulator plays them: each moves through Bolna's lifecycle on timers
 * (queued → initiated → ringing → in-progress → call-disconnected → completed, or busy /
 * no-answer / failed), with the transcript, duration, cost and recording filled in as it goes.
 * Kept in memory, bounded.
 *
 * Every call's next step waits in one queue ordered by due time (a binary heap) under a single
 * timer, so ten thousand live calls cost one timer, not ten thousand; the steps that fall due
 * together run in one tick. Nothing here walks all calls on the way of a request.
 */
export class CallEngine {
  readonly #calls = new Map<string, Call>()
  /** Ids of calls that have ended, in the order they ended: the first to go when full. */
  readonly #ended = new IdQueue()
  /** Every call's id in the order created: the next to go when full and none has ended. */
  readonly #created = new IdQueue()
  readonly #opts: CallEngineOptions
  readonly #max: number
  readonly #heap: Call[] = []
  #timer: ClockTimer | undefined
  #armedAt = Infinity
  readonly #clock: TimerClock
  #live = 0
  #closed = false

  constructor (opts: CallEngineOptions) {
    this.#opts = opts
    this.#max = opts.maxCalls ?? 10_000
    this.#clock = opts.clock ?? systemClock
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
    const created = now()
    const scheduled = input.scheduledAt && input.scheduledAt.getTime() > this.#clock.now() + 500 ? input.scheduledAt : undefined
    const execution: Execution = {
      id,
      agent_id: input.agent.id,
      batch_id: input.batchId ?? null,
      conversation_duration: 0,
      total_cost: 0,
      status: scheduled ? 'scheduled' : 'queued',
      error_message: null,
      answered_by_voice_mail: false,
      transcript: '',
      created_at: created,
      updated_at: created,
      scheduled_at: scheduled ? scheduled.toISOString() : null,
      cost_breakdown: { llm: 0, network: 0, platform: 0, synthesizer: 0, transcriber: 0 },
      usage_breakdown: { synthesizer_characters: 0, synthesizer_model: 'polly', transcriber_duration: 0, transcriber_model: 'deepgram', llm_tokens: 0, llm_model: {} },
      telephony_data: {
        duration: '0',
        to_number: input.to,
        from_number: input.from,
        recording_url: null,
        hosted_telephony: true,
        provider_call_id: null,
        call_type: 'outbound',
        provider: 'plivo',
        hangup_by: null,
        hangup_reason: null,
        hangup_provider_code: null,
        ring_duration: null,
        post_dial_delay: null,
        to_number_carrier: null
      },
      transfer_call_data: null,
      batch_run_details: input.batchId ? { status: 'queued', created_at: created, updated_at: created, retried: 0 } : null,
      extracted_data: null,
      context_details: { recipient_data: input.userData, recipient_phone_number: input.to },
      extraction_webhook_status: null
    }
    const call: Call = {
      execution,
      agent: input.agent,
      userData: input.userData,
      ending: input.ending,
      path: PATHS[input.ending],
      step: 0,
      turns: undefined,
      recordingUrl: `${input.recordingBaseUrl}/${id}.wav`,
      heapIndex: -1,
      dueAt: 0,
      dueKind: ADVANCE
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
        dueKind: stored.dueKind
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
      dueKind: call.dueKind
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
    this.#cancel(call)
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
    this.#closed = true
    this.#clearQueue()
  }

  reset (): void {
    this.#clearQueue()
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
    this.#cancel(call)
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
    this.#fill(call, next)
    this.#set(call, next)
    this.#schedule(call)
  }

  #set (call: Call, status: CallStatus): void {
    const e = call.execution
    if (LIVE.has(e.status)) this.#live--
    if (LIVE.has(status)) this.#live++
    e.status = status
    e.updated_at = now()
    if (e.batch_run_details) e.batch_run_details = { ...e.batch_run_details, status, updated_at: e.updated_at }
    if (isFinal(status)) {
      this.#ended.push(e.id)
      this.#save(call)
    }
    this.#opts.onChange(e, call.agent)
  }

  // --- the wake-up queue: a binary min-heap of calls by dueAt, under one timer ----------------

  #wake (call: Call, at: number, kind: DueKind): void {
    if (this.#closed) return
    this.#cancel(call)
    call.dueAt = at
    call.dueKind = kind
    call.heapIndex = this.#heap.length
    this.#heap.push(call)
    this.#up(call.heapIndex)
    this.#arm()
    this.#save(call)
  }

  #cancel (call: Call): void {
    const i = call.heapIndex
    if (i < 0) return
    const heap = this.#heap
    const last = heap.pop()!
    call.heapIndex = -1
    if (last !== call) {
      heap[i] = last
      last.heapIndex = i
      this.#down(i)
      this.#up(last.heapIndex)
    }
  }

  /** One timer, set for the earliest wake-up; moved only when an earlier one arrives. */
  #arm (): void {
    const first = this.#heap[0]
    if (!first) return
    if (this.#timer !== undefined && first.dueAt >= this.#armedAt) return
    this.#timer?.cancel()
    this.#armedAt = first.dueAt
    this.#timer = this.#clock.at(first.dueAt, () => this.#tick())
  }

  #tick (): void {
    this.#timer = undefined
    this.#armedAt = Infinity
    const heap = this.#heap
    // A timer may fire a little before the wall clock reaches its time (the loop's clock lags):
    // a millisecond early still counts as due, rather than setting the timer again.
    const at = this.#clock.now() + 1
    while (heap.length > 0 && heap[0]!.dueAt <= at && !this.#closed) {
      const call = heap[0]!
      this.#cancel(call)
      if (call.dueKind === START) {
        this.#set(call, 'queued')
        this.#schedule(call)
      } else {
        this.#advance(call)
      }
    }
    this.#arm()
  }

  #clearQueue (): void {
    for (const call of this.#heap) call.heapIndex = -1
    this.#heap.length = 0
    this.#timer?.cancel()
    this.#timer = undefined
    this.#armedAt = Infinity
  }

  #up (i: number): void {
    const heap = this.#heap
    const call = heap[i]!
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = heap[parent]!
      if (p.dueAt <= call.dueAt) break
      heap[i] = p
      p.heapIndex = i
      i = parent
    }
    heap[i] = call
    call.heapIndex = i
  }

  #down (i: number): void {
    const heap = this.#heap
    const n = heap.length
    const call = heap[i]!
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && heap[r]!.dueAt < heap[l]!.dueAt ? r : l
      const child = heap[c]!
      if (child.dueAt >= call.dueAt) break
      heap[i] = child
      child.heapIndex = i
      i = c
    }
    heap[i] = call
    call.heapIndex = i
  }

  /** What Bolna knows about the call once it reaches `status`. */
  #fill (call: Call, status: CallStatus): void {
    const e = call.execution
    const t = e.telephony_data
    const r = this.#opts.random
    switch (status) {
      case 'initiated':
        t.provider_call_id = randomUUID()
        t.post_dial_delay = 1 + Math.floor(r() * 3)
        t.to_number_carrier = carrier(t.to_number)
        break
      case 'in-progress':
        t.ring_duration = 3 + Math.floor(r() * 10)
        e.answered_by_voice_mail = call.ending === 'voicemail'
        break
      case 'call-disconnected': {
        const turns = this.#turns(call)
        e.transcript = turns.map(([who, text]) => `${who}: ${text}`).join('\n') + '\n'
        // Speech at about 2.6 words a second, a pause between turns, some variation per call.
        const words = turns.reduce((n, [, text]) => n + text.split(/\s+/).length, 0)
        e.conversation_duration = Math.round((words / 2.6 + turns.length * 0.8) * (0.9 + r() * 0.4) * 10) / 10
        t.duration = String(Math.ceil(e.conversation_duration))
        t.hangup_by = call.ending === 'voicemail' ? 'Assistant' : 'Callee'
        t.hangup_reason = 'Normal Hangup'
        t.hangup_provider_code = 4000
        break
      }
      case 'completed': {
        // Post-processing done: recording, costs, usage and extraction arrive together.
        const minutes = e.conversation_duration / 60
        const b = e.cost_breakdown
        for (const k of Object.keys(CENTS_PER_MINUTE) as Array<keyof typeof CENTS_PER_MINUTE>) b[k] = round2(CENTS_PER_MINUTE[k] * minutes)
        e.total_cost = round2(b.llm + b.network + b.platform + b.synthesizer + b.transcriber)
        const spoken = this.#turns(call).filter(([who]) => who === 'assistant').reduce((n, [, text]) => n + text.length, 0)
        const input = 350 + Math.round(e.transcript.length * 1.3)
        const output = Math.round(spoken / 4)
        e.usage_breakdown = { synthesizer_characters: spoken, synthesizer_model: 'polly', transcriber_duration: e.conversation_duration, transcriber_model: 'deepgram', llm_tokens: input + output, llm_model: { 'gpt-4o-mini': { input, output } } }
        t.recording_url = call.recordingUrl
        e.extracted_data = call.ending === 'voicemail' || call.agent.extracted === null ? null : structuredClone(call.agent.extracted)
        e.extraction_webhook_status = e.extracted_data !== null
        break
      }
      case 'busy':
        t.ring_duration = 2 + Math.floor(r() * 4)
        t.hangup_by = 'Callee'
        t.hangup_reason = 'Busy Line' // Plivo's wording and code (unverified)
        t.hangup_provider_code = 3010
        break
      case 'no-answer':
        t.ring_duration = 30
        t.hangup_by = 'Carrier'
        t.hangup_reason = 'No Answer' // (unverified)
        t.hangup_provider_code = 3020
        break
      case 'failed':
        e.error_message = 'Call failed: the destination could not be reached (simulated carrier failure)'
        t.hangup_by = 'Carrier'
        t.hangup_reason = 'Unreachable Destination' // (unverified)
        t.hangup_provider_code = 2000
        break
      default:
        break
    }
  }

  #turns (call: Call): Array<[string, string]> {
    call.turns ??= this.#conversation(call)
    return call.turns
  }

  #conversation (call: Call): Array<[string, string]> {
    const fill = (text: string) => fillVariables(text, call.userData, call.agent.defaults)
    if (call.ending === 'voicemail') {
      return [
        ['assistant', fill(call.agent.welcomeMessage)],
        ['user', '[voicemail] The person you are calling is not available. Please leave a message after the tone.'],
        ['assistant', fill('Hi {name}, sorry we missed you. We will call you back later. Thank you!')]
      ]
    }
    return call.agent.conversation.map(([who, text]) => [who, fill(text)])
  }
}
