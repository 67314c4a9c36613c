import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { request as httpRequest } from 'undici'
import { EmulatorAccountViewSchema, errorResponses, type EmulatorAccountView } from '@switchboard/schemas/common'
import type { EmulatorAuth } from '@switchboard/service-kit/emulator-account'
import { SERVICES, type ServiceName } from '@switchboard/service-kit/services'

const tags = ['admin']
const security = [{ adminToken: [] }]

const EmulatorEntrySchema = Type.Object({
  service: Type.String(),
  provider: Type.String(),
  reachable: Type.Boolean(),
  ...Type.Partial(Type.Omit(EmulatorAccountViewSchema, ['provider'])).properties
})
const EmulatorsReplySchema = Type.Object({
  auth: Type.Union([Type.Literal('any'), Type.Literal('issued'), Type.Literal('mixed')], { description: 'EMULATOR_AUTH as the services report it' }),
  items: Type.Array(EmulatorEntrySchema)
})

/**
 * Where each provider emulator answers and the fake account it takes (EMULATOR_AUTH=issued: only
 * these credentials; any: these and any others of the provider's shape), for pointing an official
 * SDK or another project's client at it. The secrets of this stack's own fake accounts, so behind
 * the admin token and never cached.
 */
export const adminEmulatorRoutes: FastifyPluginAsyncTypebox<{ services: ServiceName[], auth: EmulatorAuth }> = async (app, { services, auth }) => {
  type Entry = typeof EmulatorEntrySchema.static
  async function account (name: ServiceName): Promise<Entry> {
    const entry = { service: name, provider: SERVICES[name].provider }
    try {
      const res = await httpRequest(`${app.upstreams[name]}${SERVICES[name].emulatorPrefix}/_switchboard/account`, { headers: app.upstreamHeaders, headersTimeout: 1500, bodyTimeout: 1500 })
      if (res.statusCode !== 200) { await res.body.dump(); return { ...entry, reachable: false } }
      const view = await res.body.json() as EmulatorAccountView
      return { ...entry, reachable: true, auth: view.auth, base_url: view.base_url, credentials: view.credentials }
    } catch {
      return { ...entry, reachable: false }
    }
  }

  app.get('/api/admin/emulators', {
    schema: { tags, security, summary: 'Each provider emulator\'s base URL and the credentials of its fake account (EMULATOR_AUTH)', response: { 200: EmulatorsReplySchema, ...errorResponses } }
  }, async (_request, reply) => {
    const items = await Promise.all(services.map(account))
    const modes = new Set(items.flatMap(i => i.auth === undefined ? [] : [i.auth]))
    reply.header('cache-control', 'no-store')
    // The gateway's own setting when no service answered (the stack sets one for all).
    return { auth: modes.size > 1 ? 'mixed' as const : [...modes][0] ?? auth, items }
  })
}
