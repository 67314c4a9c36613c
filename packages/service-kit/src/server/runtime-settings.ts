import { newRowId, type ActivityLog, type SettingRow } from '@switchboard/activity-log'
import type { Mode } from '@switchboard/schemas/common'
import { clockMode, parseClockState, TestClock, type ClockState } from '../emulator/clock.ts'
import type { Scenario } from '@switchboard/schemas/scenario'
import { ScenarioPlayer, SCENARIO_SETTING, type StoredScenario } from '../emulator/scenarios.ts'
import { SERVICES, SERVICE_NAMES, type ServiceName } from './services.ts'
import type { SimulationSettings } from '../emulator/simulation.ts'

/** What a service needs to know, at every request, about how it should behave. */
export interface ServiceRuntime {
  mode: Mode
  /** Real provider failing → use the emulator and mark rows as fallback (never for payments). */
  fallback: boolean
  simulation: SimulationSettings
}

export interface RuntimeSettingsOptions {
  activityLog: ActivityLog
  /** Seeds for first start (mode) and start-up overrides (simulation from the environment). */
  seed: { mockMode: boolean, useMockZoom: boolean, simulation?: Partial<Record<ServiceName, Partial<SimulationSettings>>> }
  pollMs?: number
  logger?: { info: (obj: object, msg?: string) => void, warn: (obj: object, msg?: string) => void }
}

/** The settings row holding the test clock's state (see clock.ts), shared by every service. */
export const CLOCK_SETTING = 'clock'

const key = (kind: 'mode' | 'fallback' | 'simulation', service: ServiceName) => `${kind}.${service}`

function defaults (seed: RuntimeSettingsOptions['seed']): Record<ServiceName, ServiceRuntime> {
  const out = {} as Record<ServiceName, ServiceRuntime>
  for (const name of SERVICE_NAMES) {
    const d = SERVICES[name]
    const mock = d.modeVariable === 'USE_MOCK_ZOOM' ? seed.useMockZoom : seed.mockMode
    out[name] = { mode: mock ? 'mock' : 'live', fallback: false, simulation: { ...d.simulation, ...seed.simulation?.[name] } }
  }
  return out
}

/**
 * The runtime switch and simulation settings, kept in the settings table so every service
 * instance follows a change within one poll interval and the setting survives restarts.
 * Reads are synchronous from a cache; the cache is refreshed every pollMs.
 */
export class RuntimeSettings {
  readonly #log: ActivityLog
  readonly #opts: RuntimeSettingsOptions
  #current: Record<ServiceName, ServiceRuntime>
  #timer: NodeJS.Timeout | undefined
  #listeners = new Set<(service: ServiceName, runtime: ServiceRuntime) => void>()
  /** The emulators' clock for this process: follows the `clock` setting (real time when absent). */
  readonly clock = new TestClock()
  /** The active scenario (stories, periods, rate limits), played on this clock. */
  readonly scenarios = new ScenarioPlayer(this.clock)

  constructor (opts: RuntimeSettingsOptions) {
    this.#log = opts.activityLog
    this.#opts = opts
    this.#current = defaults(opts.seed)
  }

  /** Seeds missing settings, applies environment overrides, loads, and starts polling. */
  async start (): Promise<void> {
    const read = await this.#log.readSettings()
    const existing = new Map(read.map(r => [r.key, r.value]))
    let wrote = false
    const seeds: SettingRow[] = []
    for (const name of SERVICE_NAMES) {
      const d = this.#current[name]
      if (!existing.has(key('mode', name))) seeds.push({ key: key('mode', name), value: d.mode, updated_by: 'seed' })
      if (!existing.has(key('fallback', name))) seeds.push({ key: key('fallback', name), value: d.fallback, updated_by: 'seed' })
      const envOverride = this.#opts.seed.simulation?.[name]
      const stored = existing.get(key('simulation', name)) as SimulationSettings | undefined
      if (!stored) {
        seeds.push({ key: key('simulation', name), value: d.simulation, updated_by: 'seed' })
      } else if (envOverride && Object.keys(envOverride).length > 0) {
        // Simulation variables set in the environment win at start: a user who sets
        // EMAIL_SUCCESS_RATE expects it to apply, whatever was stored earlier.
        const merged = { ...stored, ...envOverride }
        if (JSON.stringify(merged) !== JSON.stringify(stored)) {
          await this.#write(key('simulation', name), stored, merged, 'environment')
          wrote = true
        }
      }
    }
    if (seeds.length) await this.#log.writeSettings(seeds)
    // Read again only when this start wrote something (a start on existing settings reads them once).
    if (seeds.length || wrote) await this.refresh()
    else this.#load(read)
    const pollMs = this.#opts.pollMs ?? 1000
    this.#timer = setInterval(() => { this.refresh().catch(err => this.#opts.logger?.warn({ err }, 'could not refresh runtime settings; keeping the last known ones')) }, pollMs)
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
    this.clock.close()
  }

