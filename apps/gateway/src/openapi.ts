import { STATUS_CODES } from 'node:http'
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger'
import type { CodePrefix, ErrorCode } from '@switchboard/service-kit/error-codes'
import { SERVICE_NAMES, type ServiceName } from '@switchboard/service-kit/services'
import { LATENCY_HEADER, MAX_FORCED_LATENCY_MS, OUTCOME_HEADER, OUTCOMES } from '@switchboard/service-kit/simulation'
import { tokenFor } from './plugins/auth.ts'
import { LIMITED } from './plugins/rate-limit.ts'

/**
 * What the OpenAPI document says beyond the routes' own schemas, in one place so a client
 * generator gets a usable document: an operationId per operation, shared schemas under
 * `components`, the token each route takes, every error status with its codes, the simulation
 * headers. Routes keep their TypeBox schemas; this only rewrites the document they produce.
 */

/** Whose codes an operation's errors carry: a service's prefix (error-codes.ts), or the admin routes'. */
type Service = Exclude<CodePrefix, 'GATEWAY'> | 'ADMIN'
interface Operation {
  id: string
  /** Whose codes the errors carry; undefined for the gateway's own routes. */
  service?: Service
  /** Whether the gateway forwards it to a service (so upstream failures can answer). */
  forwarded: boolean
  /** Codes only this operation answers, by status (each in service-kit's error catalogue, error-codes.ts). */
  errors?: Record<number, ErrorCode[]>
  /** Request bodies that show the magic values (mock mode), so a generated client's docs carry them. */
  examples?: Record<string, { summary: string, value: Record<string, unknown> }>
  /** The body may be left out (an empty POST takes the defaults). */
  optionalBody?: boolean
}

// The magic values of mock mode (README, each service's section): one example per outcome.
const magic = <T extends Record<string, unknown>>(base: T, field: keyof T, values: Record<string, [string, string | number]>) =>
  Object.fromEntries(Object.entries(values).map(([name, [summary, value]]) => [name, { summary, value: { ...base, [field]: value } }]))
const EXAMPLES = {
  sendEmail: magic({ to_email: '', subject: 'Welcome aboard', content: '<p>Hello!</p>' }, 'to_email', {
    delivered: ['Always delivered', 'deliver@example.com'],
    bounced: ['Accepted, then a bounce event', 'bounce@example.com'],
    opened: ['Delivered, opened and clicked', 'open@example.com'],
    rejected: ['Refused by SendGrid (400)', 'reject@example.com']
  }),
  sendWhatsappMessage: magic({ to_number: '', template_name: 'welcome_message', params: ['Ada'] }, 'to_number', {
    read: ['Sent, delivered, then read', '+919000000004'],
    failed: ['Sent, then failed (131026)', '+919000000003'],
    invalid: ['Refused: Invalid Number (422 WHATSAPP_PROVIDER_REJECTED)', '+919000000001']
  }),
  createPaymentLink: magic({ amount: '', purpose: 'Order 1042', buyer_name: 'Ada', email: 'ada@example.com' }, 'amount', {
    paid: ['Created, and every payment on it succeeds', '11.11'],
    declined: ['Created, and every payment fails', '13.13'],
    providerError: ['Creating it fails (502 PAYMENTS_PROVIDER_ERROR)', '19.19']
  }),
  makeCall: magic({ to_number: '', script_id: 'appointment_reminder' }, 'to_number', {
    completed: ['Answered: completed', '+919855550100'],
    busy: ['Rings, then busy', '+919855550101'],
    queued: ['Stays queued for 60 s (time to stop it)', '+919855550105']
  }),
  createMeeting: magic({ topic: '', duration: 30 }, 'topic', {
    ended: ['Created; ends with recordings', 'Weekly sync'],
    noRecording: ['Ends without cloud recordings', '[no_recording] Weekly sync'],
    rateLimited: ['Zoom\'s 429 (429 ZOOM_PROVIDER_RATE_LIMITED)', '[rate_limited] Weekly sync']
  })
}

const fwd = (id: string, service: Service, errors?: Record<number, ErrorCode[]>): Operation => ({ id, service, forwarded: true, ...(errors ? { errors } : {}) })
const own = (id: string, errors?: Record<number, ErrorCode[]>): Operation => ({ id, service: 'ADMIN', forwarded: false, ...(errors ? { errors } : {}) })

