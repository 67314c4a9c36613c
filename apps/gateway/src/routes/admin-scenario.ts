import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { request as httpRequest } from 'undici'
import { Type } from '@sinclair/typebox'
import { emptyBodyIsEmptyObject } from './optional-body.ts'
import { errorResponses } from '@switchboard/schemas/common'
import { ScenarioExamplesSchema, ScenarioSchema, ScenarioStatusSchema, type Scenario, type ScenarioStatus } from '@switchboard/schemas/scenario'
import { appError } from '@switchboard/service-kit/errors'
import type { RuntimeSettings } from '@switchboard/service-kit/runtime-settings'
import { listScenarioExamples, readScenarioExample, unknownFates } from '@switchboard/service-kit/scenarios'
import type { ServiceName } from '@switchboard/service-kit/services'

export interface AdminScenarioOptions {
  services: ServiceName[]
  runtime: RuntimeSettings
}

const tags = ['admin']
const security = [{ adminToken: [] }]
const who = (request: FastifyRequest) => `admin@${request.ip}`

interface ServiceView { active: string | null, played: ScenarioStatus['played'] }

/**
 * Scripted scenarios: a file of stories (per recipient or named by the x-switchboard-scenario
 * header), periods and rate limits, played by the emulators above the outcome headers and magic
 * values. The active one is a setting in the database (every instance follows); after storing it
 * the gateway asks each service to load it at once. GET merges the steps every service played.
 */
export const adminScenarioRoutes: FastifyPluginAsyncTypebox<AdminScenarioOptions> = async (app, { services, runtime }) => {
  async function fanOut (method: 'GET' | 'POST'): Promise<{ status: Record<string, string>, views: ServiceView[] }> {
    const status: Record<string, string> = {}
    const views: ServiceView[] = []
    await Promise.all(services.map(async (name) => {
      try {
        const res = await httpRequest(`${app.upstreams[name]}/admin/scenario${method === 'POST' ? '/sync' : ''}`, { method, headers: app.upstreamHeaders, headersTimeout: 3000, bodyTimeout: 3000 })
        if (res.statusCode !== 200) { await res.body.dump(); status[name] = `failed (HTTP ${res.statusCode})`; return }
        const view = await res.body.json() as ServiceView
        views.push(view)
        status[name] = view.active ? `playing ${view.active}` : 'no scenario'
      } catch (err) {
        status[name] = `unreachable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`
      }
    }))
    return { status, views }
  }

  async function reply (method: 'GET' | 'POST'): Promise<ScenarioStatus> {
    await runtime.refresh()
    const { status, views } = await fanOut(method)
    const played = views.flatMap(v => v.played).sort((a, b) => b.at.localeCompare(a.at))
    const startedAt = runtime.scenarios.startedAt
    return { active: runtime.scenarios.active, started_at: startedAt === null ? null : new Date(startedAt).toISOString(), played, services: status }
  }

  async function play (request: FastifyRequest, scenario: Scenario): Promise<ScenarioStatus> {
    const problems = unknownFates(scenario)
    if (problems.length) throw appError('ADMIN_INVALID_REQUEST', `body/${problems.join('; body/')}`, { details: { problems } })
    await runtime.setScenario(scenario, who(request))
    return reply('POST')
  }

  app.get('/api/admin/scenario', {
    schema: { tags, security, summary: 'The scenario being played, when it started (on the emulators\' clock) and every step played so far, newest first', response: { 200: ScenarioStatusSchema, ...errorResponses } }
  }, async () => reply('GET'))

  app.put('/api/admin/scenario', {
    schema: { tags, security, summary: 'Play a scenario (stories, periods, rate limits) from now on, replacing any other; its stories start over', body: ScenarioSchema, response: { 200: ScenarioStatusSchema, ...errorResponses } }
  }, async (request) => play(request, request.body))

  app.delete('/api/admin/scenario', {
    schema: { tags, security, summary: 'Stop the scenario: the usual rates, headers and magic values only', response: { 200: ScenarioStatusSchema, ...errorResponses } }
  }, async (request) => {
    await runtime.setScenario(null, who(request))
    return reply('POST')
  })

  app.get('/api/admin/scenario/examples', {
    schema: { tags, security, summary: 'The example scenarios shipped with Switchboard', response: { 200: ScenarioExamplesSchema, ...errorResponses } }
  }, async () => ({ items: listScenarioExamples() }))

  app.post('/api/admin/scenario/examples/:name', {
    preValidation: emptyBodyIsEmptyObject,
    schema: { tags, security, summary: 'Play one of the example scenarios', params: Type.Object({ name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }) }), body: Type.Object({}, { additionalProperties: false, description: 'Nothing: the example is played as shipped' }), response: { 200: ScenarioStatusSchema, ...errorResponses } }
  }, async (request) => {
    const scenario = readScenarioExample(request.params.name)
    if (!scenario) throw appError('ADMIN_SCENARIO_NOT_FOUND', `No example scenario "${request.params.name}". Known: ${listScenarioExamples().map(e => e.name).join(', ')}.`)
    return play(request, scenario)
  })
}
