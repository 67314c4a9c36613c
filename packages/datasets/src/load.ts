import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Value } from '@sinclair/typebox/value'
import { request } from 'undici'
import { planDataset, seededRandom, type Step } from './plan.ts'
import { DatasetSchema, type Dataset } from './schema.ts'

/** The data sets shipped with Switchboard, by name. */
export const DATASETS_DIR = join(import.meta.dirname, '..', 'datasets')
export const BUILT_IN = ['demo'] as const

/**
 * A data set by name (one shipped with Switchboard) or by path (a team's own file), validated. A
 * bad file is refused with every problem and where it is.
 */
export function readDataset (nameOrPath: string): Dataset {
  const file = /^[a-z0-9][a-z0-9_-]*$/.test(nameOrPath) ? join(DATASETS_DIR, `${nameOrPath}.json`) : nameOrPath
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new Error(code === 'ENOENT'
      ? `No data set "${nameOrPath}" (looked for ${file}). Built in: ${BUILT_IN.join(', ')}; or give the path of your own JSON file.`
      : `Data set ${file} is not valid JSON: ${(err as Error).message}`)
  }
  return validateDataset(parsed, file)
}

export function validateDataset (value: unknown, where = 'the data set'): Dataset {
  if (Value.Check(DatasetSchema, value)) {
    const unknown = unknownPlaceholders(value)
    if (unknown.length === 0) return value
    throw new Error(`${where} has placeholders nothing fills in (they would be sent as written):\n  ${unknown.slice(0, 10).join('\n  ')}`)
  }
  const problems = [...Value.Errors(DatasetSchema, value)].slice(0, 10).map(e => `${e.path || '/'}: ${e.message}`)
  throw new Error(`${where} does not match the data set schema (packages/datasets/datasets/dataset.schema.json):\n  ${problems.join('\n  ')}`)
}

/** The {{placeholders}} each kind of text has filled in (plan.ts's fill). */
const CONTACT_KEYS = ['name', 'full_name', 'company']
const FILLED: Array<{ path: RegExp, keys: string[] }> = [
  { path: /^\/email\/(?:subjects|bodies)\/\d+$/, keys: CONTACT_KEYS },
  { path: /^\/whatsapp\/(?:messages\/templates\/\d+|campaigns\/\d+)\/params\/\d+$/, keys: [...CONTACT_KEYS, 'order', 'amount'] },
  { path: /^\/zoom\/topics\/\d+$/, keys: CONTACT_KEYS }
]

