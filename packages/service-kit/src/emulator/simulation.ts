import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { SIMULATION_SCENARIOS, type SimulationScenario } from '@switchboard/schemas/common'
import { SCENARIO_HEADER, type RateWindow, type ScenarioDecision, type ScenarioPlayer } from './scenarios.ts'

/**
 * Fault scenarios in the style of Mailpit Chaos / LocalStack Chaos: while one is on, every emulated
 * request gets it. 'slow' adds SLOW_EXTRA_MS; 'timeout' holds the request until the client gives up.
 */
export type Scenario = SimulationScenario
export const SCENARIOS: readonly Scenario[] = SIMULATION_SCENARIOS

export interface SimulationSettings {
  latencyMs: { min: number, max: number }
  /** Probability 0..1 that an operation succeeds. */
  successRate: number
  /** Same seed, same latency and outcome for each request (see Simulator.forRequest). null = random. */
  seed: number | null
  scenario: Scenario
}

/** What the emulator should do with one request. */
export type Outcome = 'success' | 'failure' | 'outage' | 'rate_limited' | 'timeout'
export const OUTCOMES: Outcome[] = ['success', 'failure', 'outage', 'rate_limited', 'timeout']

/**
 * Headers a caller (usually a test) sets to force one request's outcome whatever the rates, like
 * Prism's `Prefer: code=`. Services forward them to their emulator in mock mode.
 */
export const OUTCOME_HEADER = 'x-switchboard-outcome'
export const LATENCY_HEADER = 'x-switchboard-latency-ms'
export const SIMULATION_HEADERS = [OUTCOME_HEADER, LATENCY_HEADER, SCENARIO_HEADER] as const

export const SLOW_EXTRA_MS = 5000
export const TIMEOUT_HOLD_MS = 120_000

/** mulberry32: tiny, fast, good enough to make a run reproducible. */
export function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface Decision {
  outcome: Outcome
  delayMs: number
}

/**
 * What decides a request, in the order of precedence the README gives (Scenarios): the outcome
 * header, then a scenario's period or rate limit, then a story's step, then the fault scenario
 * setting, magic values and the success rate. Each goes in its own field: an emulator that passed
 * a magic value's outcome as `force` would put it above the provider being down or rate limiting.
 */
export interface DecideOptions {
  /** A forced outcome from OUTCOME_HEADER (and nothing else): wins over everything. */
  force?: Outcome | undefined
  /**
   * What a scenario story's step asks for (ScenarioPlayer.story): below a period or rate limit,
   * above the fault scenario setting, magic values and the success rate.
   */
  story?: Outcome | undefined
  /**
   * An outcome a magic value asks for (a recipient that always fails, a Zoom topic tagged
   * `[outage]`): wins over the success rate, not over a scenario (a recipient's fate does not stop
   * the provider being down or rate limiting).
   */
  magic?: Outcome | undefined
  /** A forced latency in ms (from LATENCY_HEADER). */
  latencyMs?: number | undefined
  /** The story the request names (SCENARIO_HEADER). */
  scenario?: string | undefined
}

/** Latency and outcome draws from one source of numbers in [0, 1). */
export class Draws {
  readonly #settings: () => SimulationSettings
  readonly #random: () => number
  readonly #gate: (() => ScenarioDecision | undefined) | undefined

  constructor (settings: () => SimulationSettings, random: () => number, gate?: () => ScenarioDecision | undefined) {
    this.#settings = settings
    this.#random = random
    this.#gate = gate
  }

  get settings (): SimulationSettings {
    return this.#settings()
  }

  random (): number {
    return this.#random()
  }

  latency (): number {
    const { latencyMs: { min, max }, scenario } = this.#settings()
    const base = min + Math.round(this.random() * (max - min))
    return scenario === 'slow' ? base + SLOW_EXTRA_MS : base
  }

  /** Success with the configured probability. */
  succeeds (): boolean {
    return this.random() < this.#settings().successRate
  }

  /** The whole order of precedence (DecideOptions) for one request. */
  decide (options: DecideOptions = {}): Decision {
    return this.preempt(options) ?? this.settle(options)
  }

