import t from 'tap'
import { auth, mail, startEmailApp } from './helper.ts'
import { validateMail } from '../src/emulator/validate-mail.ts'

// What SendGrid refuses on /v3/mail/send beyond addresses and content, and the answers of the
// request's own shape (415, 405) and of /v3/stats to malformed queries.

t.test('the fields the spec constrains are checked: asm, ip_pool_name, headers, categories, template_id, settings, attachments', async t => {
  const { call } = await startEmailApp(t)
  const HELP = 'http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.'
  const refused = async (extra: Record<string, unknown>) => {
    const res = await call('POST', '/sendgrid/v3/mail/send', mail('a@example.com', extra), auth)
    t.equal(res.status, 400, JSON.stringify(extra).slice(0, 80))
    return res.body.errors as Array<{ message: string, field: string | null, help: string | null }>
  }
  t.same(await refused({ asm: { groups_to_display: [1] } }), [{ message: 'The ASM group ID must be an integer.', field: 'asm.group_id', help: `${HELP}asm.group_id` }], 'asm without its required group_id')
  t.match(await refused({ asm: { group_id: '12' } }), [{ field: 'asm.group_id' }])
  t.match(await refused({ asm: { group_id: 1, groups_to_display: ['2'] } }), [{ message: 'The ASM Group IDs to display must be an array of integers.', field: 'asm.groups_to_display' }])
  t.match(await refused({ asm: { group_id: 1, groups_to_display: Array.from({ length: 26 }, (_v, i) => i) } }), [{ message: /limit of 25/, field: 'asm.groups_to_display' }])
  t.match(await refused({ ip_pool_name: 'x' }), [{ field: 'ip_pool_name' }])
  t.match(await refused({ ip_pool_name: 'p'.repeat(65) }), [{ field: 'ip_pool_name' }])
  t.match(await refused({ ip_pool_name: 7 }), [{ message: 'The name of your IP pool must be a string.', field: 'ip_pool_name' }])
  t.match(await refused({ headers: { 'X-Count': 3 } }), [{ message: 'The header values must be strings.', field: 'headers' }])
  t.match(await refused({ headers: { from: 'spoof@example.com' } }), [{ message: 'Header can not be one of the reserved keys.', field: 'headers' }])
  t.match(await refused({ personalizations: [{ to: [{ email: 'a@example.com' }], headers: { 'Reply-To': 'x@example.com' } }] }), [{ field: 'personalizations.0.headers' }])
  t.match(await refused({ categories: ['news', 'news'] }), [{ message: 'The categories must be a unique list, and you have included news more than once.', field: 'categories' }])
  t.match(await refused({ categories: Array.from({ length: 11 }, (_v, i) => `c${i}`) }), [{ message: /limit of 10 categories.*You provided 11/, field: 'categories' }])
  t.match(await refused({ categories: ['c'.repeat(256)] }), [{ message: /must not be longer than 255 characters/, field: 'categories' }])
  t.match(await refused({ categories: [1] }), [{ message: 'Categories must be an array of strings.' }])
  t.match(await refused({ template_id: 12345 }), [{ message: 'The template ID must be a string, you provided 12345.', field: 'template_id' }])
  t.match(await refused({ tracking_settings: 'on' }), [{ field: 'tracking_settings' }])
  t.match(await refused({ tracking_settings: { open_tracking: { enable: 'yes' } } }), [{ message: 'The open tracking enable param should be a boolean value.', field: 'tracking_settings.open_tracking.enable' }])
  t.match(await refused({ mail_settings: [] }), [{ field: 'mail_settings' }])
  t.match(await refused({ mail_settings: { sandbox_mode: { enable: 1 } } }), [{ field: 'mail_settings.sandbox_mode.enable' }])
  t.same(await refused({ attachments: [{ content: 'not base64!', filename: 'a.txt' }] }), [{ message: 'The attachment content must be base64 encoded.', field: 'attachments.0.content', help: `${HELP}attachments.content` }])
  // MIME-style line breaks are refused too, as SendGrid refuses Ruby's Base64.encode64.
  t.match(await refused({ attachments: [{ content: `${'QUJD'.repeat(19)}\n${'QUJD'.repeat(2)}`, filename: 'a.txt' }] }), [{ field: 'attachments.0.content' }])

  t.same(await refused({ custom_args: { order: 17 } }), [{ message: 'Invalid type. Expected: string, given: integer.', field: 'custom_args.order', help: `${HELP}custom_args` }], 'custom_args are strings')
  t.match(await refused({ personalizations: [{ to: [{ email: 'a@example.com' }], custom_args: { paid: true } }] }), [{ field: 'personalizations.0.custom_args.paid' }])
  t.match(await refused({ personalizations: [{ to: [{ email: 'a@example.com' }], substitutions: { '-n-': 7 } }] }), [{ message: /given: integer/, field: 'personalizations.0.substitutions.-n-' }], 'substitutions too')
  t.match(await refused({ custom_args: ['a'] }), [{ message: /Expected: object, given: array/, field: 'custom_args' }])
  t.same(await refused({ from: { email: 'ü@exämple.com' } }), [{ message: 'The from email does not contain a valid address.', field: 'from.email', help: `${HELP}from` }], 'no unicode in from')

  // Everything well formed still sends.
  const fine = await call('POST', '/sendgrid/v3/mail/send', mail('a@example.com', {
    custom_args: { order: '17' },
    personalizations: [{ to: [{ email: 'a@example.com', name: 'Zoë' }], custom_args: { paid: 'yes' }, substitutions: { '-n-': 'Zoë' } }],
    from: { email: 'sender@example.com', name: 'Dévi' },
    asm: { group_id: 12, groups_to_display: [12, 13] },
    ip_pool_name: 'transactional',
    headers: { 'X-Campaign': 'spring' },
    categories: ['news', 'spring'],
    template_id: 'd-123abc',
    tracking_settings: { open_tracking: { enable: true }, ganalytics: { enable: false, utm_source: 'mail' } },
    mail_settings: { footer: { enable: false } },
    attachments: [{ content: Buffer.from('hello').toString('base64'), filename: 'hello.txt', disposition: 'attachment' }]
  }), auth)
  t.equal(fine.status, 202)
})

