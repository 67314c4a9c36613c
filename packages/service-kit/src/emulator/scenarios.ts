import { AsyncLocalStorage } from 'node:async_hooks'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Value } from '@sinclair/typebox/value'
import { SCENARIO_FATES, SCENARIO_TIMED_EVENTS, ScenarioSchema, type Scenario, type ScenarioStory } from '@switchboard/schemas/scenario'
import type { Clock } from './clock.ts'
import type { Outcome } from './simulation.ts'
import { canonicalJson } from '../server/canonical-json.ts'

/** Names the story a request plays, whatever its recipient (forwarded by services like the outcome header). */
export const SCENARIO_HEADER = 'x-switchboard-scenario'
/** The settings row holding the active scenario and the instant (on the clock) it started. */
export const SCENARIO_SETTING = 'scenario'
/**
 * On an emulator's answer: the scenario rules that decided it ("story payment-fails-twice step
 * 1/3 (declined)"), so the exchange recorded in the activity journal says which step played.
 */
export const SCENARIO_RULE_HEADER = 'x-switchboard-scenario-rule'

/** The rules played while one emulator request is handled (see collectScenarioRules). */
const requestRules = new AsyncLocalStorage<string[]>()

/**
 * Runs fn (the handling of one emulator request) so that every scenario rule played for it, in
 * this call or anything it awaits, is added to `rules`.
 */
export function collectScenarioRules<T> (rules: string[], fn: () => T): T {
  return requestRules.run(rules, fn)
}

/** The rules as one header value: printable ASCII (a step's note may be any text), at most 1,000 characters. */
export function scenarioRuleHeader (rules: readonly string[]): string {
  return [...new Set(rules)].join('; ').replace(/[^\x20-\x7e]/g, '?').slice(0, 1000)
}

/** What a scenario decided for one request, and which rule of it did. */
export interface ScenarioDecision {
  outcome?: Outcome
  fate?: string
  /** When the step's later events happen: seconds after the request on the emulators' clock, by event name. */
  at_s?: Record<string, number>
  /** e.g. "story payment-fails-twice step 2/3" */
  rule: string
}

/** A rate limit's current window: its size, what is left of it, and when the next one starts. */
export interface RateWindow { limit: number, remaining: number, resetAtMs: number }

export interface ScenarioPlay { at: number, service: string, rule: string, recipient: string | null, decided: string }

/** The active scenario as stored: when it started (on the clock) and which start it is (`run`). */
export interface StoredScenario { scenario: Scenario, started_at: number, run?: string }

const MAX_PLAYED = 500