  /**
   * The first places of the order: the outcome header, then the scenario's period or rate limit;
   * undefined when neither decides. For an emulator whose request's content decides the rest (a
   * story step to take, a magic number that is refused): it asks this first, so a request the
   * provider rate limits takes no story step and is refused for nothing else, then, when this is
   * undefined, settle(). Counts against a rate limit: once per request, and never with decide().
   */
  preempt (options: Pick<DecideOptions, 'force' | 'latencyMs'> = {}): Decision | undefined {
    // The latency is drawn once per request whichever part decides, so a seeded run's draws (and
    // the outcomes after them) are the same as they were when one method did everything.
    if (options.force) {
      const delayMs = options.latencyMs ?? this.latency()
      return { outcome: options.force, delayMs: options.force === 'timeout' ? TIMEOUT_HOLD_MS : delayMs }
    }
    // A scripted scenario's period or rate limit (the provider down, 429s past a rate) comes next.
    const gated = this.#gate?.()
    if (gated?.outcome) {
      const delayMs = options.latencyMs ?? this.latency()
      return { outcome: gated.outcome, delayMs: gated.outcome === 'timeout' ? TIMEOUT_HOLD_MS : gated.outcome === 'rate_limited' ? 0 : delayMs }
    }
    return undefined
  }

  /** The rest of the order, below a period or rate limit: a story's step, the fault scenario setting, magic values, the success rate. */
  settle (options: Pick<DecideOptions, 'story' | 'magic' | 'latencyMs'> = {}): Decision {
    const { scenario } = this.#settings()
    const delayMs = options.latencyMs ?? this.latency()
    if (options.story) return { outcome: options.story, delayMs: options.story === 'timeout' ? TIMEOUT_HOLD_MS : delayMs }
    switch (scenario) {
      case 'outage': return { outcome: 'outage', delayMs }
      case 'rate_limit': return { outcome: 'rate_limited', delayMs: 0 }
      case 'timeout': return { outcome: 'timeout', delayMs: TIMEOUT_HOLD_MS }
      default: {
        if (options.magic) return { outcome: options.magic, delayMs: options.magic === 'timeout' ? TIMEOUT_HOLD_MS : delayMs }
        return { outcome: this.succeeds() ? 'success' : 'failure', delayMs }
      }
    }
  }
}

/** Past this many distinct request contents the occurrence counts start again (memory bound). */
const MAX_COUNTED_CONTENTS = 100_000

/**
 * Decides latency and outcome for emulated operations from the current settings (read on every
 * call, so runtime changes apply at once). Waiting is a timer, never a blocking sleep, so a
 * thousand concurrent requests all wait the same simulated latency at the same time.
 *
 * With a seed, `forRequest(facts)` gives each request draws of its own, derived from the seed, the
 * service, the request's stable facts (recipient, content) and how many times those same facts
 * came before: a seeded run gives each request the same outcome whatever the concurrency and the
 * order of arrival. (One stream shared by all requests would hand out its numbers in arrival
 * order, which concurrency shuffles.)
 */
export class Simulator extends Draws {
  readonly #settingsOf: () => SimulationSettings
  readonly #service: string
  #shared: () => number = Math.random
  #seed: number | null | undefined
  #occurrences = new Map<string, number>()
  readonly #scenarios: ScenarioPlayer | undefined
  readonly #gateFn: (() => ScenarioDecision | undefined) | undefined

  /** `scenarios`: the active scripted scenario (app.runtime.scenarios), played above the rates and magic values. */
  constructor (settings: () => SimulationSettings, service = '', scenarios?: ScenarioPlayer) {
    const gate = scenarios ? () => scenarios.gate(service) : undefined
    super(settings, () => this.#sharedRandom(), gate)
    this.#settingsOf = settings
    this.#service = service
    this.#scenarios = scenarios
    this.#gateFn = gate
  }

  /**
   * The next step of the scenario story this request plays (by its scenario header, else by its
   * recipient), if any: an outcome to force, or a fate to use instead of the magic value's.
   */
  story (recipient: string | null | undefined, header?: string): ScenarioDecision | undefined {
    return this.#scenarios?.story(this.#service, recipient, header)
  }

  /** A 429's Retry-After, in seconds as text: until the scenario's spent rate window ends, else 1. */
  retryAfter (): string {
    return String(this.#scenarios?.retryAfterSeconds(this.#service) ?? 1)
  }

  /** The active scenario's tightest rate-limit window for this service, if one applies (ScenarioPlayer.rateWindow). */
  rateWindow (): RateWindow | undefined {
    return this.#scenarios?.rateWindow(this.#service)
  }

  #seedChanged (): number | null {
    const { seed } = this.#settingsOf()
    if (seed !== this.#seed) {
      this.#seed = seed
      this.#shared = seed === null ? Math.random : mulberry32(seed)
      this.#occurrences.clear()
    }
    return seed
  }

  /** The process-wide sequence: for what is not one request's outcome (event timing). */
  #sharedRandom (): number {
    this.#seedChanged()
    return this.#shared()
  }

