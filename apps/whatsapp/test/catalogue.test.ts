import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '@switchboard/service-kit/env'
import { DEFAULT_TEMPLATES, loadCatalogue, renderTemplate } from '../src/catalogue.ts'
import { seedCampaigns } from '../src/emulator/validate-campaign.ts'
import { startWhatsAppApp } from './helper.ts'

t.test('by default the catalogue is the emulator\'s seeded campaigns, with their param counts', async t => {
  t.equal(loadCatalogue(undefined), DEFAULT_TEMPLATES)
  const campaigns = seedCampaigns()
  for (const tpl of DEFAULT_TEMPLATES) {
    t.match(campaigns.get(tpl.campaign_name), { live: true, params: tpl.params }, tpl.name)
    t.equal((tpl.body.match(/\{\{\d+\}\}/g) ?? []).length, tpl.params, `${tpl.name}: the body has as many holes as params`)
  }
  t.same(Object.fromEntries(DEFAULT_TEMPLATES.map(x => [x.name, x.params])), { welcome_message: 1, order_confirmation: 2, payment_reminder: 3, otp_verification: 1, appointment_reminder: 2 })
})

t.test('renderTemplate fills the holes and resolves $FirstName', async t => {
  const welcome = DEFAULT_TEMPLATES[0]!
  t.equal(renderTemplate(welcome, ['Asha']), 'Hi Asha, welcome aboard! Reply to this message any time you need help.')
  t.equal(renderTemplate(welcome, ['$FirstName'], 'Ravi Kumar'), 'Hi Ravi, welcome aboard! Reply to this message any time you need help.')
  t.equal(renderTemplate(welcome, ['$FirstName'], null), 'Hi Customer, welcome aboard! Reply to this message any time you need help.')
  t.equal(renderTemplate(welcome, []), 'Hi {{1}}, welcome aboard! Reply to this message any time you need help.', 'a missing value leaves the hole visible')
})

t.test('WHATSAPP_TEMPLATES_FILE replaces the catalogue; a bad file stops start-up naming the variable', async t => {
  const dir = t.testdir({})
  const good = join(dir, 'templates.json')
  writeFileSync(good, JSON.stringify([{ name: 'shipping_update', campaign_name: 'Shipping Update Live', category: 'UTILITY', body: 'Your parcel {{1}} is on its way.', params: 1 }]))
  const loaded = loadCatalogue(good)
  t.match(loaded, [{ name: 'shipping_update', language: 'en', header: 'none' }], 'defaults filled in')

  const cases: Array<[unknown, RegExp]> = [
    ['not json', /could not be read as JSON/],
    [[], /WHATSAPP_TEMPLATES_FILE/],
    [[{ name: 'x', campaign_name: 'x', category: 'UTILITY', body: 'b', params: 'two' }], /WHATSAPP_TEMPLATES_FILE .* at \/0\/params/],
    [[{ name: 'x', campaign_name: 'x', category: 'UTILITY', body: 'b', params: 1, button: { type: 'copy_code', param_index: 1 } }], /fills its button from param 1 but takes only 1/],
    [[{ name: 'x', campaign_name: 'x', category: 'UTILITY', body: 'b', params: 2, default_params: ['a'] }], /has 1 default_params but takes 2/]
  ]
  for (const [content, message] of cases) {
    const file = join(dir, 'bad.json')
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content))
    t.throws(() => loadCatalogue(file), { name: 'ConfigError', message }, JSON.stringify(content))
  }
  t.throws(() => loadCatalogue(join(dir, 'missing.json')), ConfigError)

  // The service lists and sends what its configuration says; the emulator only knows its seeded
  // campaigns, so an unknown campaign comes back as AiSensy's own refusal.
  const { call } = await startWhatsAppApp(t, { env: { WHATSAPP_TEMPLATES_FILE: good } })
  const templates = await call('GET', '/templates')
  t.same(templates.body.templates.map((x: { name: string }) => x.name), ['shipping_update'])
  const res = await call('POST', '/messages', { to_number: '+919876543210', template_name: 'shipping_update', params: ['AWB123'] })
  t.equal(res.status, 422)
  t.match(res.body.message, 'AiSensy rejected the request: Campaign does not exist.')
  const old = await call('POST', '/messages', { to_number: '+919876543210', template_name: 'welcome_message', params: ['A'] })
  t.equal(old.body.code, 'WHATSAPP_UNKNOWN_TEMPLATE')
})
