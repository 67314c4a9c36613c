import t, { type Test } from 'tap'
import { createConfig, lintFromString } from '@redocly/openapi-core'
import { loadGatewayEnv } from '../src/config.ts'
import { buildApp } from '../src/app.ts'
import { OPERATIONS } from '../src/openapi.ts'
import { createTestInfrastructure } from '@switchboard/service-kit/testing'
import { errorSpec } from '@switchboard/service-kit/error-codes'
import { ADMIN_TOKEN, API_TOKEN } from './helper.ts'

/** The document a client generator reads: every service's routes, as GET /docs/json serves it. */
async function openapiDocument (t: Test): Promise<any> {
  const infra = await createTestInfrastructure(t)
  const env = loadGatewayEnv({ GATEWAY_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent' })
  const app = await buildApp({ env, tokens: { apiToken: API_TOKEN, adminToken: ADMIN_TOKEN }, logger: false, shared: infra })
  infra.closeWithInfrastructure(app)
  const res = await app.inject('/docs/json')
  t.equal(res.statusCode, 200)
  return res.json()
}

const operationsOf = (doc: any) => Object.entries(doc.paths as Record<string, Record<string, any>>)
  .flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, path, op })))

t.test('Redocly\'s recommended rules find no error in the document', async t => {
  const doc = await openapiDocument(t)
  const config = await createConfig({ extends: ['recommended'] })
  const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: 'switchboard.json', config })
  const errors = problems.filter(p => p.severity === 'error')
  t.same(errors.map(p => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`), [], 'no lint error')
  // Warnings that say something true about the API and stay: the spec's own paths
  // (/call/campaigns/{id} beside /call/{id}/stop), a health check that has no client error to
  // answer, and a project without a license yet.
  const accepted = new Set(['no-ambiguous-paths', 'operation-4xx-response', 'info-license'])
  const warnings = problems.filter(p => p.severity === 'warn')
  for (const w of warnings) t.comment(`lint warning ${w.ruleId}: ${w.message}`)
  t.same(warnings.filter(p => !accepted.has(p.ruleId)).map(p => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`), [], 'no other warning')
})

t.test('every operation has its own operationId, its token and its errors with their codes', async t => {
  const doc = await openapiDocument(t)
  const ops = operationsOf(doc)
  t.same(ops.map(o => o.key).sort(), Object.keys(OPERATIONS).sort(), 'the map names exactly the routes the gateway serves')
  const ids = ops.map(o => o.op.operationId)
  t.equal(new Set(ids).size, ids.length, 'operationIds are unique')
  t.same(doc.servers[0].variables.port, { default: '3000' })

  const byKey = Object.fromEntries(ops.map(o => [o.key, o.op]))
  t.same(byKey['GET /health'].security, [], 'a public route says so')
  t.same(byKey['POST /api/webhooks/email/sendgrid'].security, [], 'webhooks take no token (their signature instead)')
  t.same(byKey['POST /api/automation/trigger/email'].security, [{ apiToken: [] }, { adminToken: [] }])
  t.same(byKey['POST /api/admin/reset'].security, [{ adminToken: [] }])

  const send = byKey['POST /api/automation/trigger/email']
  t.same(Object.keys(send.responses).sort(), ['202', '400', '401', '409', '413', '415', '422', '429', '500', '502', '503', '504'])
  t.match(send.responses['401'].description, /`GATEWAY_UNAUTHORIZED`/)
  t.match(send.responses['503'].description, /`PROVIDER_NOT_CONFIGURED`/)
  t.same(send.responses['400'].content['application/json'].schema, { $ref: '#/components/schemas/Error' }, 'errors share one envelope schema')
  t.same(send.requestBody.content['application/json'].schema, { $ref: '#/components/schemas/SendEmailRequest' })
  t.match(doc.components.schemas.Error, { required: ['statusCode', 'code', 'error', 'message'] })
  t.match(byKey['GET /api/automation/email/{id}'].responses['404'].description, /`EMAIL_NOT_FOUND`/)
  t.same(send.parameters.map((p: any) => p.$ref ?? p.name).filter((n: string) => n.startsWith('#')),
    ['#/components/parameters/SimulatedOutcome', '#/components/parameters/SimulatedLatency'], 'the simulation headers are documented')
  t.equal(doc.components.parameters.SimulatedOutcome.name, 'x-switchboard-outcome')
  t.equal(send.requestBody.content['application/json'].examples.bounced.value.to_email, 'bounce@example.com', 'the magic values are examples')
  t.equal(byKey['POST /api/admin/payment-links'].requestBody.content['application/json'].examples.declined.value.amount, '13.13')
  t.ok(Object.values(doc.components.schemas).every((s: any) => !JSON.stringify(s).includes('"4XX"')), 'no catch-all status is left')
})