  /** Draws for one request, from its stable facts (any JSON value: no generated ids in it). */
  forRequest (facts: unknown): Draws {
    const seed = this.#seedChanged()
    if (seed === null) return new Draws(this.#settingsOf, Math.random, this.#gateFn)
    const content = createHash('sha256').update(`${seed}\0${this.#service}\0${JSON.stringify(facts) ?? ''}`).digest('base64url')
    const occurrence = this.#occurrences.get(content) ?? 0
    if (this.#occurrences.size >= MAX_COUNTED_CONTENTS) this.#occurrences.clear()
    this.#occurrences.set(content, occurrence + 1)
    const derived = createHash('sha256').update(`${content}\0${occurrence}`).digest().readUInt32BE(0)
    return new Draws(this.#settingsOf, mulberry32(derived), this.#gateFn)
  }

  /** Starts the occurrence counts again (a reset for a clean run: the same script, the same outcomes). */
  restart (): void {
    this.#occurrences.clear()
    this.#seed = undefined
  }

  /**
   * Waits the simulated latency; resolves early (without throwing) if the signal aborts. The
   * signal may be given as a function, so a zero wait (the usual case under load) builds none.
   */
  async wait (ms: number, signal?: AbortSignal | (() => AbortSignal)): Promise<void> {
    if (ms <= 0) return
    const abort = typeof signal === 'function' ? signal() : signal
    try {
      await sleep(ms, undefined, abort ? { signal: abort } : undefined)
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err
    }
  }
}

/** The longest latency LATENCY_HEADER may ask for (the OpenAPI document says so too). */
export const MAX_FORCED_LATENCY_MS = 120_000
const isOutcome = (v: unknown): v is Outcome => typeof v === 'string' && (OUTCOMES as string[]).includes(v)
const isLatency = (v: unknown): v is string => typeof v === 'string' && /^\d{1,6}$/.test(v) && Number(v) <= MAX_FORCED_LATENCY_MS
const isStoryName = (v: unknown): v is string => typeof v === 'string' && /^[a-z0-9][a-z0-9_-]{0,63}$/.test(v)

/** Reads the force headers off a request's headers; unknown values are ignored. */
export function readSimulationHeaders (headers: Record<string, string | string[] | undefined>): DecideOptions {
  const rawOutcome = headers[OUTCOME_HEADER]
  const rawLatency = headers[LATENCY_HEADER]
  const rawScenario = headers[SCENARIO_HEADER]
  return {
    force: isOutcome(rawOutcome) ? rawOutcome : undefined,
    latencyMs: isLatency(rawLatency) ? Number(rawLatency) : undefined,
    scenario: isStoryName(rawScenario) ? rawScenario : undefined
  }
}

/**
 * What is wrong with a request's simulation headers, or undefined when each is absent or valid.
 * Switchboard's own API (gateway and services) refuses such a request with a 400 naming the header:
 * an outcome it does not know (`rate_limit`, the fault scenario's name, for `rate_limited`) would
 * otherwise pass as "nothing forced" and a test would get the success it meant to rule out. The
 * emulators read the headers with readSimulationHeaders, ignoring what they do not know.
 */
export function simulationHeaderProblem (headers: Record<string, string | string[] | undefined>): { field: string, message: string } | undefined {
  const problem = (name: string, value: unknown, valid: (v: unknown) => boolean, rule: string) =>
    value === undefined || valid(value) ? undefined : { field: `headers/${name}`, message: rule }
  return problem(OUTCOME_HEADER, headers[OUTCOME_HEADER], isOutcome, `must be one of: ${OUTCOMES.join(', ')}`) ??
    problem(LATENCY_HEADER, headers[LATENCY_HEADER], isLatency, `must be a whole number of milliseconds, 0 to ${MAX_FORCED_LATENCY_MS}`) ??
    problem(SCENARIO_HEADER, headers[SCENARIO_HEADER], isStoryName, 'must be a story\'s name: lower-case letters, digits, - and _, at most 64')
}

/** Picks the force headers out of an incoming request so a service can pass them to its emulator. */
export function pickSimulationHeaders (headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of SIMULATION_HEADERS) {
    const v = headers[name]
    if (typeof v === 'string') out[name] = v
  }
  return out
}

/** Runs tasks with at most `limit` in flight; resolves with results in input order. */
export async function mapWithConcurrency<T, R> (items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await task(items[i] as T, i)
    }
  })
  await Promise.all(workers)
  return results
}

/**
 * Aborts when the client goes away before the answer is sent. (The request's own 'close' fires as
 * soon as its body has been read, so it is the response's that tells.)
 */
export function clientGone (response: { once (event: 'close', listener: () => void): unknown, readonly writableFinished: boolean }): AbortSignal {
  const controller = new AbortController()
  // Aborting builds a DOMException: only do it when the client really left before the answer.
  response.once('close', () => { if (!response.writableFinished) controller.abort() })
  return controller.signal
}