const globToRegExp = (pattern: string) => new RegExp(`^${pattern.split('*').map(s => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i')
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase() || (/^\+?[\d\s-]+$/.test(a) && a.replace(/\D/g, '') === b.replace(/\D/g, ''))

/**
 * Plays the active scenario (a file of stories, periods and rate limits; see
 * packages/schemas/src/scenario.ts) for the emulators: the layer above the outcome headers and
 * magic values. Periods and rate limits are measured on the emulators' clock from the scenario's
 * start, so a test clock's advance moves through them. Story positions are counted per process:
 * two instances behind one database each play a story from its first step.
 */
export class ScenarioPlayer {
  readonly #clock: Clock
  #active: Scenario | null = null
  #startedAt = 0
  #run: string | undefined
  #counts = new Map<string, number>()
  #windows = new Map<string, { index: number, count: number }>()
  #played: ScenarioPlay[] = []
  #patterns = new Map<string, RegExp>()

  constructor (clock: Clock) {
    this.#clock = clock
  }

  get active (): Scenario | null { return this.#active }
  get startedAt (): number | null { return this.#active ? this.#startedAt : null }

  /** The stored value (or null: none). A new start (another scenario, or the same one again) starts every story over. */
  load (stored: StoredScenario | null): void {
    const startedAt = stored?.started_at ?? 0
    // Compared with keys sorted: the database (jsonb) gives the scenario back with its keys in its
    // own order, and a scenario taken for a new one would start over at the next settings poll,
    // forgetting its rate windows and story counts.
    if (canonicalJson(stored?.scenario ?? null) === canonicalJson(this.#active) && startedAt === this.#startedAt && stored?.run === this.#run) return
    this.#active = stored?.scenario ?? null
    this.#startedAt = startedAt
    this.#run = stored?.run
    this.#counts.clear()
    this.#windows.clear()
    this.#patterns.clear()
    this.#played = []
  }

  /** Steps played so far, newest first. */
  played (): ScenarioPlay[] {
    return [...this.#played].reverse()
  }

  /** A period or rate limit that applies to every request of the service now, if any. */
  gate (service: string): ScenarioDecision | undefined {
    const s = this.#active
    if (!s) return undefined
    const elapsedS = (this.#clock.now() - this.#startedAt) / 1000
    for (const p of s.periods ?? []) {
      if (p.service !== undefined && p.service !== service) continue
      if (elapsedS >= p.from_s && elapsedS < p.to_s) return this.#play(service, null, `period ${p.from_s}-${p.to_s} s`, { outcome: p.outcome })
    }
    for (const [i, r] of (s.rate_limits ?? []).entries()) {
      if (r.service !== undefined && r.service !== service) continue
      const index = Math.floor(elapsedS / r.per_s)
      const key = `${i}\0${service}`
      let w = this.#windows.get(key)
      if (!w || w.index !== index) { w = { index, count: 0 }; this.#windows.set(key, w) }
      if (w.count >= r.max) return this.#play(service, null, `rate limit ${r.max}/${r.per_s} s`, { outcome: 'rate_limited' })
      w.count++
    }
    return undefined
  }

  /**
   * The scenario's rate limit with the fewest requests left for the service in its current window,
   * if any applies: what rate-limit headers (SendGrid's X-RateLimit-*) report. `resetAtMs` is on
   * the emulators' clock.
   */
  /**
   * Seconds until the service may send again, for a 429's Retry-After: until the spent window of
   * the scenario's rate limit ends (on the emulators' clock), else 1 (a random or forced 429).
   */
  retryAfterSeconds (service: string): number {
    const w = this.rateWindow(service)
    return w !== undefined && w.remaining === 0 ? Math.max(1, Math.ceil((w.resetAtMs - this.#clock.now()) / 1000)) : 1
  }

  rateWindow (service: string): RateWindow | undefined {
    const s = this.#active
    if (!s?.rate_limits?.length) return undefined
    const elapsedS = (this.#clock.now() - this.#startedAt) / 1000
    let tightest: RateWindow | undefined
    for (const [i, r] of s.rate_limits.entries()) {
      if (r.service !== undefined && r.service !== service) continue
      const index = Math.floor(elapsedS / r.per_s)
      const w = this.#windows.get(`${i}\0${service}`)
      const remaining = Math.max(0, r.max - (w?.index === index ? w.count : 0))
      if (!tightest || remaining < tightest.remaining) tightest = { limit: r.max, remaining, resetAtMs: this.#startedAt + (index + 1) * r.per_s * 1000 }
    }
    return tightest
  }

  /**
   * What is wrong with a request's scenario header for this service, in words, or undefined when it
   * names one of the playing scenario's stories for it. A name that matches nothing was ignored,
   * and the request played as if it had none: the pitfall of naming the scenario, not its story.
   */
  storyHeaderProblem (service: string, header: string): string | undefined {
    const s = this.#active
    if (!s) return 'names a story, but no scenario is playing: play one (PUT /api/admin/scenario) or leave the header out'
    if (s.stories?.some(st => st.name === header && st.service === service)) return undefined
    const names = (s.stories ?? []).filter(st => st.service === service).map(st => st.name)
    return `names no ${service} story of the scenario playing ("${s.name}"): ${names.length ? `its ${service} stories are ${names.join(', ')}` : `it has none for ${service}`}`
  }

  /**
   * The next step of the story this request plays, if any: the one its scenario header names, else
   * the first whose recipient pattern matches. Each call consumes a step (per story and recipient).
   */
  story (service: string, recipient: string | null | undefined, header?: string): ScenarioDecision | undefined {
    const s = this.#active
    if (!s?.stories?.length) return undefined
    const story = header
      ? s.stories.find(st => st.name === header && st.service === service)
      : recipient ? s.stories.find(st => st.service === service && st.recipient !== undefined && this.#matches(st, recipient)) : undefined
    if (!story) return undefined
    const key = `${story.name}\0${(recipient ?? '').toLowerCase()}`
    const n = this.#counts.get(key) ?? 0
    const step = n < story.steps.length ? story.steps[n] : story.then === 'repeat_last' ? story.steps.at(-1) : undefined
    if (!step) return undefined
    this.#counts.set(key, n + 1)
    const shown = Math.min(n + 1, story.steps.length)
    return this.#play(service, recipient ?? null, `story ${story.name} step ${shown}/${story.steps.length}${step.note ? ` (${step.note})` : ''}`, { outcome: step.outcome, fate: step.fate, at_s: step.at_s })
  }

  #matches (story: ScenarioStory, recipient: string): boolean {
    const pattern = story.recipient!
    if (!pattern.includes('*')) return same(pattern, recipient)
    let re = this.#patterns.get(pattern)
    if (!re) { re = globToRegExp(pattern); this.#patterns.set(pattern, re) }
    return re.test(recipient)
  }

  #play (service: string, recipient: string | null, rule: string, d: Omit<ScenarioDecision, 'rule'>): ScenarioDecision {
    const timed = d.at_s ? Object.entries(d.at_s).map(([event, s]) => `${event} at ${s} s`).join(', ') : ''
    const decided = [d.outcome, d.fate && `fate ${d.fate}`, timed].filter(Boolean).join(', ')
    this.#played.push({ at: this.#clock.now(), service, rule, recipient, decided })
    requestRules.getStore()?.push(rule)
    if (this.#played.length > MAX_PLAYED) this.#played.splice(0, this.#played.length - MAX_PLAYED)
    return { ...d, rule }
  }
}

/** The example scenarios shipped with Switchboard (packages/service-kit/scenarios/*.json). */
export const SCENARIO_EXAMPLES_DIR = fileURLToPath(new URL('../../scenarios/', import.meta.url))

export function listScenarioExamples (): Array<{ name: string, description: string }> {
  return readdirSync(SCENARIO_EXAMPLES_DIR).filter(f => f.endsWith('.json')).sort().map(f => {
    const s = JSON.parse(readFileSync(join(SCENARIO_EXAMPLES_DIR, f), 'utf8')) as Scenario
    return { name: s.name, description: s.description ?? '' }
  })
}

/** An example by name, checked against the schema; undefined when there is none of that name. */
export function readScenarioExample (name: string): Scenario | undefined {
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(name)) return undefined
  let parsed: unknown
  try { parsed = JSON.parse(readFileSync(join(SCENARIO_EXAMPLES_DIR, `${name}.json`), 'utf8')) } catch { return undefined }
  if (!Value.Check(ScenarioSchema, parsed)) throw new Error(`Example scenario ${name} does not match the schema: ${[...Value.Errors(ScenarioSchema, parsed)].map(e => `${e.path} ${e.message}`).join('; ')}`)
  return parsed
}

/** Fates a scenario names that its service does not know: each as "stories/<i>/steps/<j>/fate: …". */
export function unknownFates (scenario: Scenario): string[] {
  const problems: string[] = []
  for (const [i, story] of (scenario.stories ?? []).entries()) {
    for (const [j, step] of story.steps.entries()) {
      if (step.fate !== undefined && !SCENARIO_FATES[story.service].includes(step.fate)) {
        problems.push(`stories/${i}/steps/${j}/fate: ${story.service} has no fate "${step.fate}" (known: ${SCENARIO_FATES[story.service].join(', ') || 'none'})`)
      }
      for (const event of Object.keys(step.at_s ?? {})) {
        if (!SCENARIO_TIMED_EVENTS[story.service].includes(event)) {
          problems.push(`stories/${i}/steps/${j}/at_s/${event}: ${story.service} sends no later event "${event}" (known: ${SCENARIO_TIMED_EVENTS[story.service].join(', ') || 'none'})`)
        }
      }
    }
  }
  for (const [i, p] of (scenario.periods ?? []).entries()) if (p.to_s <= p.from_s) problems.push(`periods/${i}/to_s: must be after from_s`)
  return [...problems, ...storyProblems(scenario)]
}

/** Events that follow one another in a message's life: a step may not time the later one first. */
const EVENT_ORDER: Partial<Record<ScenarioStory['service'], Array<[string, string]>>> = {
  email: [['processed', 'delivered'], ['processed', 'deferred'], ['deferred', 'delivered'], ['processed', 'bounce'], ['processed', 'dropped'], ['delivered', 'open'], ['open', 'click'], ['delivered', 'spamreport']],
  whatsapp: [['sent', 'delivered'], ['delivered', 'read'], ['read', 'reply'], ['sent', 'failed']]
}
const PHONE_OR_PATTERN = /^(?:\+?[\d\s()-]{6,}|.*\*.*)$/

/** What a story says that the emulators could not play as written: each names where it is. */
function storyProblems (scenario: Scenario): string[] {
  const problems: string[] = []
  const named = new Map<string, number>()
  for (const [i, story] of (scenario.stories ?? []).entries()) {
    // The header picks a story by name: two of one name, and the second could never be named.
    const first = named.get(story.name)
    if (first !== undefined) problems.push(`stories/${i}/name: "${story.name}" is stories/${first}'s name too; give each story its own`)
    else named.set(story.name, i)
    if (story.recipient !== undefined && (story.service === 'whatsapp' || story.service === 'voice') && !PHONE_OR_PATTERN.test(story.recipient)) {
      problems.push(`stories/${i}/recipient: a ${story.service} story's recipient is a phone number (or a pattern with *), not "${story.recipient}"`)
    }
    if (story.recipient !== undefined && story.service === 'email' && !/[@*]/.test(story.recipient)) {
      problems.push(`stories/${i}/recipient: an email story's recipient is an address (or a pattern with *), not "${story.recipient}"`)
    }
    for (const [j, step] of story.steps.entries()) {
      // An outcome that is not success refuses the request: no fate could follow it.
      if (step.fate !== undefined && step.outcome !== undefined && step.outcome !== 'success') {
        problems.push(`stories/${i}/steps/${j}: a step either refuses the request (outcome ${step.outcome}) or gives it a fate (${step.fate}), not both`)
      }
      const at = step.at_s ?? {}
      for (const [earlier, later] of EVENT_ORDER[story.service] ?? []) {
        if (at[earlier] !== undefined && at[later] !== undefined && at[later] < at[earlier]) {
          problems.push(`stories/${i}/steps/${j}/at_s/${later}: at ${at[later]} s, before ${earlier} (${at[earlier]} s), which comes first`)
        }
      }
    }
  }
  return problems
}
