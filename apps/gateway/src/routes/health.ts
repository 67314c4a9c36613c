import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { request } from 'undici'
import { HealthSchema, ReadinessSchema, type Readiness } from '@switchboard/schemas/common'
import type { ServiceName } from '@switchboard/service-kit/services'

/** GET /health: the process is up. GET /ready: each upstream's own readiness, fetched now. */
export const healthRoutes: FastifyPluginAsyncTypebox<{ services: ServiceName[] }> = async (app, { services }) => {
  app.get('/health', { schema: { tags: ['health'], summary: 'Liveness', response: { 200: HealthSchema } } }, async () => ({ status: 'ok' as const }))

  const UpstreamsReady = Type.Composite([ReadinessSchema, Type.Object({ upstreams: Type.Record(Type.String(), Type.Unknown()) })])
  app.get('/ready', { schema: { tags: ['health'], summary: 'Readiness of every service behind the gateway', response: { 200: UpstreamsReady, 503: UpstreamsReady } } }, async (_request, reply) => {
    const checks: Readiness['checks'] = {}
    const upstreams: Record<string, unknown> = {}
    await Promise.all(services.map(async (name) => {
      try {
        const res = await request(`${app.upstreams[name]}/ready`, { headersTimeout: 1000, bodyTimeout: 1000 })
        const body = await res.body.json() as Readiness
        upstreams[name] = body
        const failing = Object.entries(body.checks ?? {}).filter(([, c]) => !c.ok).map(([k, c]) => `${k}: ${c.message ?? 'not ok'}`)
        checks[name] = res.statusCode === 200 ? { ok: true, message: `${body.mode} mode` } : { ok: false, message: failing.join('; ') || `HTTP ${res.statusCode}` }
      } catch (err) {
        checks[name] = { ok: false, message: `unreachable at ${app.upstreams[name]} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` }
      }
    }))
    const ready = Object.values(checks).every(c => c.ok)
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', service: 'gateway', checks, upstreams })
  })
}
