import t from 'tap'
import { INTERNAL_HEADER } from '@switchboard/service-kit/tokens'
import { api, send, startStack } from './helper.ts'

t.test('5,000 levels of nesting inside a free-form field: 400 naming the field, at the gateway and at the service', async t => {
  const { call, urls, stack } = await startStack(t)
  const deep = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000)
  const body = `{"template_data":{"html":"<p>{{a}}</p>","data":${deep}}}`
  const atGateway = await call('POST', '/api/automation/email/templates/validate', body, api)
  t.equal(atGateway.status, 400)
  t.match(atGateway.body, { code: 'GATEWAY_INVALID_REQUEST', message: /^body\/template_data\/data\/.* nests deeper than 64 levels/ })
  t.match(atGateway.body.details, [{ field: /^body\/template_data\/data/ }])

  const atService = await send({ method: 'POST', url: `${urls.email}/emails/templates/validate`, headers: { 'content-type': 'application/json', [INTERNAL_HEADER]: stack.tokens.internalToken }, body })
  t.equal(atService.status, 400)
  t.match(atService.body, { code: 'EMAIL_INVALID_REQUEST', message: /nests deeper than 64 levels/ })

  // 60 levels is data, not an attack: still accepted.
  const fine = '{"a":'.repeat(60) + '1' + '}'.repeat(60)
  const ok = await call('POST', '/api/automation/email/templates/validate', `{"template_data":{"html":"<p>{{a}}</p>","data":${fine}}}`, api)
  t.equal(ok.status, 200)
})