t.test('mail/send takes JSON only (415) and POST only (405); stats refuse a malformed limit or date (400)', async t => {
  const { call } = await startEmailApp(t)
  const plain = await call('POST', '/sendgrid/v3/mail/send', JSON.stringify(mail('a@example.com')), { ...auth, 'content-type': 'text/plain' })
  t.equal(plain.status, 415)
  t.equal(plain.text, '{"errors":[{"message":"Content-Type should be application/json.","field":null,"help":null}]}', 'the body integrators recorded')
  const get = await call('GET', '/sendgrid/v3/mail/send', undefined, auth)
  t.equal(get.status, 405)
  t.same(get.body, { errors: [{ message: 'method not allowed', field: null, help: null }] })

  const today = new Date().toISOString().slice(0, 10)
  const stats = (query: string) => call('GET', `/sendgrid/v3/stats?${query}`, undefined, auth)
  for (const [query, field] of [['limit=abc', 'limit'], ['limit=-1', 'limit'], ['limit=1.5', 'limit'], ['offset=x', 'offset']] as const) {
    const res = await stats(`start_date=${today}&${query}`)
    t.equal(res.status, 400, query)
    t.match(res.body.errors, [{ field }], query)
  }
  for (const [query, field] of [['start_date=2024-02-30', 'start_date'], ['start_date=2024-13-01', 'start_date'], ['start_date=yesterday', 'start_date'], ['start_date=2024-01-01&end_date=2024-04-31', 'end_date'], ['start_date=2999-01-01', 'start_date'], ['start_date=2999-01-01&end_date=2998-01-01', 'end_date']] as const) {
    const res = await stats(query)
    t.equal(res.status, 400, query)
    t.match(res.body.errors, [{ field }], query)
  }
  const paged = await stats('start_date=2024-01-01&end_date=2024-01-10&limit=3&offset=2')
  t.equal(paged.status, 200)
  t.same(paged.body.map((r: { date: string }) => r.date), ['2024-01-03', '2024-01-04', '2024-01-05'], 'limit and offset page over the dates')
})

t.test('an address is checked in linear time: one over 320 characters is refused by its length', async t => {
  // The pattern is quadratic on "a@b.b.b.… ": a 1 MB address in a direct send held the event loop
  // (every server of the stack shares it) for minutes.
  const started = performance.now()
  const result = validateMail({ personalizations: [{ to: [{ email: `a@${'b.'.repeat(500_000)} ` }] }], from: { email: 'x@example.com' }, subject: 's', content: [{ type: 'text/plain', value: 'x' }] })
  t.match(result.errors, [{ message: 'Does not contain a valid address.', field: 'personalizations.0.to.0.email' }])
  t.ok(performance.now() - started < 2000, `checked in ${Math.round(performance.now() - started)} ms`)
})