/** Every operation, by method and OpenAPI path. Names follow the spec's methods (send_email, ...). */
export const OPERATIONS: Record<string, Operation> = {
  'GET /health': { id: 'getHealth', forwarded: false },
  'GET /ready': { id: 'getReadiness', forwarded: false },

  'GET /api/admin/settings/mock-mode': own('getMockMode'),
  'POST /api/admin/settings/mock-mode': own('setMockMode', { 404: ['ADMIN_SERVICE_NOT_FOUND'], 422: ['ADMIN_CREDENTIALS_MISSING'] }),
  'PATCH /api/admin/settings/services/{service}': own('updateServiceSettings', { 404: ['ADMIN_SERVICE_NOT_FOUND'], 422: ['ADMIN_FALLBACK_NOT_ALLOWED'] }),
  'GET /api/admin/settings/changes': own('listSettingsChanges'),
  'GET /api/admin/journal': own('listJournal', { 400: ['ADMIN_INVALID_TIME_RANGE'] }),
  'GET /api/admin/journal/{service}/{id}': own('getJournalEntry', { 404: ['ADMIN_ROW_NOT_FOUND'] }),
  'GET /api/admin/activity': own('listActivity', { 400: ['ADMIN_INVALID_CURSOR', 'ADMIN_INVALID_TIME_RANGE'] }),
  'GET /api/admin/activity/stream': own('streamActivity'),
  'GET /api/admin/activity/{channel}/{id}': own('getActivity', { 404: ['ADMIN_ROW_NOT_FOUND'] }),
  'GET /api/admin/messages/{channel}': own('listMessages'),
  'GET /api/admin/stats': own('getActivityStats'),
  'POST /api/admin/reset': own('resetSandbox'),
  'GET /api/admin/endpoints': own('listEventEndpoints'),
  'POST /api/admin/endpoints': own('createEventEndpoint', { 400: ['ADMIN_ENDPOINT_SECRET_INVALID'], 422: ['ADMIN_ENDPOINT_NOT_ALLOWED'] }),
  'GET /api/admin/endpoints/{id}': own('getEventEndpoint', { 404: ['ADMIN_ENDPOINT_NOT_FOUND'] }),
  'PATCH /api/admin/endpoints/{id}': own('updateEventEndpoint', { 404: ['ADMIN_ENDPOINT_NOT_FOUND'], 422: ['ADMIN_ENDPOINT_NOT_ALLOWED'] }),
  'DELETE /api/admin/endpoints/{id}': own('deleteEventEndpoint', { 404: ['ADMIN_ENDPOINT_NOT_FOUND'] }),
  'GET /api/admin/events': own('listEventDeliveries'),
  'GET /api/admin/clock': own('getClock'),
  'POST /api/admin/clock/freeze': own('freezeClock'),
  'POST /api/admin/clock/advance': own('advanceClock', { 400: ['ADMIN_INVALID_REQUEST'] }),
  'POST /api/admin/clock/set': own('setClock', { 400: ['ADMIN_INVALID_REQUEST'] }),
  'POST /api/admin/clock/resume': own('resumeClock'),
  'POST /api/admin/clock/real': own('realClock'),
  'GET /api/admin/scenario': own('getScenario'),
  'PUT /api/admin/scenario': own('playScenario', { 400: ['ADMIN_INVALID_REQUEST'] }),
  'DELETE /api/admin/scenario': own('stopScenario'),
  'GET /api/admin/scenario/examples': own('listScenarioExamples'),
  'POST /api/admin/scenario/examples/{name}': { ...own('playScenarioExample', { 404: ['ADMIN_SCENARIO_NOT_FOUND'] }), optionalBody: true },
  'GET /api/admin/datasets': own('listDatasets'),
  'POST /api/admin/datasets/{name}/load': { ...own('loadDataset', { 404: ['ADMIN_DATASET_NOT_FOUND'], 409: ['ADMIN_DATASET_LOADING'] }), optionalBody: true },
  'GET /api/admin/emulators': own('listEmulators'),

  'POST /api/automation/trigger/email': { ...fwd('sendEmail', 'EMAIL', { 422: ['EMAIL_PROVIDER_REJECTED'] }), examples: EXAMPLES.sendEmail },
  'POST /api/automation/trigger/email/batch': fwd('sendBulkEmails', 'EMAIL'),
  'GET /api/automation/email/batch/{id}': fwd('getEmailBatch', 'EMAIL', { 404: ['EMAIL_BATCH_NOT_FOUND'] }),
  'POST /api/automation/email/batch/{id}/retry': fwd('retryEmailBatch', 'EMAIL', { 404: ['EMAIL_BATCH_NOT_FOUND'] }),
  'GET /api/automation/email/stats': fwd('getEmailStats', 'EMAIL'),
  'POST /api/automation/email/templates/validate': fwd('validateEmailTemplate', 'EMAIL'),
  'GET /api/automation/email/{id}': fwd('getEmail', 'EMAIL', { 404: ['EMAIL_NOT_FOUND'] }),
  'POST /api/webhooks/email/sendgrid': fwd('receiveSendgridEvents', 'EMAIL', { 400: ['EMAIL_WEBHOOK_INVALID_BODY'], 401: ['EMAIL_WEBHOOK_UNAUTHORIZED'] }),

  'POST /api/automation/trigger/whatsapp': { ...fwd('sendWhatsappMessage', 'WHATSAPP', { 400: ['WHATSAPP_INVALID_NUMBER', 'WHATSAPP_UNKNOWN_TEMPLATE', 'WHATSAPP_TEMPLATE_PARAMS_MISMATCH'], 422: ['WHATSAPP_PROVIDER_REJECTED'] }), examples: EXAMPLES.sendWhatsappMessage },
  'POST /api/automation/trigger/whatsapp/bulk': fwd('sendBulkWhatsappMessages', 'WHATSAPP', { 400: ['WHATSAPP_UNKNOWN_TEMPLATE', 'WHATSAPP_TEMPLATE_PARAMS_MISMATCH'] }),
  'POST /api/automation/whatsapp/campaigns': fwd('createWhatsappCampaign', 'WHATSAPP', { 400: ['WHATSAPP_UNKNOWN_TEMPLATE', 'WHATSAPP_TEMPLATE_PARAMS_MISMATCH'] }),
  'GET /api/automation/whatsapp/campaigns/{id}': fwd('getWhatsappCampaign', 'WHATSAPP', { 404: ['WHATSAPP_CAMPAIGN_NOT_FOUND'] }),
  'POST /api/automation/whatsapp/campaigns/{id}/stop': fwd('stopWhatsappCampaign', 'WHATSAPP', { 404: ['WHATSAPP_CAMPAIGN_NOT_FOUND'] }),
  'POST /api/automation/whatsapp/campaigns/{id}/retry': fwd('retryWhatsappCampaign', 'WHATSAPP', { 404: ['WHATSAPP_CAMPAIGN_NOT_FOUND'] }),
  'GET /api/automation/whatsapp/bulk/{id}': fwd('getWhatsappBulk', 'WHATSAPP', { 404: ['WHATSAPP_BATCH_NOT_FOUND'] }),
  'POST /api/automation/whatsapp/bulk/{id}/retry': fwd('retryWhatsappBulk', 'WHATSAPP', { 404: ['WHATSAPP_BATCH_NOT_FOUND'] }),
  'GET /api/automation/whatsapp/inbound': fwd('listWhatsappInbound', 'WHATSAPP'),
  'POST /api/admin/whatsapp/inbound': fwd('simulateWhatsappInbound', 'WHATSAPP', { 409: ['WHATSAPP_MOCK_ONLY', 'WHATSAPP_NO_WEBHOOK'] }),
  'GET /api/automation/whatsapp/stats': fwd('getWhatsappStats', 'WHATSAPP'),
  'GET /api/automation/whatsapp/templates': fwd('listWhatsappTemplates', 'WHATSAPP'),
  'GET /api/automation/whatsapp/messages/{id}': fwd('getWhatsappMessage', 'WHATSAPP', { 404: ['WHATSAPP_MESSAGE_NOT_FOUND'] }),
  'POST /api/webhooks/whatsapp/aisensy/{token}': fwd('receiveAisensyWebhook', 'WHATSAPP', { 400: ['WHATSAPP_WEBHOOK_INVALID_BODY'], 401: ['WHATSAPP_WEBHOOK_UNAUTHORIZED'] }),

  'POST /api/admin/payment-links': { ...fwd('createPaymentLink', 'PAYMENTS', { 422: ['PAYMENTS_NO_CONTACT', 'PAYMENTS_PROVIDER_REJECTED'] }), examples: EXAMPLES.createPaymentLink },
  'GET /api/admin/payment-links': fwd('listPaymentLinks', 'PAYMENTS'),
  'GET /api/admin/payment-links/{id}': fwd('getPaymentLink', 'PAYMENTS', { 404: ['PAYMENTS_LINK_NOT_FOUND'] }),
  'POST /api/admin/payment-links/{id}/resend': fwd('resendPaymentLink', 'PAYMENTS', { 404: ['PAYMENTS_LINK_NOT_FOUND'], 409: ['PAYMENTS_ALREADY_PAID', 'PAYMENTS_LINK_NOT_CREATED'], 502: ['PAYMENTS_RESEND_FAILED'] }),
  'POST /api/admin/payment-links/{id}/simulate': fwd('simulatePayment', 'PAYMENTS', { 404: ['PAYMENTS_LINK_NOT_FOUND'], 409: ['PAYMENTS_ALREADY_PAID', 'PAYMENTS_LINK_NOT_CREATED', 'PAYMENTS_SIMULATION_LIVE_MODE'] }),
  'GET /api/admin/payment-stats': fwd('getPaymentStats', 'PAYMENTS'),
  'POST /api/webhooks/payment/webhook': fwd('receiveInstamojoPayment', 'PAYMENTS', { 400: ['PAYMENTS_WEBHOOK_INVALID_BODY'], 401: ['PAYMENTS_WEBHOOK_UNAUTHORIZED'], 415: ['PAYMENTS_UNSUPPORTED_MEDIA_TYPE'] }),

  'POST /api/automation/trigger/call': { ...fwd('makeCall', 'VOICE', { 404: ['VOICE_SCRIPT_NOT_FOUND'], 422: ['VOICE_PROVIDER_REJECTED'] }), examples: EXAMPLES.makeCall },
  'POST /api/automation/trigger/call/bulk': fwd('makeBulkCalls', 'VOICE', { 404: ['VOICE_SCRIPT_NOT_FOUND'] }),
  'POST /api/automation/call/campaigns': fwd('createCallCampaign', 'VOICE', { 404: ['VOICE_SCRIPT_NOT_FOUND'] }),
  'GET /api/automation/call/campaigns/{id}': fwd('getCallCampaign', 'VOICE', { 404: ['VOICE_CAMPAIGN_NOT_FOUND'] }),
  'POST /api/automation/call/campaigns/{id}/stop': fwd('stopCallCampaign', 'VOICE', { 404: ['VOICE_CAMPAIGN_NOT_FOUND'] }),
  'POST /api/automation/call/campaigns/{id}/retry': fwd('retryCallCampaign', 'VOICE', { 404: ['VOICE_CAMPAIGN_NOT_FOUND'] }),
  'GET /api/automation/call/bulk/{id}': fwd('getCallBulk', 'VOICE', { 404: ['VOICE_BATCH_NOT_FOUND'] }),
  'POST /api/automation/call/bulk/{id}/retry': fwd('retryCallBulk', 'VOICE', { 404: ['VOICE_BATCH_NOT_FOUND'] }),
  'GET /api/automation/call/status/{id}': fwd('getCallStatus', 'VOICE', { 404: ['VOICE_CALL_NOT_FOUND'] }),
  'POST /api/automation/call/{id}/stop': fwd('stopCall', 'VOICE', { 404: ['VOICE_CALL_NOT_FOUND'], 409: ['VOICE_CALL_NOT_STOPPABLE'] }),
  'GET /api/automation/call/logs': fwd('listCallLogs', 'VOICE'),
  'GET /api/automation/call/stats': fwd('getCallStats', 'VOICE'),
  'GET /api/automation/call/scripts': fwd('listCallScripts', 'VOICE'),
  'POST /api/webhooks/voice/bolna': fwd('receiveBolnaExecution', 'VOICE', { 400: ['VOICE_WEBHOOK_INVALID_BODY'], 401: ['VOICE_WEBHOOK_UNAUTHORIZED'] }),

  'POST /api/zoom/meetings': { ...fwd('createMeeting', 'ZOOM'), examples: EXAMPLES.createMeeting },
  'GET /api/zoom/meetings': fwd('listMeetings', 'ZOOM'),
  'DELETE /api/zoom/meetings': fwd('deleteAllMeetings', 'ZOOM', { 409: ['ZOOM_MOCK_ONLY'] }),
  'GET /api/zoom/meetings/{id}': fwd('getMeeting', 'ZOOM', { 404: ['ZOOM_PROVIDER_NOT_FOUND'] }),
  'PATCH /api/zoom/meetings/{id}': fwd('updateMeeting', 'ZOOM', { 404: ['ZOOM_PROVIDER_NOT_FOUND'] }),
  'DELETE /api/zoom/meetings/{id}': fwd('deleteMeeting', 'ZOOM', { 404: ['ZOOM_PROVIDER_NOT_FOUND'] }),
  'GET /api/zoom/meetings/{id}/recordings': fwd('getMeetingRecordings', 'ZOOM', { 404: ['ZOOM_PROVIDER_NOT_FOUND'] }),
  'POST /api/zoom/meetings/{id}/end': fwd('endMeeting', 'ZOOM', { 404: ['ZOOM_PROVIDER_NOT_FOUND'], 409: ['ZOOM_MOCK_ONLY'] }),
  'POST /api/webhooks/zoom': fwd('receiveZoomEvent', 'ZOOM', { 400: ['ZOOM_WEBHOOK_INVALID_BODY'], 401: ['ZOOM_WEBHOOK_UNAUTHORIZED'] })
}

