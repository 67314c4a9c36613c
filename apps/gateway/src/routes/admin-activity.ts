import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { request as httpRequest } from 'undici'
import type { ActivityLog, Table } from '@switchboard/activity-log'
import {
  AdminStatsSchema, journalDetailParamsSchema, JournalDetailSchema, JournalQuerySchema, JournalReplySchema,
  ResetQuerySchema, ResetReplySchema, StatsQuerySchema
} from '@switchboard/schemas/admin'
import { errorResponses } from '@switchboard/schemas/common'
import { appError } from '@switchboard/service-kit/errors'
import { LOGGED_SERVICES, SERVICES, type ServiceName } from '@switchboard/service-kit/services'
import { checkTimeRange } from './admin-inspect.ts'

const tags = ['admin']
const security = [{ adminToken: [] }]

/** Every table a reset clears (settings and their history stay): each service's log table, and the tables beside them. */
// The idempotency keys go too: a suite that reuses fixed keys after a reset would otherwise get
// the answers of sends the reset forgot replayed, and nothing sent.
// The jobs (their items go with them) too: a campaign or bulk send running at the reset went on
// sending its pending contacts into the cleared logs, its campaign row gone, so nothing could stop it.
const LOG_TABLES: Table[] = [...LOGGED_SERVICES.map(name => SERVICES[name].logTable!), 'crm_messages', 'whatsapp_campaigns', 'call_campaigns', 'activity_exchanges', 'idempotency_keys', 'jobs']
const JournalDetailParamsSchema = journalDetailParamsSchema(LOGGED_SERVICES)

/** The request journal across services, per-minute stats, and the reset for a clean test run. */
export const adminActivityRoutes: FastifyPluginAsyncTypebox<{ services: ServiceName[], activityLog: ActivityLog }> = async (app, { services, activityLog }) => {
  app.get('/api/admin/journal', {
    schema: { tags, security, summary: 'Recent activity across all services, newest first', querystring: JournalQuerySchema, response: { 200: JournalReplySchema, ...errorResponses } }
  }, async (request) => {
    const q = request.query
    checkTimeRange(q)
    const items = await activityLog.rpc<unknown[]>('activity_journal', {
      p_service: q.service ?? null,
      p_status: q.status ?? null,
      p_request_id: q.request_id ?? null,
      p_since: q.since ?? null,
      p_until: q.until ?? null,
      p_limit: q.limit
    })
    return { items: items as never }
  })

  app.get('/api/admin/journal/:service/:id', {
    schema: { tags, security, summary: 'One journal row with every column', params: JournalDetailParamsSchema, response: { 200: JournalDetailSchema, ...errorResponses } }
  }, async (request) => {
    const { service, id } = request.params
    const [row] = await activityLog.select(SERVICES[service].logTable!, { where: { id }, limit: 1 })
    if (!row) throw appError('ADMIN_ROW_NOT_FOUND', `No ${service} activity with id ${id}. It may have been cleared by a reset.`)
    return { service, row }
  })

  app.get('/api/admin/stats', {
    schema: { tags, security, summary: 'Per-service volume, success rate and latency, per minute', querystring: StatsQuerySchema, response: { 200: AdminStatsSchema, ...errorResponses } }
  }, async (request) => ({ services: await activityLog.rpc('activity_stats', { p_minutes: request.query.minutes }) as never }))

  app.post('/api/admin/reset', {
    schema: {
      tags,
      security,
      summary: 'Clear the logs and every emulator\'s state, for a clean test run; ?settings=defaults also restores every service\'s simulation settings and fallback',
      querystring: ResetQuerySchema,
      response: { 200: ResetReplySchema, ...errorResponses }
    }
  }, async (request) => {
    const settings = request.query.settings ?? 'keep'
    const cleared = await activityLog.clear(LOG_TABLES)
    const outcome: Record<string, string> = {}
    await Promise.all(services.map(async (name) => {
      try {
        const res = await httpRequest(`${app.upstreams[name]}/admin/reset${settings === 'defaults' ? '?settings=defaults' : ''}`, { method: 'POST', headers: app.upstreamHeaders, headersTimeout: 3000, bodyTimeout: 3000 })
        await res.body.dump()
        outcome[name] = res.statusCode === 200 ? (settings === 'defaults' ? 'reset, settings restored to defaults' : 'reset') : `failed (HTTP ${res.statusCode})`
      } catch (err) {
        outcome[name] = `unreachable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`
      }
    }))
    return { cleared, services: outcome, settings: settings === 'defaults' ? 'defaults' as const : 'kept' as const }
  })
}
