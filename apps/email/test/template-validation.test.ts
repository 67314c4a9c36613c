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

t.test('long adversarial text is checked in linear time: a placeholder that never closes, an overlong from_email', async t => {
  // Before: one pattern backtracked through every split of "{{   …" (cubic: 4,000 spaces took 8 s,
  // 100 KB hours), and the from_email check was quadratic on "a@b.b.b.… " (1 MB: minutes), each
  // blocking the event loop every server of the stack shares.
  const started = performance.now()
  const open = validateEmailTemplate({ template_data: { subject: 's', text: 't', html: `{{${' '.repeat(100_000)}` } })
  t.match(open.errors, [{ field: 'html', message: /never closed/ }])
  const letters = validateEmailTemplate({ template_data: { subject: 's', text: 't', html: `{{#${'a'.repeat(100_000)} ` } })
  t.match(letters.errors, [{ field: 'html', message: /never closed/ }])
  const from = validateEmailTemplate({ template_data: { subject: 's', text: 't', from_email: `a@${'b.'.repeat(500_000)} ` } })
  t.match(from.errors, [{ field: 'from_email', message: /1000003 characters long; an email address has at most 320/ }])
  t.ok(performance.now() - started < 2000, `checked in ${Math.round(performance.now() - started)} ms`)
})

t.test('placeholders read as before: sigils, spaces, triple braces, dotted names, malformed ones', async t => {
  const r = validateEmailTemplate({ template_data: { subject: 'Hi {{ first }}', text: '{{{ raw.html }}} {{#if a}}x{{else}}y{{/if}} {{ 1bad }}', html: 'unsubscribe', data: { first: 1, raw: 1, a: 1 } } })
  t.same(r.placeholders, ['first', 'raw.html'])
  t.match(r.errors, [{ field: 'text', message: /Empty or malformed placeholder "\{\{ 1bad \}\}"/ }])
})
