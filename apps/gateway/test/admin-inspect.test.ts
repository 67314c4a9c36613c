/**
 * The channel views of the admin page (issue #22) in a real headless Chromium against the real
 * stack: an email inbox with the HTML in a sandboxed frame, a WhatsApp thread, calls with their
 * transcript and recording, payment links with their checkout and webhook, Zoom meetings, and
 * every item's raw exchanges, webhooks and timeline. New items arrive through the live stream
 * (server-sent events), not by reloading. Each view is checked with axe-core and screenshotted at
 * 1440 and 390 px into the folder test/browser.ts names (printed at the end).
 */
import t from 'tap'
import { eventually, jsonCaller } from '@switchboard/service-kit/testing'
import { startStack } from '../../stack/test/helper.ts'
import { launch, lookAt, openPage, SHOTS, waitForText } from './browser.ts'

const API_TOKEN = 'inspect-test-api-token-0123456789'
const ADMIN_TOKEN = 'inspect-test-admin-token-0123456789'
const api = { authorization: `Bearer ${API_TOKEN}` }
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

// The section of the open email shown now (the message's own HTML/Text tabs are nested inside).
const SHOWN = '#email-inspect [data-slot=detail-body] > .sections > .subpanels > [role=tabpanel]:not([hidden])'

t.test('the channel views, on the real stack', async t => {
  const { gatewayUrl, urls } = await startStack(t, { API_TOKEN, ADMIN_TOKEN })
  const call = jsonCaller(gatewayUrl)
  const browser = await launch(t)
  const { page, problems } = await openPage(t, browser, { width: 1440, height: 900 })
  const a11y: string[] = []

  await page.goto(`${gatewayUrl}/admin#email`)
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('#panel-email').waitFor({ state: 'visible' })
  await waitForText(page, '#panel-email [data-slot=live]', /Live/)
  await page.evaluate(() => { (globalThis as any).marker = 1 })

  await t.test('email: an inbox, the HTML in a sandboxed frame, text, source, headers, webhooks', async t => {
    const html = '<h1>Your receipt</h1><p id="styled" style="color: rgb(200, 0, 0)">Thanks, <b>Ada</b>.</p><img src="https://tracker.example.com/pixel.gif" alt="pixel"><script>parent.document.title = "owned"</script>'
    const sent = await call('POST', '/api/automation/trigger/email', { to_email: 'ada@example.com', subject: 'Your receipt #42', content: html }, api)
    t.equal(sent.status, 202)
    const row = page.locator(`#panel-email button.item[data-id="${sent.body.id}"]`)
    await row.waitFor()
    t.equal(await page.evaluate(() => (globalThis as any).marker), 1, 'it arrived live, without a reload')
    t.match(await row.innerText(), /ada@example\.com[\s\S]*Your receipt #42/)
    await row.click()
    await waitForText(page, '#email-inspect-title', /Your receipt #42/)
    const frame = page.locator('#email-inspect iframe.email-frame')
    await frame.waitFor()
    t.equal(await frame.getAttribute('sandbox'), '', 'sandboxed with nothing allowed: no scripts, an opaque origin')
    t.match(await frame.getAttribute('srcdoc'), /Content-Security-Policy[\s\S]*default-src 'none'/, 'its own CSP forbids remote loads')
    t.match(await page.frameLocator('#email-inspect iframe.email-frame').locator('h1').innerText(), /Your receipt/, 'the HTML is rendered')
    t.not(await page.title(), 'owned', 'the email\'s script did not run')
    t.comment(`an inline style in the email renders as ${await page.frameLocator('#email-inspect iframe.email-frame').locator('#styled').evaluate(el => (globalThis as any).getComputedStyle(el).color)}`)
    // The webhooks (processed, delivered) arrive, signed and verified, and the timeline follows.
    await page.locator('#email-inspect [role=tab]', { hasText: 'Webhooks' }).click()
    await waitForText(page, SHOWN, /signature verified/)
    await page.locator('#email-inspect [role=tab]', { hasText: 'Provider requests' }).click()
    const raw = await waitForText(page, SHOWN, /\/v3\/mail\/send/)
    t.match(raw, /\[REDACTED\]/, 'the provider request is shown with its key redacted')
    t.notMatch(raw, /SG\.[A-Za-z0-9_-]{10,}/)
    await page.locator('#email-inspect [role=tab]', { hasText: 'Timeline' }).click()
    await waitForText(page, SHOWN, /delivered/)
    await page.locator('#email-inspect [role=tab]', { hasText: 'Message' }).click()
    a11y.push(...await lookAt(page, 'email'))

    // Sent straight to the emulator, as an official SDK would: listed live, marked direct, with its attachment.
    const direct = await fetch(`${urls.email}/sendgrid/v3/mail/send`, {
      method: 'POST',
      headers: { authorization: 'Bearer SG.direct-client-key.abcdefghijklmnopqrstuvwxyz', 'content-type': 'application/json' },
      body: JSON.stringify({ personalizations: [{ to: [{ email: 'sdk-user@example.com' }] }], from: { email: 'sdk@example.com' }, subject: 'Straight from an SDK', content: [{ type: 'text/plain', value: 'Plain text from the SDK' }], attachments: [{ content: Buffer.from('hello attachment').toString('base64'), filename: 'hello.txt', type: 'text/plain' }] })
    })
    t.equal(direct.status, 202)
    const directRow = page.locator('#panel-email button.item', { hasText: 'Straight from an SDK' })
    await directRow.waitFor()
    t.match(await directRow.innerText(), /direct/i, 'marked direct')
    await directRow.click()
    t.match(await waitForText(page, '#email-inspect', /hello\.txt/), /Plain text from the SDK|hello\.txt/, 'its attachment by name')
    t.match(await page.locator('#email-inspect .attachments').innerText(), /hello\.txt[\s\S]*16 B/, 'and size')

    // Text search reaches the content; a search with no hit says so.
    await page.locator('#email-q').fill('Thanks')
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#panel-email button.item').length === 1)
    await page.locator('#email-q').fill('no such words anywhere')
    await waitForText(page, '#panel-email [data-slot=empty]', /Nothing matches/)
    await page.locator('#email-q').fill('')
    await page.locator('#panel-email button.item').first().waitFor()
  })

  await t.test('WhatsApp: a thread per number, the template as bubbles with ticks, replies', async t => {
    const sent = await call('POST', '/api/automation/trigger/whatsapp', { to_number: '+91 90000 00004', template_name: 'order_confirmation', params: ['Asha', '#A-1042'], contact_name: 'Asha Rao' }, api)
    t.equal(sent.status, 202)
    t.equal((await call('POST', '/api/admin/whatsapp/inbound', { from: '90000 00004', text: 'Where is my order?', name: 'Asha Rao' }, admin)).status, 202)
    await page.getByRole('tab', { name: 'WhatsApp' }).click()
    const thread = page.locator('#panel-whatsapp button.item[data-thread="+919000000004"]')
    await thread.waitFor()
    // Wait for "read" (the number's magic fate) before opening, so the ticks are final.
    await eventually(async () => (await call('GET', `/api/admin/activity/whatsapp/${sent.body.id}`, undefined, admin)).body.row?.status === 'read')
    await thread.click()
    await waitForText(page, '#whatsapp-inspect .wa-thread', /Asha[\s\S]*#A-1042/)
    await page.locator('#whatsapp-inspect .wa-bubble.out .ticks.read').first().waitFor()
    t.pass('the bubble shows read ticks')
    // order_confirmation's header is 'none': a text-only bubble, no media placeholder.
    t.equal(await page.locator('#whatsapp-inspect .wa-bubble.out .wa-media').count(), 0, 'no media header on a template without one')
    t.match(await waitForText(page, '#whatsapp-inspect .wa-thread', /Where is my order/), /Where is my order/, 'the reply is in the thread')
    a11y.push(...await lookAt(page, 'whatsapp'))

    // Sent straight to AiSensy with the national number: the same thread, its ticks from AiSensy's notifications.
    const direct = await fetch(`${urls.whatsapp}/aisensy/campaign/t1/api/v2`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: 'eyJhbGciOiJIUzI1NiJ9.eyJpZCI6ImRldiJ9.c2ln', campaignName: 'order_confirmation', destination: '9000000004', userName: 'Asha', templateParams: ['Asha', '#B-7'] })
    })
    t.equal(direct.status, 200)
    await direct.arrayBuffer()
    await waitForText(page, '#panel-whatsapp button.item[data-thread="+919000000004"]', /2 messages/)
    t.equal(await page.locator('#panel-whatsapp button.item[data-thread="9000000004"]').count(), 0, 'no thread of its own for the number as AiSensy was given it')
    await thread.click()
    await waitForText(page, '#whatsapp-inspect .wa-thread', /#B-7/)
    const directTicks = page.locator('#whatsapp-inspect .wa-bubble.out', { hasText: '#B-7' }).locator('.ticks')
    t.match(await directTicks.getAttribute('aria-label'), /^(submitted|sent|delivered|read|failed)$/, 'its ticks say what became of it, not the HTTP status')
    await page.locator('#whatsapp-inspect .wa-bubble.out button', { hasText: 'Details' }).first().click()
    await waitForText(page, '#whatsapp-inspect', /Provider requests/)
    t.ok(await page.locator('#whatsapp-inspect button.back').isVisible(), 'a way back to the thread')
  })

  await t.test('calls: timeline, transcript as a conversation, the recording', async t => {
    const placed = await call('POST', '/api/automation/trigger/call', { to_number: '+919855550100', script_id: 'appointment_reminder' }, api)
    t.equal(placed.status, 202)
    await page.getByRole('tab', { name: 'Calls' }).click()
    await eventually(async () => (await call('GET', `/api/admin/activity/voice/${placed.body.id}`, undefined, admin)).body.content?.recording_url ? true : undefined)
    const row = page.locator(`#panel-voice button.item[data-id="${placed.body.id}"]`)
    await row.waitFor()
    await row.click()
    await page.locator('#voice-inspect .conversation .turn').first().waitFor()
    t.ok(await page.locator('#voice-inspect .conversation .turn.agent').count() >= 1, 'the agent\'s turns')
    t.ok(await page.locator('#voice-inspect audio[controls]').count() === 1, 'an audio player')
    a11y.push(...await lookAt(page, 'calls'))
  })

  await t.test('payments: the link, the checkout, the webhook', async t => {
    const created = await call('POST', '/api/admin/payment-links', { amount: '2500.00', purpose: 'Annual plan', buyer_name: 'John Doe', email: 'john@example.com', phone: '9999999999' }, admin)
    t.equal(created.status, 201)
    t.equal((await call('POST', `/api/admin/payment-links/${created.body.id}/simulate`, { outcome: 'success' }, admin)).status, 200)
    await page.getByRole('tab', { name: 'Payments' }).click()
    const row = page.locator(`#panel-payments button.item[data-id="${created.body.id}"]`)
    await row.waitFor()
    await eventually(async () => (await call('GET', `/api/admin/activity/payments/${created.body.id}`, undefined, admin)).body.webhooks?.length ? true : undefined)
    await row.click()
    t.match(await waitForText(page, '#payments-inspect', /Annual plan[\s\S]*INR 2500\.00/), /john@example\.com/)
    await waitForText(page, '#payments-inspect', /signature verified/)
    a11y.push(...await lookAt(page, 'payments'))
  })

  await t.test('Zoom: the meeting with its lifecycle and recordings', async t => {
    const m = await call('POST', '/api/zoom/meetings', { topic: 'Design review', start_time: '2099-07-01T10:00:00Z', duration: 30 }, api)
    t.equal(m.status, 201)
    t.equal((await call('POST', `/api/zoom/meetings/${m.body.id}/end`, undefined, api)).status, 200)
    await page.getByRole('tab', { name: 'Zoom' }).click()
    const row = page.locator('#panel-zoom button.item', { hasText: 'Design review' }).first()
    await row.waitFor()
    await row.click()
    await waitForText(page, '#zoom-inspect', /Design review/)
    // The meeting's settings overflow their block: it scrolls, so the keyboard must reach it
    // (axe-core's scrollable-region-focusable), and so must every other block that scrolls.
    const unreachable = await page.evaluate(() => [...(globalThis as any).document.querySelectorAll('#zoom-inspect pre')]
      .filter((pre: any) => pre.scrollHeight > pre.clientHeight && pre.tabIndex < 0).length)
    t.equal(unreachable, 0, 'every block that scrolls takes the focus')
    a11y.push(...await lookAt(page, 'zoom'))
  })

  await t.test('Activity: a row opens its content, timeline and exchanges too', async t => {
    await page.getByRole('tab', { name: 'Activity' }).click()
    await page.locator('#journal tr', { hasText: 'ada@example.com' }).click()
    await waitForText(page, '#detail-inspect', /Provider requests/)
    a11y.push(...await lookAt(page, 'activity-inspect'))
  })

  await t.test('Stats: Zoom is there, and outcomes are apart from errors', async t => {
    await page.getByRole('tab', { name: 'Stats' }).click()
    await page.locator('#stats-zoom').waitFor()
    t.match(await page.locator('#stats-zoom .meetings').innerText(), /MEETINGS CREATED\s+1/i)
    a11y.push(...await lookAt(page, 'stats-zoom'))
  })

  await t.test('a reset (here a test suite\'s) empties a list the person paged through', async t => {
    await page.getByRole('tab', { name: 'Email' }).click()
    for (let i = 0; i < 60; i += 10) {
      await Promise.all(Array.from({ length: 10 }, (_x, j) => call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: `Page test ${i + j}`, content: 'x' }, api)))
    }
    await page.getByRole('tab', { name: 'Email' }).click()
    await page.locator('#panel-email [data-slot=more]').click()
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#panel-email button.item').length > 50)
    t.equal((await call('POST', '/api/admin/reset', undefined, admin)).status, 200)
    // The tab's refresh (the periodic one, or the tab chosen again) reads the pages again.
    await page.getByRole('tab', { name: 'Email' }).click()
    await page.locator('#panel-email [data-slot=empty]', { hasText: 'Nothing sent through' }).waitFor({ state: 'visible' })
    t.equal(await page.locator('#panel-email button.item').count(), 0, 'none of the deleted emails is listed')
  })

  // The email's own remote image and script were refused by the frame's policy (the browser says so
  // in the console); nothing else went wrong on the page.
  const frameBlocks = problems.filter(p => /tracker\.example\.com|about:srcdoc|Applying inline style/.test(p))
  t.ok(frameBlocks.some(p => /tracker\.example\.com[\s\S]*Content Security Policy/.test(p)), 'the email\'s remote image was blocked')
  t.ok(frameBlocks.some(p => /Blocked script execution in 'about:srcdoc'/.test(p)), 'the email\'s script was blocked')
  t.same(problems.filter(p => !frameBlocks.includes(p)), [], 'no page errors and no other CSP violations')
  t.same(a11y, [], 'axe-core: no serious or critical violation in any view, at 1440 and 390 px')
  t.comment(`screenshots in ${SHOTS}`)
})
