import t from 'tap'
import { validateEmailTemplate } from '../src/service/template-validation.ts'

t.test('block helpers must close in order', async t => {
  const r = validateEmailTemplate({ template_data: { subject: 's', html: '{{#if a}}{{#each b}}x{{/if}}{{/each}} unsubscribe', text: 't' } })
  t.equal(r.valid, false)
  t.match(r.errors, [{ field: 'html', message: /closes/ }])
})

t.test('size limits: a subject over 998 characters is an error, over 78 a warning', async t => {
  t.match(validateEmailTemplate({ template_data: { subject: 'x'.repeat(999), text: 't' } }).errors, [{ field: 'subject' }])
  const long = validateEmailTemplate({ template_data: { subject: 'x'.repeat(100), text: 't', html: '<p>unsubscribe</p>' } })
  t.equal(long.valid, true)
  t.match(long.warnings, [{ field: 'subject' }])
})

t.test('missing data for a placeholder is a warning naming it', async t => {
  const r = validateEmailTemplate({ template_data: { subject: 'Hi {{user.first}}', text: 'x', html: 'unsubscribe', data: { other: 1 } } })
  t.match(r.warnings, [{ field: 'data', message: /\{\{user\.first\}\}/ }])
  t.same(r.placeholders, ['user.first'])
})