const STATUS_TEXT: Record<number, string> = {
  400: 'The request is invalid; `message` and `details` name the field.',
  401: 'The bearer token (or a webhook\'s signature) is missing or wrong.',
  404: 'Nothing with that id.',
  409: 'The request conflicts with the current state.',
  413: 'The body is larger than this route accepts.',
  415: 'The body is not JSON (or, for a webhook, not the provider\'s content type).',
  422: 'Understood, but refused (by the provider, or by the settings).',
  429: 'Too many requests (the gateway\'s limit per token, or the provider\'s). Retry after `Retry-After` seconds.',
  500: 'A bug on our side; the logs have it under the request id.',
  502: 'The service, or the provider behind it, answered something unusable.',
  503: 'The service or its provider cannot be reached, is shutting down, or is in live mode without credentials.',
  504: 'The service or its provider did not answer in time.'
}

/** The header a route that takes an Idempotency-Key documents (service-kit's idempotency.ts adds it). */
const IDEMPOTENCY_PARAMETER = 'idempotency-key'

/**
 * The codes an operation can answer, by status. `idempotent`: it takes an Idempotency-Key, so the
 * gateway's key check answers too (and, forwarded, the service's own check of the key it is given).
 */
export function errorCodes (method: string, path: string, op: Operation, hasBody: boolean, idempotent = false): Record<number, string[]> {
  const codes: Record<number, string[]> = {}
  const add = (status: number, ...list: string[]) => { codes[status] = [...new Set([...(codes[status] ?? []), ...list])] }
  const s = op.service
  if (method === 'GET' && (path === '/health' || path === '/ready')) return codes
  add(400, 'GATEWAY_INVALID_REQUEST', 'GATEWAY_BAD_REQUEST')
  if (hasBody) { add(400, 'GATEWAY_INVALID_JSON'); add(413, 'GATEWAY_PAYLOAD_TOO_LARGE'); add(415, 'GATEWAY_UNSUPPORTED_MEDIA_TYPE') }
  if (tokenFor(path)) add(401, 'GATEWAY_UNAUTHORIZED')
  if (LIMITED.test(path)) add(429, 'GATEWAY_RATE_LIMITED')
  add(500, 'GATEWAY_INTERNAL_ERROR')
  if (idempotent) {
    add(409, 'GATEWAY_IDEMPOTENCY_KEY_IN_USE')
    add(422, 'GATEWAY_IDEMPOTENCY_KEY_REUSED')
    add(503, 'GATEWAY_IDEMPOTENCY_UNAVAILABLE')
    if (op.forwarded && s && s !== 'ADMIN') {
      add(409, `${s}_IDEMPOTENCY_KEY_IN_USE`)
      add(422, `${s}_IDEMPOTENCY_KEY_REUSED`)
    }
  }
  if (op.forwarded && s) {
    add(400, `${s}_INVALID_REQUEST`)
    add(429, `${s}_PROVIDER_RATE_LIMITED`)
    add(500, `${s}_INTERNAL_ERROR`)
    add(502, 'GATEWAY_UPSTREAM_ERROR', `${s}_PROVIDER_ERROR`, `${s}_PROVIDER_AUTH_FAILED`)
    add(503, 'GATEWAY_UPSTREAM_UNAVAILABLE', 'PROVIDER_NOT_CONFIGURED', `${s}_PROVIDER_UNREACHABLE`, `${s}_SHUTTING_DOWN`)
    add(504, 'GATEWAY_UPSTREAM_TIMEOUT', `${s}_PROVIDER_TIMEOUT`)
  } else if (s === 'ADMIN') {
    add(400, 'ADMIN_INVALID_REQUEST')
  }
  for (const [status, list] of Object.entries(op.errors ?? {})) add(Number(status), ...list)
  return codes
}