  get (service: ServiceName): ServiceRuntime {
    return this.#current[service]
  }

  all (): Record<ServiceName, ServiceRuntime> {
    return this.#current
  }

  onChange (listener: (service: ServiceName, runtime: ServiceRuntime) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  async refresh (): Promise<void> {
    this.#load(await this.#log.readSettings())
  }

  /** Applies the stored settings rows. */
  #load (rows: SettingRow[]): void {
    const next = structuredClone(this.#current)
    for (const row of rows) {
      if (row.key === CLOCK_SETTING) this.clock.apply(parseClockState(row.value))
      if (row.key === SCENARIO_SETTING) this.scenarios.load(row.value && typeof row.value === 'object' && (row.value as { scenario?: unknown }).scenario ? row.value as StoredScenario : null)
      const [kind, name] = String(row.key).split('.') as [string, ServiceName]
      if (!next[name]) continue
      if (kind === 'mode' && (row.value === 'mock' || row.value === 'live')) next[name].mode = row.value
      if (kind === 'fallback' && typeof row.value === 'boolean') next[name].fallback = row.value
      if (kind === 'simulation' && row.value && typeof row.value === 'object') next[name].simulation = { ...next[name].simulation, ...(row.value as SimulationSettings) }
    }
    this.#apply(next)
  }

  /** Changes one service's settings, records who changed what, and applies it here at once. */
  async update (service: ServiceName, patch: { mode?: Mode, fallback?: boolean, simulation?: Partial<SimulationSettings> }, changedBy: string): Promise<ServiceRuntime> {
    const cur = this.#current[service]
    if (patch.mode !== undefined && patch.mode !== cur.mode) await this.#write(key('mode', service), cur.mode, patch.mode, changedBy)
    if (patch.fallback !== undefined && patch.fallback !== cur.fallback) await this.#write(key('fallback', service), cur.fallback, patch.fallback, changedBy)
    if (patch.simulation) {
      const sim = { ...cur.simulation, ...patch.simulation }
      if (JSON.stringify(sim) !== JSON.stringify(cur.simulation)) await this.#write(key('simulation', service), cur.simulation, sim, changedBy)
    }
    await this.refresh()
    return this.#current[service]
  }

  /**
   * Puts a service's simulation (latency, success rate, seed, scenario) and fallback back to what
   * it started with: the spec's defaults plus this process's environment overrides. The mode stays.
   */
  async restoreDefaults (service: ServiceName, changedBy: string): Promise<ServiceRuntime> {
    const start = defaults(this.#opts.seed)[service]
    return this.update(service, { fallback: start.fallback, simulation: start.simulation }, changedBy)
  }

  /**
   * Stores the test clock's new state (every instance follows on its next refresh) and applies it
   * here at once. The change is recorded like any setting, with the mode in words.
   */
  async setClock (state: ClockState, changedBy: string): Promise<ClockState> {
    await this.#write(CLOCK_SETTING, { ...this.clock.state, mode: this.clock.mode }, { ...state, mode: clockMode(state) }, changedBy)
    this.clock.apply(state)
    return this.clock.state
  }

  /** Starts a scenario now (on the clock), or stops the active one (null); every instance follows. */
  async setScenario (scenario: Scenario | null, changedBy: string): Promise<StoredScenario | null> {
    // A run of its own: played again at the same instant (a frozen clock), it still starts over.
    const value: StoredScenario | null = scenario ? { scenario, started_at: this.clock.now(), run: newRowId() } : null
    const active = this.scenarios.active
    // Stopped is stored as an object too (a settings value is never null).
    await this.#write(SCENARIO_SETTING, active ? { name: active.name } : { scenario: null }, value ?? { scenario: null }, changedBy)
    this.scenarios.load(value)
    return value
  }

  async #write (settingKey: string, from: unknown, to: unknown, changedBy: string): Promise<void> {
    // Written straight to the backend, not through the buffer: the caller must know it persisted.
    await this.#log.writeSettings([{ key: settingKey, value: to, updated_at: new Date().toISOString(), updated_by: changedBy }],
      [{ id: newRowId(), key: settingKey, from_value: from ?? null, to_value: to, changed_by: changedBy }])
    this.#opts.logger?.info({ setting: settingKey, from, to, changedBy }, 'runtime setting changed')
  }

  #apply (next: Record<ServiceName, ServiceRuntime>): void {
    const prev = this.#current
    this.#current = next
    for (const name of SERVICE_NAMES) {
      if (JSON.stringify(prev[name]) !== JSON.stringify(next[name])) for (const l of this.#listeners) l(name, next[name])
    }
  }
}