t.test('every route that takes an Idempotency-Key documents its 409 and 422, with their codes', async t => {
  const doc = await openapiDocument(t)
  const keyed = operationsOf(doc).filter(({ op }) => (op.parameters ?? []).some((p: any) => p.in === 'header' && p.name === 'idempotency-key'))
  t.same(keyed.map(o => o.key).sort(), [
    'POST /api/admin/payment-links', 'POST /api/admin/payment-links/{id}/resend', 'POST /api/admin/payment-links/{id}/simulate',
    'POST /api/automation/call/bulk/{id}/retry', 'POST /api/automation/call/campaigns', 'POST /api/automation/call/campaigns/{id}/retry', 'POST /api/automation/email/batch/{id}/retry',
    'POST /api/automation/trigger/call', 'POST /api/automation/trigger/call/bulk',
    'POST /api/automation/trigger/email', 'POST /api/automation/trigger/email/batch',
    'POST /api/automation/trigger/whatsapp', 'POST /api/automation/trigger/whatsapp/bulk', 'POST /api/automation/whatsapp/bulk/{id}/retry', 'POST /api/automation/whatsapp/campaigns', 'POST /api/automation/whatsapp/campaigns/{id}/retry',
    'POST /api/zoom/meetings'
  ], 'the routes that send, create or pay')
  for (const { key, op } of keyed) {
    t.match(op.responses['409']?.description, /`GATEWAY_IDEMPOTENCY_KEY_IN_USE`/, `${key}: 409`)
    t.match(op.responses['422']?.description, /`GATEWAY_IDEMPOTENCY_KEY_REUSED`/, `${key}: 422`)
    t.match(op.responses['503']?.description, /`GATEWAY_IDEMPOTENCY_UNAVAILABLE`/, `${key}: 503`)
  }
  t.match(operationsOf(doc).find(o => o.key === 'POST /api/zoom/meetings')!.op.responses['409'].description, /`ZOOM_IDEMPOTENCY_KEY_IN_USE`/, 'and the service\'s own check of the key')
  const plain = operationsOf(doc).find(o => o.key === 'POST /api/automation/whatsapp/campaigns/{id}/stop')!.op
  t.notOk(plain.responses['409'], 'a route without the key does not list them')
})

t.test('every error code the document lists is in the error catalogue, under its status', async t => {
  const doc = await openapiDocument(t)
  const wrong: string[] = []
  let seen = 0
  for (const { key, op } of operationsOf(doc)) {
    for (const [status, response] of Object.entries(op.responses as Record<string, any>)) {
      if (!/^[45]\d\d$/.test(status)) continue
      for (const [, code] of String(response.description).matchAll(/`([A-Z][A-Z0-9_]+)`/g)) {
        seen++
        const spec = errorSpec(code!)
        if (spec?.status !== Number(status)) wrong.push(`${key} ${status} ${code}: catalogue says ${spec ? spec.status : 'no such code'}`)
      }
    }
  }
  t.ok(seen > 100, `the document lists codes (${seen})`)
  t.same(wrong, [], 'packages/service-kit/src/server/error-codes.ts is the one list')
})
