import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { request as httpRequest } from 'undici'
import {
  MockModeReplySchema, MockModeRequestSchema, ServiceParamsSchema, ServiceSettingsPatchSchema,
  ServiceSettingsSchema, SettingsChangesSchema, type ServiceSettings
} from '@switchboard/schemas/admin'
import { errorResponses, type ServiceStatus } from '@switchboard/schemas/common'
import { appError } from '@switchboard/service-kit/errors'
import type { RuntimeSettings, ServiceRuntime } from '@switchboard/service-kit/runtime-settings'
import { SERVICES, type ServiceName } from '@switchboard/service-kit/services'
import type { SimulationSettings } from '@switchboard/service-kit/simulation'
import type { ActivityLog } from '@switchboard/activity-log'
import { Type } from '@sinclair/typebox'

export interface AdminSettingsOptions {
  services: ServiceName[]
  runtime: RuntimeSettings
  activityLog: ActivityLog
}

const tags = ['admin']
const security = [{ adminToken: [] }]
// Never fall back where the emulator's answer would mislead a person (SERVICES[name].neverFallsBack):
// a payment link from the emulator takes a buyer to a page that cannot pay; a Zoom meeting from the
// emulator sends invitees a join link to a meeting that does not exist.
const fallbackForbidden = (name: ServiceName): string | undefined => SERVICES[name].neverFallsBack

const toView = (s: SimulationSettings) => ({ latency_ms: s.latencyMs, success_rate: s.successRate, seed: s.seed, scenario: s.scenario })
const who = (request: FastifyRequest) => `admin@${request.ip}`

/**
 * The runtime switch and simulation controls. The gateway writes the settings table; every service
 * polls it, so a change reaches every instance within a poll interval and survives restarts.
 */
export const adminSettingsRoutes: FastifyPluginAsyncTypebox<AdminSettingsOptions> = async (app, { services, runtime, activityLog }) => {
  async function status (name: ServiceName): Promise<ServiceStatus | undefined> {
    try {
      const res = await httpRequest(`${app.upstreams[name]}/admin/status`, { headers: app.upstreamHeaders, headersTimeout: 1500, bodyTimeout: 1500 })
      if (res.statusCode !== 200) { await res.body.dump(); return undefined }
      return await res.body.json() as ServiceStatus
    } catch {
      return undefined
    }
  }

  function view (name: ServiceName, rt: ServiceRuntime, st: ServiceStatus | undefined): ServiceSettings {
    return {
      provider: SERVICES[name].provider,
      // The database is the truth for mode and simulation; the service reports what it can check.
      mode: rt.mode,
      reachable: !!st,
      ready: st?.ready ?? false,
      fallback: rt.fallback,
      fallback_allowed: fallbackForbidden(name) === undefined,
      fallback_note: fallbackForbidden(name) ?? null,
      credentials: st?.credentials ?? [],
      missing: st?.missing ?? [],
      needs: st === undefined ? '' : st.needs || st.missing.join(' and '),
      simulation: toView(rt.simulation)
    }
  }

  async function snapshot () {
    await runtime.refresh()
    const statuses = await Promise.all(services.map(status))
    const entries = services.map((name, i) => [name, view(name, runtime.get(name), statuses[i])] as const)
    const modes = new Set(services.filter(s => s !== 'zoom').map(s => runtime.get(s).mode))
    return {
      // One boolean for several services would read "live" while four of five are mock.
      mock_mode: modes.size > 1 ? 'mixed' as const : !modes.has('live'),
      use_mock_zoom: runtime.get('zoom').mode === 'mock',
      services: Object.fromEntries(entries)
    }
  }

  function known (name: ServiceName): void {
    if (!services.includes(name)) throw appError('ADMIN_SERVICE_NOT_FOUND', `There is no ${name} service behind this gateway. Known: ${services.join(', ')}.`)
  }

  app.get('/api/admin/settings/mock-mode', {
    schema: { tags, security, summary: 'Mode, readiness, masked keys and simulation settings of every service', response: { 200: MockModeReplySchema, ...errorResponses } }
  }, async () => snapshot())

  app.post('/api/admin/settings/mock-mode', {
    schema: { tags, security, summary: 'Switch all services (except zoom) or one service between mock and live', body: MockModeRequestSchema, response: { 200: MockModeReplySchema, ...errorResponses } }
  }, async (request) => {
    const { mock_mode: mock, service } = request.body
    if (service) known(service)
    const targets = service ? [service] : services.filter(s => s !== 'zoom')
    const mode = mock ? 'mock' : 'live'
    if (!mock) {
      // Refuse the whole change if any target could not work live: half a switch surprises people.
      const problems: string[] = []
      for (const name of targets) {
        const st = await status(name)
        if (!st) problems.push(`the ${name} service cannot be reached to check its credentials`)
        else if (st.missing.length) problems.push(`${name} needs ${st.needs || st.missing.join(' and ')}`)
      }
      if (problems.length) {
        throw appError('ADMIN_CREDENTIALS_MISSING', `Cannot switch to live mode: ${problems.join('; ')}. Set the variables in the service's environment and restart it, then switch again.`, { details: { problems } })
      }
    }
    for (const name of targets) await runtime.update(name, { mode }, who(request))
    return snapshot()
  })

  app.patch('/api/admin/settings/services/:service', {
    schema: { tags, security, summary: 'Change a service\'s simulation (latency, success rate, seed, scenario) or fallback', params: ServiceParamsSchema, body: ServiceSettingsPatchSchema, response: { 200: ServiceSettingsSchema, ...errorResponses } }
  }, async (request) => {
    const name = request.params.service
    const { simulation, fallback } = request.body
    const refusal = fallbackForbidden(name)
    if (fallback && refusal) {
      throw appError('ADMIN_FALLBACK_NOT_ALLOWED', `${refusal} Fix the provider, or switch ${name} to mock mode on purpose.`)
    }
    known(name)
    const current = runtime.get(name).simulation
    const latency = simulation?.latency_ms ?? current.latencyMs
    if (latency.max < latency.min) throw appError('ADMIN_INVALID_REQUEST', `body/simulation/latency_ms: max (${latency.max}) must not be below min (${latency.min}).`)
    const patch: Partial<SimulationSettings> = {}
    if (simulation?.latency_ms) patch.latencyMs = simulation.latency_ms
    if (simulation?.success_rate !== undefined) patch.successRate = simulation.success_rate
    if (simulation?.seed !== undefined) patch.seed = simulation.seed
    if (simulation?.scenario !== undefined) patch.scenario = simulation.scenario
    const rt = await runtime.update(name, { ...(simulation ? { simulation: patch } : {}), ...(fallback !== undefined ? { fallback } : {}) }, who(request))
    return view(name, rt, await status(name))
  })

  app.get('/api/admin/settings/changes', {
    schema: { tags, security, summary: 'Who changed which setting, when, from what to what', querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }), response: { 200: SettingsChangesSchema, ...errorResponses } }
  }, async (request) => {
    const rows = await activityLog.select('settings_changes', { orderBy: { column: 'changed_at', ascending: false }, limit: request.query.limit })
    return { items: rows.map(r => ({ key: String(r.key), from_value: r.from_value, to_value: r.to_value, changed_by: (r.changed_by as string | null) ?? null, changed_at: String(r.changed_at) })) }
  })
}