/** A {{key}} in a text that fills none in, or one its text does not fill: a typo sent as written. */
function unknownPlaceholders (dataset: Dataset): string[] {
  const problems: string[] = []
  const walk = (value: unknown, path: string): void => {
    if (typeof value === 'string') {
      const keys = FILLED.find(f => f.path.test(path))?.keys ?? []
      for (const [, key] of value.matchAll(/\{\{(\w+)\}\}/g)) {
        if (!keys.includes(key!)) problems.push(`${path}: {{${key}}} is not filled in here${keys.length ? ` (known: ${keys.map(k => `{{${k}}}`).join(', ')})` : ''}`)
      }
    } else if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}/${i}`))
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, `${path}/${k}`)
  }
  walk(dataset, '')
  return problems
}

export interface LoadOptions {
  baseUrl: string
  apiToken: string
  adminToken: string
  seed?: number
  /** Requests in flight at once. Default 8. */
  concurrency?: number
  /**
   * Provider latency per request: 'realistic' (a seeded 80–600 ms, so Stats shows believable
   * latencies) or a fixed number of milliseconds (0 for tests). Default 'realistic'.
   */
  latency?: 'realistic' | number
  log?: (line: string) => void
  /** After each step: how many are done (and how many succeeded) of how many. */
  progress?: (done: number, ok: number, total: number) => void
}

export interface LoadReport {
  dataset: string
  seed: number
  steps: number
  ok: number
  byKind: Record<string, number>
  failures: Array<{ kind: Step['kind'], status: number, message: string }>
  durationMs: number
}

/**
 * Plays a data set through the gateway: every email, message, link, call and meeting is created by
 * the same API calls a team's app would make, so every table, stat and emulator agrees. Outcomes
 * that the data set fixes are forced with the emulators' documented magic values and
 * `x-switchboard-outcome`; the rest follow the simulation settings (seeded with SIM_SEED).
 */
export async function loadDataset (dataset: Dataset, opts: LoadOptions): Promise<LoadReport> {
  const started = performance.now()
  const base = opts.baseUrl.replace(/\/+$/, '')

  async function call (method: 'GET' | 'POST' | 'PATCH', path: string, body: unknown, latencyMs: number, admin = false, force = true): Promise<{ status: number, body: any }> {
    const res = await request(base + path, {
      method,
      headers: {
        authorization: `Bearer ${admin ? opts.adminToken : opts.apiToken}`,
        'content-type': 'application/json',
        'x-switchboard-latency-ms': String(latencyMs),
        ...(force ? { 'x-switchboard-outcome': 'success' } : {})
      },
      body: JSON.stringify(body),
      headersTimeout: 60_000,
      bodyTimeout: 60_000
    })
    const text = await res.body.text()
    let parsed: unknown = text
    try { parsed = JSON.parse(text) } catch { /* not JSON: kept as text for the message */ }
    return { status: res.statusCode, body: parsed }
  }

  /** One clear error instead of a failure per step when the gateway is away or a token is wrong. */
  async function preflight (): Promise<void> {
    for (const [token, which] of [[opts.apiToken, 'API'], [opts.adminToken, 'admin']] as const) {
      const path = which === 'API' ? '/api/automation/email/stats' : '/api/admin/settings/mock-mode'
      const res = await request(base + path, { headers: { authorization: `Bearer ${token}` }, headersTimeout: 10_000, bodyTimeout: 10_000 }).catch((err: Error & { code?: string }) => {
        throw new Error(`no Switchboard gateway answers at ${base} (${err.code ?? err.message}). Start one with ./switchboard start, or give its URL.`)
      })
      await res.body.dump()
      if (res.statusCode === 401) throw new Error(`the gateway at ${base} refused the ${which} token. Use the tokens the stack printed at start (or .data/tokens.json).`)
    }
  }

  async function run (step: Step, latencyMs: number): Promise<{ status: number, body: any }> {
    switch (step.kind) {
      case 'email': return call('POST', '/api/automation/trigger/email', step.body, latencyMs)
      // Accepted for sure; whether it is then delivered and read follows the WhatsApp simulation's rates.
      case 'whatsapp': return call('POST', '/api/automation/trigger/whatsapp', step.body, latencyMs)
      // Not forced: a campaign's contacts fail at the configured rate, as a real campaign's do.
      case 'whatsapp_campaign': return call('POST', '/api/automation/whatsapp/campaigns', step.body, latencyMs, false, false)
      case 'call': return call('POST', '/api/automation/trigger/call', step.body, latencyMs)
      case 'payment': {
        const created = await call('POST', '/api/admin/payment-links', step.body, latencyMs, true)
        if (created.status >= 300 || step.outcome === 'pending') return created
        return call('POST', `/api/admin/payment-links/${created.body.id}/simulate`, { outcome: step.outcome === 'paid' ? 'success' : 'failure' }, latencyMs, true)
      }
      case 'meeting': {
        const created = await call('POST', '/api/zoom/meetings', step.body, latencyMs)
        if (created.status >= 300 || !step.ended) return created
        return call('POST', `/api/zoom/meetings/${created.body.id}/end`, {}, latencyMs)
      }
    }
  }

  await preflight()

  // Planned at the test clock's now (real time unless a test froze or moved it): what is booked
  // for later (a scheduled meeting) is later on the clock the emulators run on.
  const clockNow = await call('GET', '/api/admin/clock', undefined, 0, true, false)
  const clockMode: unknown = clockNow.body?.mode
  const now = Date.parse(String(clockNow.body?.now))
  const plan = planDataset(dataset, opts.seed, Number.isFinite(now) ? now : Date.now())
  const latencyRandom = seededRandom(plan.seed ^ 0x5eed)
  const latencies = plan.steps.map(() => opts.latency === undefined || opts.latency === 'realistic' ? Math.round(80 + latencyRandom() * 520) : opts.latency)
  const report: LoadReport = { dataset: plan.dataset, seed: plan.seed, steps: plan.steps.length, ok: 0, byKind: {}, failures: [], durationMs: 0 }

  /** The steps `indexes` (all of them by default), `concurrency` at a time. */
  async function play (indexes: number[]): Promise<void> {
    let next = 0
    const worker = async () => {
      while (next < indexes.length) {
        const index = indexes[next++]!
        await playStep(index)
      }
    }
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 8) }, worker))
  }

  async function playStep (index: number): Promise<void> {
    const step = plan.steps[index]!
    try {
      const res = await run(step, latencies[index]!)
      if (res.status >= 200 && res.status < 300) {
        report.ok++
        report.byKind[step.kind] = (report.byKind[step.kind] ?? 0) + 1
      } else {
        report.failures.push({ kind: step.kind, status: res.status, message: typeof res.body === 'object' && res.body !== null ? String(res.body.message ?? JSON.stringify(res.body)) : String(res.body).slice(0, 300) })
      }
    } catch (err) {
      report.failures.push({ kind: step.kind, status: 0, message: (err as Error).message })
    }
    opts.progress?.(report.ok + report.failures.length, report.ok, report.steps)
  }

  const clock = async (path: string, body?: unknown) => {
    const res = await call('POST', `/api/admin/clock/${path}`, body ?? {}, 0, true, false)
    if (res.status !== 200) throw new Error(`the gateway refused to set the test clock (${path}: HTTP ${res.status} ${JSON.stringify(res.body)})`)
  }
  // WhatsApp's deliveries and reads (and a campaign's failures) follow its simulation's draws: the
  // data set forces only its sends. Unseeded, they differ on every load; so for the load they are
  // seeded with the data set's seed (the same seed, the same statuses), unless a seed is set there
  // already, and the setting is put back after. A seeded draw follows from what each message is,
  // not from when it arrives, so the load's concurrency changes nothing.
  const restoreSeed = await seedWhatsApp()
  try {
    await playPlan()
  } finally {
    if (restoreSeed) await call('PATCH', '/api/admin/settings/services/whatsapp', { simulation: { seed: null } }, 0, true, false).catch(() => undefined)
  }

  async function seedWhatsApp (): Promise<boolean> {
    if (!plan.steps.some(s => s.kind === 'whatsapp' || s.kind === 'whatsapp_campaign')) return false
    const settings = await call('GET', '/api/admin/settings/mock-mode', undefined, 0, true, false)
    if (settings.status !== 200 || settings.body?.services?.whatsapp?.simulation?.seed !== null) return false
    const seeded = await call('PATCH', '/api/admin/settings/services/whatsapp', { simulation: { seed: plan.seed } }, 0, true, false)
    if (seeded.status !== 200) opts.log?.(`could not seed WhatsApp's simulation for the load (HTTP ${seeded.status}): its statuses will differ from load to load`)
    return seeded.status === 200
  }

  report.durationMs = Math.round(performance.now() - started)
  opts.log?.(`data set ${report.dataset} (seed ${report.seed}): ${report.ok} of ${report.steps} steps done in ${(report.durationMs / 1000).toFixed(1)} s` +
    `${Object.entries(report.byKind).map(([k, n]) => `, ${n} ${k}`).join('')}${report.failures.length ? `; ${report.failures.length} failed` : ''}`)
  return report

  async function playPlan (): Promise<void> {
    const all = plan.steps.map((_, i) => i)
    const ago = plan.agoMs
    if (!ago) {
      await play(all)
    } else if (clockMode !== 'real') {
      // A clock a test froze or moved is left alone: the history is played at its now.
      opts.log?.(`the test clock is ${String(clockMode)}: the history is loaded at its now, not spread over the past ${ago.length ? 'days' : ''}`)
      await play(all)
    } else {
      // The history: the test clock set back to each hour that has traffic (oldest first), that
      // hour's steps played there, so each row, exchange and event is stamped when it happened;
      // then back to real time, which lets every event still due (deliveries, opens, call
      // statuses) happen at its own instant on the way.
      const start = Date.now()
      const slots = new Map<number, number[]>()
      for (const i of all) {
        const at = start - ago[i]!
        const key = Math.floor(at / 3_600_000)
        if (!slots.has(key)) slots.set(key, [])
        slots.get(key)!.push(i)
      }
      try {
        for (const indexes of slots.values()) {
          await clock('set', { to: new Date(start - ago[indexes[0]!]!).toISOString() })
          await play(indexes)
        }
      } finally {
        await clock('real')
      }
    }
  }
}
