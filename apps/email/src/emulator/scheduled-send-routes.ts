import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { BATCH_STATUSES, type BatchStatus, type ScheduledSends } from './scheduled-sends.ts'

// SendGrid's envelope: {errors: [{message, field}]} (tsg_mail_v3 MailBatch4xx, tsg_scheduled_sends_v3).
const SendGridErrors = Type.Object({
  errors: Type.Array(Type.Object({ message: Type.String(), field: Type.Union([Type.String(), Type.Null()]), help: Type.Optional(Type.Null()) }))
})
const BatchIdBody = Type.Object({ batch_id: Type.String() })
const ScheduledSendStatus = Type.Object({ batch_id: Type.String(), status: Type.Union(BATCH_STATUSES.map(s => Type.Literal(s))) })
const StatusField = Type.Union(BATCH_STATUSES.map(s => Type.Literal(s)))
// The spec's pattern for a batch id (ScheduledSendStatus.batch_id), anchored at both ends.
const BatchIdParam = Type.Object({ batch_id: Type.String({ pattern: '^[a-zA-Z0-9\\-_]+$', maxLength: 100 }) })

const errors = (message: string, field: string | null = null) => ({ errors: [{ message, field }] })
// tsg_mail_v3 MailBatch400's example, {"message": "invalid batch id", "field": "null"}: the spec
// writes JSON null as the string "null" in its examples (providers.md, gap 5), so field is null.
const invalidBatch = () => errors('invalid batch id')
const notFound = () => errors('batch id not found') // tsg_mail_v3 MailBatch404's message
// tsg_mail_v3 MailBatch405's example: the batch paths answer only the methods the spec gives them.
const methodNotAllowed = () => errors('method not allowed')

/**
 * POST/GET /v3/mail/batch and /v3/user/scheduled_sends on top of a ScheduledSends. Status codes
 * are the specs' (201 to create, 200 to read, 204 to update or remove); the wording of the 400s
 * the specs do not give is marked (unverified).
 */
export async function scheduledSendRoutes (app: FastifyInstance, opts: { scheduled: ScheduledSends, stored?: () => Promise<void> }): Promise<void> {
  const { scheduled, stored } = opts
  // A batch or a status change is stored before it is answered: the mail/send naming it may reach
  // another instance.
  if (stored) app.addHook('onSend', async (request, _reply, payload) => { if (request.method !== 'GET') await stored(); return payload })

  app.post('/v3/mail/batch', { schema: { response: { 201: BatchIdBody } } }, async (_request, reply) =>
    reply.code(201).send({ batch_id: scheduled.createBatch() }))
  // The spec documents 405 on both batch operations: any other method is refused, not unknown.
  for (const [url, allow, methods] of [
    ['/v3/mail/batch', 'POST', ['GET', 'PUT', 'PATCH', 'DELETE']],
    ['/v3/mail/batch/:batch_id', 'GET', ['POST', 'PUT', 'PATCH', 'DELETE']]
  ] as const) {
    app.route({ method: [...methods], url, handler: async (_request, reply) => reply.code(405).header('allow', allow).send(methodNotAllowed()) })
  }

  // "A batch ID does not need to be assigned to a send to be considered valid": created is enough.
  app.get('/v3/mail/batch/:batch_id', { schema: { params: Type.Object({ batch_id: Type.String({ maxLength: 100 }) }), response: { 200: BatchIdBody, 400: SendGridErrors } } }, async (request, reply) => {
    const { batch_id } = request.params as { batch_id: string }
    if (!await scheduled.known(batch_id)) return reply.code(400).send(invalidBatch())
    return { batch_id }
  })

  app.post('/v3/user/scheduled_sends', {
    schema: { body: Type.Object({ batch_id: BatchIdParam.properties.batch_id, status: StatusField }), response: { 201: ScheduledSendStatus, 400: SendGridErrors } }
  }, async (request, reply) => {
    const { batch_id, status } = request.body as { batch_id: string, status: BatchStatus }
    if (!await scheduled.known(batch_id)) return reply.code(400).send(errors('invalid batch id', 'batch_id')) // the body's field named (unverified)
    // "Passing a status change to a scheduled send that has already been paused or cancelled will
    // result in a 400 level status code": the change goes through PATCH.
    const current = scheduled.status(batch_id)
    if (current) return reply.code(400).send(errors(`batch id already has the status "${current}"; change it with PATCH /v3/user/scheduled_sends/${batch_id} or remove it with DELETE`, 'batch_id')) // (unverified) wording
    scheduled.setStatus(batch_id, status)
    return reply.code(201).send({ batch_id, status })
  })

  app.get('/v3/user/scheduled_sends', { schema: { response: { 200: Type.Array(ScheduledSendStatus) } } }, async () => scheduled.list())

  app.get('/v3/user/scheduled_sends/:batch_id', { schema: { params: BatchIdParam, response: { 200: Type.Array(ScheduledSendStatus), 404: SendGridErrors } } }, async (request, reply) => {
    const { batch_id } = request.params as { batch_id: string }
    if (!await scheduled.known(batch_id)) return reply.code(404).send(notFound())
    const status = scheduled.status(batch_id)
    return status ? [{ batch_id, status }] : []
  })

  app.patch('/v3/user/scheduled_sends/:batch_id', {
    schema: { params: BatchIdParam, body: Type.Object({ status: StatusField }), response: { 204: Type.Null(), 404: SendGridErrors } }
  }, async (request, reply) => {
    const { batch_id } = request.params as { batch_id: string }
    if (!await scheduled.known(batch_id) || !scheduled.status(batch_id)) return reply.code(404).send(notFound())
    scheduled.setStatus(batch_id, (request.body as { status: BatchStatus }).status)
    return reply.code(204).send()
  })

  app.delete('/v3/user/scheduled_sends/:batch_id', { schema: { params: BatchIdParam, response: { 204: Type.Null(), 404: SendGridErrors } } }, async (request, reply) => {
    const { batch_id } = request.params as { batch_id: string }
    if (!await scheduled.known(batch_id) || !scheduled.status(batch_id)) return reply.code(404).send(notFound())
    scheduled.clearStatus(batch_id)
    return reply.code(204).send()
  })
}
