import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { ActivityLog } from '@switchboard/activity-log'
import { errorResponses } from '@switchboard/schemas/common'
import {
  EVENT_TYPES, EventDeliveriesQuerySchema, EventDeliveriesReplySchema, EventEndpointCreatedSchema, EventEndpointCreateSchema,
  EventEndpointDeletedSchema, EventEndpointListSchema, EventEndpointParamsSchema, EventEndpointPatchSchema, EventEndpointSchema,
  type EventEndpoint
} from '@switchboard/schemas/events'
import { appError } from '@switchboard/service-kit/errors'
import { generateEventSecret, isEventSecret, type EventsSender } from '@switchboard/service-kit/events'
import { registerSecrets } from '@switchboard/service-kit/redact'
import { webhookTargetRefusal } from '@switchboard/service-kit/webhook-targets'

export interface AdminEventsOptions {
  activityLog: ActivityLog
  /** Hosts besides loopback an endpoint may be on (WEBHOOK_ALLOWED_HOSTS). */
  allowedHosts: string[]
  sender?: EventsSender
}

const tags = ['events']
const security = [{ adminToken: [] }]
const NO_FLUSH = { flush: false }

const notFound = (id: string) => appError('ADMIN_ENDPOINT_NOT_FOUND', `No event endpoint with id ${id}.`)

/**
 * The team's event endpoints (stored in the database, so every gateway and service agrees) and the
 * events journal: each delivery with its state in the outbox. A secret is in the creation answer
 * only; no other answer, log line or row but the endpoint's own carries it.
 */
export const adminEventsRoutes: FastifyPluginAsyncTypebox<AdminEventsOptions> = async (app, { activityLog, allowedHosts, sender }) => {
  function checkUrl (url: string): void {
    const refusal = webhookTargetRefusal(url, allowedHosts)
    if (refusal !== undefined) {
      throw appError('ADMIN_ENDPOINT_NOT_ALLOWED', `body/url: ${refusal}. Events go to loopback, or to hosts listed in WEBHOOK_ALLOWED_HOSTS.`, { details: { field: 'url' } })
    }
  }

  app.get('/api/admin/endpoints', {
    schema: { tags, security, summary: 'The endpoints events are sent to (never their secrets), and every event type there is', response: { 200: EventEndpointListSchema, ...errorResponses } }
  }, async () => ({ items: await activityLog.rpc<EventEndpoint[]>('list_event_endpoints', {}, NO_FLUSH), types: [...EVENT_TYPES] }))

  app.post('/api/admin/endpoints', {
    schema: {
      tags,
      security,
      summary: 'Register an endpoint for events (Standard Webhooks); the answer carries its whsec_ secret, shown this once',
      body: EventEndpointCreateSchema,
      response: { 201: EventEndpointCreatedSchema, ...errorResponses }
    }
  }, async (request, reply) => {
    const body = request.body
    checkUrl(body.url)
    if (body.secret !== undefined && !isEventSecret(body.secret)) {
      throw appError('ADMIN_ENDPOINT_SECRET_INVALID', 'body/secret: a whsec_ secret is "whsec_" and a base64 key of at least 16 bytes.', { details: { field: 'secret' } })
    }
    const secret = body.secret ?? generateEventSecret()
    registerSecrets([secret])
    const created = await activityLog.rpc<EventEndpoint>('create_event_endpoint', {
      p_url: body.url, p_secret: secret, p_types: body.types ?? [], p_description: body.description ?? '', p_enabled: body.enabled ?? true
    }, NO_FLUSH)
    sender?.refreshSecrets()
    return reply.code(201).send({ ...created, secret })
  })

  app.get('/api/admin/endpoints/:id', {
    schema: { tags, security, summary: 'One event endpoint (never its secret)', params: EventEndpointParamsSchema, response: { 200: EventEndpointSchema, ...errorResponses } }
  }, async (request) => {
    const found = await activityLog.rpc<EventEndpoint | null>('get_event_endpoint', { p_id: request.params.id }, NO_FLUSH)
    if (!found) throw notFound(request.params.id)
    return found
  })

  app.patch('/api/admin/endpoints/:id', {
    schema: {
      tags,
      security,
      summary: 'Change an endpoint\'s URL, event types, description or enabled flag (its secret stays)',
      params: EventEndpointParamsSchema,
      body: EventEndpointPatchSchema,
      response: { 200: EventEndpointSchema, ...errorResponses }
    }
  }, async (request) => {
    const body = request.body
    if (body.url !== undefined) checkUrl(body.url)
    const updated = await activityLog.rpc<EventEndpoint | null>('update_event_endpoint', {
      p_id: request.params.id, p_url: body.url ?? null, p_types: body.types ?? null, p_description: body.description ?? null, p_enabled: body.enabled ?? null
    }, NO_FLUSH)
    if (!updated) throw notFound(request.params.id)
    return updated
  })

  app.delete('/api/admin/endpoints/:id', {
    schema: { tags, security, summary: 'Remove an endpoint and its deliveries not yet made', params: EventEndpointParamsSchema, response: { 200: EventEndpointDeletedSchema, ...errorResponses } }
  }, async (request) => {
    const deleted = await activityLog.rpc<boolean>('delete_event_endpoint', { p_id: request.params.id }, NO_FLUSH)
    if (!deleted) throw notFound(request.params.id)
    return { deleted: true as const, id: request.params.id }
  })

  app.get('/api/admin/events', {
    schema: {
      tags,
      security,
      summary: 'The events journal: each event delivery, newest first, with its state (pending, delivering, delivered, gave_up), attempts and last error',
      querystring: EventDeliveriesQuerySchema,
      response: { 200: EventDeliveriesReplySchema, ...errorResponses }
    }
  }, async (request) => {
    const q = request.query
    const items = await activityLog.rpc<unknown[]>('list_event_deliveries', {
      p_endpoint: q.endpoint_id ?? null, p_type: q.type ?? null, p_status: q.status ?? null, p_limit: q.limit
    }) // after the queued writes: the status moves that made the events
    return { items: items as never }
  })
}
