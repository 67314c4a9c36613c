import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CODE_PREFIXES, ERRORS, errorSpec, errorTableMarkdown, PREFIXED_ERRORS, statusOf } from '../src/server/error-codes.ts'
import { appError, prefixedError } from '../src/server/errors.ts'
import { SERVICES } from '../src/server/services.ts'

t.test('the catalogue\'s prefixes are the gateway\'s and each service\'s code prefix', async t => {
  t.same([...CODE_PREFIXES].sort(), ['GATEWAY', ...Object.values(SERVICES).map(s => s.codePrefix)].sort())
})

t.test('every code has one status, one meaning, and no code is listed twice', async t => {
  for (const [code, spec] of [...Object.entries(ERRORS), ...Object.entries(PREFIXED_ERRORS)]) {
    t.ok(spec.status >= 400 && spec.status <= 599, `${code}: an error status`)
    t.ok(spec.meaning.length > 10 && spec.meaning.endsWith('.'), `${code}: a meaning`)
  }
  for (const code of Object.keys(ERRORS)) {
    const prefix = CODE_PREFIXES.find(p => code.startsWith(`${p}_`))
    t.notOk(prefix && Object.hasOwn(PREFIXED_ERRORS, code.slice(prefix.length + 1)), `${code} is not also a shared reason`)
  }
})

t.test('errors raised by code take the catalogue\'s status', async t => {
  t.same([appError('EMAIL_NOT_FOUND', 'x').statusCode, appError('EMAIL_NOT_FOUND', 'x').code], [404, 'EMAIL_NOT_FOUND'])
  t.same([prefixedError('ZOOM', 'WEBHOOK_UNAUTHORIZED', 'Unauthorized').statusCode, prefixedError('ZOOM', 'WEBHOOK_UNAUTHORIZED', 'x').code], [401, 'ZOOM_WEBHOOK_UNAUTHORIZED'])
  t.equal(statusOf('GATEWAY_RATE_LIMITED'), 429)
  t.equal(errorSpec('PAYMENTS_IDEMPOTENCY_KEY_REUSED')?.status, 422)
  t.equal(errorSpec('ADMIN_ROW_NOT_FOUND')?.status, 404)
  t.equal(errorSpec('EMAIL_WEBHOOK_SIGNATURE_INVALID'), undefined, 'one spelling for a refused webhook: <PREFIX>_WEBHOOK_UNAUTHORIZED')
  t.equal(errorSpec('NOPE_INVALID_REQUEST'), undefined, 'an unknown prefix is not a code')
})

t.test('the README\'s error table is the one generated from the catalogue', async t => {
  const readme = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8')
  const start = readme.indexOf('<!-- error-table:')
  const end = readme.indexOf('<!-- /error-table -->')
  t.ok(start >= 0 && end > start, 'the README has the table\'s markers')
  const table = readme.slice(readme.indexOf('\n', start) + 1, end).trim()
  t.equal(table, errorTableMarkdown(), 'current: if not, run node scripts/error-table.ts --write')
})