type Json = Record<string, any>
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options']
const pascal = (id: string) => id[0]!.toUpperCase() + id.slice(1)

/** The document as @fastify/swagger built it from the routes, rewritten for generators. */
function rewrite (doc: Json, gatewayPort: number): Json {
  const schemas: Record<string, Json> = {}
  const named = new Map<string, string>()
  // One component per distinct schema: a schema with a title is named by it, a body by its operation.
  const component = (schema: Json, fallback: string): Json => {
    if (schema.$ref) return schema
    const key = JSON.stringify(schema)
    let name = named.get(key)
    if (!name) {
      name = typeof schema.title === 'string' ? schema.title : fallback
      if (schemas[name] && typeof schema.title === 'string') throw new Error(`openapi: two different schemas have the title ${name}`)
      for (let n = 2; schemas[name]; n++) name = `${fallback}${n}`
      schemas[name] = schema
      named.set(key, name)
    }
    return { $ref: `#/components/schemas/${name}` }
  }

  const missing: string[] = []
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const method of METHODS) {
      const operation = item[method] as Json | undefined
      if (!operation) continue
      const key = `${method.toUpperCase()} ${path}`
      const op = OPERATIONS[key]
      if (!op) { missing.push(key); continue }
      operation.operationId = op.id
      const token = tokenFor(path)
      // The API token's routes take the admin token too.
      operation.security = token === 'admin' ? [{ adminToken: [] }] : token === 'api' ? [{ apiToken: [] }, { adminToken: [] }] : []

      // A query parameter with a default may be left out, whatever TypeBox's object says.
      for (const p of operation.parameters ?? []) if (p.in === 'query' && p.schema?.default !== undefined) p.required = false
      const body = operation.requestBody?.content?.['application/json']
      if (body?.schema) body.schema = component(body.schema, `${pascal(op.id)}Request`)
      if (body && op.examples) body.examples = op.examples
      if (operation.requestBody && op.optionalBody) operation.requestBody.required = false
      if (op.forwarded && path.startsWith('/api/') && !path.startsWith('/api/webhooks/')) {
        operation.parameters = [...(operation.parameters ?? []), { $ref: '#/components/parameters/SimulatedOutcome' }, { $ref: '#/components/parameters/SimulatedLatency' }]
      }

      const responses = operation.responses as Record<string, Json>
      // The routes' catch-all 4xx/5xx become one response per status below; their envelope is the Error component.
      for (const [status, response] of Object.entries(responses)) {
        if (!/^[45]xx$/i.test(status)) continue
        const schema = response.content?.['application/json']?.schema
        if (schema) component(schema, 'Error')
        delete responses[status]
      }
      for (const [status, response] of Object.entries(responses)) {
        if (response.description === 'Default Response') response.description = status.startsWith('2') ? 'Success' : STATUS_TEXT[Number(status)] ?? 'Answer'
        const content = response.content?.['application/json']
        if (content?.schema) content.schema = component(content.schema, `${pascal(op.id)}${status.startsWith('2') ? 'Reply' : `Reply${status}`}`)
        response.headers = { 'x-request-id': { $ref: '#/components/headers/RequestId' }, ...response.headers }
      }
      const idempotent = (operation.parameters ?? []).some((p: Json) => p.in === 'header' && String(p.name).toLowerCase() === IDEMPOTENCY_PARAMETER)
      for (const [status, codes] of Object.entries(errorCodes(method.toUpperCase(), path, op, Boolean(operation.requestBody), idempotent))) {
        responses[status] = {
          description: `${STATUS_TEXT[Number(status)]} Codes: ${codes.map(c => `\`${c}\``).join(', ')}.`,
          headers: { 'x-request-id': { $ref: '#/components/headers/RequestId' }, ...(status === '429' ? { 'retry-after': { $ref: '#/components/headers/RetryAfter' } } : {}) },
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' }, example: { statusCode: Number(status), code: codes[0], error: STATUS_CODES[Number(status)], message: 'What happened and what to do.', requestId: '8a3c0f0e-6d2f-4a51-9d0e-2f6f4c1d9b7a' } } }
        }
      }
    }
  }
  if (missing.length) throw new Error(`openapi: no operationId for ${missing.join(', ')}; add them to OPERATIONS in apps/gateway/src/openapi.ts`)
  if (!schemas.Error) throw new Error('openapi: the error envelope (title "Error") is not in the document')

  return {
    ...doc,
    servers: [{ url: 'http://{host}:{port}', description: 'A running Switchboard gateway', variables: { host: { default: '127.0.0.1' }, port: { default: String(gatewayPort || 3000) } } }],
    components: {
      ...doc.components,
      schemas: { ...doc.components?.schemas, ...schemas },
      parameters: {
        SimulatedOutcome: { name: OUTCOME_HEADER, in: 'header', required: false, description: 'Mock mode: force this request\'s outcome, whatever the success rate (like Prism\'s `Prefer: code=`). Ignored in live mode.', schema: { type: 'string', enum: OUTCOMES } },
        SimulatedLatency: { name: LATENCY_HEADER, in: 'header', required: false, description: 'Mock mode: the emulator answers after this many milliseconds. Ignored in live mode.', schema: { type: 'integer', minimum: 0, maximum: MAX_FORCED_LATENCY_MS } }
      },
      headers: {
        RequestId: { description: 'This request\'s id (sent back, or generated): quote it when reporting a problem; the journal and the logs carry it.', schema: { type: 'string' } },
        RetryAfter: { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } }
      }
    }
  }
}

/** Each service's tag in the document (listed in the services' order). */
const SERVICE_TAGS: Record<ServiceName, string> = {
  email: 'Email through SendGrid (or its emulator)',
  whatsapp: 'WhatsApp through AiSensy (or its emulator)',
  payments: 'Payment links through Instamojo (or its emulator)',
  voice: 'Voice calls through Bolna.ai (or its emulator)',
  zoom: 'Zoom meetings (or the Zoom emulator)'
}

/** The @fastify/swagger options: the document's frame and the rewrite above. */
export function swaggerOptions (gatewayPort: number): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      info: { title: 'Switchboard', version: '1.0.0', description: 'One API for email (SendGrid), WhatsApp (AiSensy), payments (Instamojo), voice (Bolna.ai) and Zoom, in mock or live mode.' },
      tags: [
        { name: 'health', description: 'Liveness and readiness, no token' },
        { name: 'admin', description: 'Settings, journal, stats and reset: the admin token' },
        { name: 'events', description: 'Endpoints of the team\'s app that receive one signed event per outcome (Standard Webhooks), and the events journal: the admin token' },
        ...SERVICE_NAMES.map(name => ({ name, description: SERVICE_TAGS[name] }))
      ],
      components: {
        securitySchemes: {
          apiToken: { type: 'http', scheme: 'bearer', description: 'API_TOKEN (generated into the data folder at first start when unset): /api/automation/* and /api/zoom/*' },
          adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN: /api/admin/*, and every route the API token opens' }
        }
      }
    },
    transformObject: (document) => rewrite((document as { openapiObject: Json }).openapiObject, gatewayPort)
  }
}
