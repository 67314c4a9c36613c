/** The pure parts of the WhatsApp service: template checks, a message's request and rows, a status post's outcome. */
import t from 'tap'
import { statusNotification } from '../src/aisensy-webhooks.ts'
import { DEFAULT_TEMPLATES, type Template } from '../src/catalogue.ts'
import { campaignMessage, messageRows, prepareContacts, type SendResult } from '../src/service/messages.ts'
import { COALESCE_RANK, failureColumns, finalStatuses } from '../src/service/status-events.ts'
import { paramsFor, templateNamed, templatesReply } from '../src/service/templates.ts'

const byName = new Map(DEFAULT_TEMPLATES.map(x => [x.name, x]))
const template = (name: string): Template => byName.get(name)!
const sender = { source: 'switchboard', defaultContactName: 'Customer' }

t.test('templates: found by name, params given or defaulted and counted, listed as configuration', async t => {
  t.equal(templateNamed(byName, 'order_confirmation').params, 2)
  t.throws(() => templateNamed(byName, 'nope'), { code: 'WHATSAPP_UNKNOWN_TEMPLATE', message: /Known templates: welcome_message, order_confirmation/ })
  t.same(paramsFor(template('welcome_message'), undefined, 'body/params'), ['$FirstName'], 'the template\'s defaults')
  t.same(paramsFor(template('order_confirmation'), ['Asha', 'A-1'], 'body/params'), ['Asha', 'A-1'])
  t.throws(() => paramsFor(template('order_confirmation'), undefined, 'body/params'), { code: 'WHATSAPP_TEMPLATE_PARAMS_MISMATCH', message: /has no defaults: give body\/params/ })
  t.throws(() => paramsFor(template('order_confirmation'), ['one'], 'body/contacts/3/params'), { code: 'WHATSAPP_TEMPLATE_PARAMS_MISMATCH', details: [{ field: 'body/contacts/3/params' }] })
  const listed = templatesReply(DEFAULT_TEMPLATES)
  t.equal(listed.source, 'configuration')
  t.equal(listed.templates.length, DEFAULT_TEMPLATES.length)
  t.match(listed.templates.find(x => x.name === 'otp_verification'), { button: 'copy_code', default_params: null })
})

t.test('contacts: numbers normalised, a bad one kept as given with its reason, params checked per contact', async t => {
  const [good, bad] = prepareContacts(template('order_confirmation'), [
    { to_number: '98765 43210', name: 'Asha', params: ['Asha', 'A-1'] },
    { to_number: '12', params: ['x', 'y'] }
  ])
  t.match(good, { raw: '+919876543210', e164: '+919876543210', invalidReason: undefined, name: 'Asha' })
  t.match(bad, { raw: '12', e164: undefined, name: null })
  t.type(bad!.invalidReason, 'string')
  t.throws(() => prepareContacts(template('order_confirmation'), [{ to_number: '+919876543210', params: ['a', 'b'] }, { to_number: '+919876543211', params: ['a'] }]),
    { code: 'WHATSAPP_TEMPLATE_PARAMS_MISMATCH', details: [{ field: 'body/contacts/1/params' }] })
})

t.test('the Live API request: media for a media header (the default when none is given), the button from its param', async t => {
  const [p] = prepareContacts(template('appointment_reminder'), [{ to_number: '+919876543210', params: ['Asha', 'Monday'] }])
  const withDefault = campaignMessage(template('appointment_reminder'), p!, sender)
  t.match(withDefault, { campaignName: 'appointment_reminder', destination: '+919876543210', userName: 'Customer', source: 'switchboard', templateParams: ['Asha', 'Monday'], buttons: [] })
  t.same(withDefault.media, { url: 'https://placehold.co/800x418.png?text=Appointment+reminder', filename: 'appointment.png' })
  t.same(campaignMessage(template('appointment_reminder'), { ...p!, media: { url: 'https://x/y.png' } }, sender).media, { url: 'https://x/y.png' })
  const [otp] = prepareContacts(template('otp_verification'), [{ to_number: '+919876543210', name: 'Ravi', params: ['481516'] }])
  const code = campaignMessage(template('otp_verification'), otp!, sender)
  t.same(code.media, {}, 'no media without a media header')
  t.equal(code.userName, 'Ravi')
  t.same(code.buttons, [{ type: 'button', sub_type: 'url', index: 0, parameters: [{ type: 'text', text: '481516' }] }])
})

t.test('a message\'s rows: the log row and the unified crm row pointing back at it, the text as the person sees it', async t => {
  const [p] = prepareContacts(template('order_confirmation'), [{ to_number: '+919876543210', params: ['Asha', 'A-1'] }])
  const r: SendResult = { id: 'm1', mode: 'mock', fallback: false, to_number: '+919876543210', status: 'submitted', provider_message_id: 'pm1', error: null, latencyMs: 12 }
  const { log, crm } = messageRows(r, template('order_confirmation'), p!, 'req1', 'c1', null, 'Customer')
  t.match(log, { id: 'm1', request_id: 'req1', campaign_id: 'c1', template_name: 'order_confirmation', params: ['Asha', 'A-1'], status: 'submitted', provider_message_id: 'pm1', error_code: null, latency_ms: 12 })
  t.match(crm, { channel: 'whatsapp', direction: 'outbound', source_table: 'whatsapp_logs', source_id: 'm1', provider_message_id: 'pm1', content: 'Hi Asha, your order A-1 is confirmed. We will message you when it ships.' })
  t.not(crm.id, log.id)
})

t.test('a status post: each message ends at its highest-ranked status, the first of equal ranks; other events are not counted', async t => {
  const post = (messageId: string, status: 'sent' | 'delivered' | 'read' | 'failed') =>
    statusNotification({ projectId: 'p', messageId, status, atMs: Date.parse('2026-01-01T00:00:00Z'), phone: '919876543210', userName: 'Asha', campaignName: 'c' })
  const { final, used } = finalStatuses([
    post('a', 'sent'), post('a', 'failed'), post('a', 'delivered'),
    post('b', 'sent'), post('b', 'failed'),
    post('c', 'read'), post('c', 'delivered'),
    { topic: 'something.else' }, 'junk'
  ])
  t.equal(used, 7)
  t.same([...final].map(([id, u]) => [id, u.status]), [['a', 'delivered'], ['b', 'failed'], ['c', 'read']])
  t.same(failureColumns(final.get('b')!), { error: 'Message undeliverable', error_code: '131026' })
  t.same(failureColumns(final.get('a')!), {})
  t.same(failureColumns({ messageId: 'x', status: 'failed' }), { error: 'failed', error_code: 'failed' })
  t.ok(COALESCE_RANK.read > COALESCE_RANK.delivered && COALESCE_RANK.delivered > COALESCE_RANK.failed && COALESCE_RANK.failed > COALESCE_RANK.sent)
})
