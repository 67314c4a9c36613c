/**
 * The admin page's live updates with the test clock moved, in a real headless Chromium against
 * the real stack (issue #24): what the page shows while a data set plays last week's history or
 * a person pressed Freeze in the playground. Rows stamped in the past arrive live; an item opened
 * while the clock is frozen follows its next status, though every move carries the same instant.
 */
import t from 'tap'
import { jsonCaller } from '@switchboard/service-kit/testing'
import { startStack } from '../../stack/test/helper.ts'
import { launch, openPage, waitForText } from './browser.ts'

const API_TOKEN = 'live-clock-test-api-token-0123456789'
const ADMIN_TOKEN = 'live-clock-test-admin-token-0123456789'
const api = { authorization: `Bearer ${API_TOKEN}` }
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

t.test('live updates with the test clock set back or frozen', async t => {
  const { gatewayUrl } = await startStack(t, { API_TOKEN, ADMIN_TOKEN })
  const call = jsonCaller(gatewayUrl)
  const browser = await launch(t)
  const { page, problems } = await openPage(t, browser, { width: 1440, height: 900 })
  t.teardown(async () => { await call('POST', '/api/admin/clock/real', undefined, admin) })

  await page.goto(`${gatewayUrl}/admin#email`)
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await waitForText(page, '#panel-email [data-slot=live]', /Live/)
  let dayOld = ''

  await t.test('a row stamped a day ago (a data set\'s history) arrives through the live stream', async t => {
    const dayAgo = new Date(Date.now() - 86_400_000).toISOString()
    t.equal((await call('POST', '/api/admin/clock/set', { to: dayAgo }, admin)).status, 200)
    const sent = await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'From last week', content: '<p>Hi</p>' }, api)
    t.equal(sent.status, 202, sent.text)
    // Marked "arrived" only by a live event (the periodic safety refresh draws the list without it).
    await page.locator(`#panel-email li.arrived button.item[data-id="${sent.body.id}"]`).waitFor()
    t.pass('listed live, though created a day ago on the clock')
    dayOld = sent.body.id
    t.equal((await call('POST', '/api/admin/clock/real', undefined, admin)).status, 200)
  })

  await t.test('a time filter keeps out what arrives live stamped before it', async t => {
    await page.locator('#email-since').selectOption('60')
    await page.locator(`#panel-email button.item[data-id="${dayOld}"]`).waitFor({ state: 'detached' })
    t.equal((await call('POST', '/api/admin/clock/set', { to: new Date(Date.now() - 3 * 86_400_000).toISOString() }, admin)).status, 200)
    const old = await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Three days ago', content: 'x' }, api)
    t.equal((await call('POST', '/api/admin/clock/real', undefined, admin)).status, 200)
    const fresh = await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Just now', content: 'x' }, api)
    // The stream sends changes in the order they were made: once the new one is shown, the old one was handled.
    await page.locator(`#panel-email li.arrived button.item[data-id="${fresh.body.id}"]`).waitFor()
    t.equal(await page.locator(`#panel-email button.item[data-id="${old.body.id}"]`).count(), 0, 'the email stamped three days ago is not under "Last hour"')
    await page.locator('#email-since').selectOption('')
    await page.locator(`#panel-email button.item[data-id="${old.body.id}"]`).waitFor()
    t.pass('and is there at any time')
  })

  await t.test('an item opened on a frozen clock follows its next status', async t => {
    await page.getByRole('tab', { name: 'Development' }).click()
    await page.locator('#playground').getByRole('button', { name: 'Freeze' }).click()
    await waitForText(page, '#playground .clock-state', /Frozen at/)

    await page.getByRole('tab', { name: 'Payments' }).click()
    const link = await call('POST', '/api/admin/payment-links', { amount: 1499, purpose: 'Frozen plan', buyer_name: 'Asha Rao', phone: '+919812345678' }, admin)
    t.equal(link.status, 201, link.text)
    const row = page.locator(`#panel-payments button.item[data-id="${link.body.id}"]`)
    await row.click()
    await waitForText(page, '#payments-inspect-title', /Frozen plan/)
    await page.locator('#payments-inspect [role=tab]', { hasText: 'Timeline' }).click()
    const shown = '#payments-inspect [role=tabpanel]:not([hidden])'
    await waitForText(page, shown, /pending/)

    // Paid while the clock stands still: the same updated_at as the link's creation.
    const paid = await call('POST', `/api/admin/payment-links/${link.body.id}/simulate`, {}, admin)
    t.equal(paid.body.status, 'paid', paid.text)
    const detail = (await call('GET', `/api/admin/activity/payments/${link.body.id}`, undefined, admin)).body
    t.equal(detail.row.updated_at, detail.row.created_at, 'the payment carries the frozen instant')
    await row.locator('.status', { hasText: 'paid' }).waitFor()
    t.match(await waitForText(page, shown, /paid/), /paid/, 'the open item\'s timeline shows the payment')
    await page.locator('#payments-inspect [role=tab]', { hasText: 'Webhooks (1)' }).waitFor()
    t.pass('and the webhook it caused')

    // The Activity tab's details follow it too: a second link, opened there, paid while open.
    await page.getByRole('tab', { name: 'Activity' }).click()
    const other = await call('POST', '/api/admin/payment-links', { amount: 499, purpose: 'Frozen add-on', buyer_name: 'Asha Rao', phone: '+919812345678' }, admin)
    const tr = page.locator(`#journal tr[data-id="${other.body.id}"]`)
    await tr.click()
    await waitForText(page, '#detail-title', /pending/)
    await call('POST', `/api/admin/payment-links/${other.body.id}/simulate`, {}, admin)
    await tr.locator('.status', { hasText: 'paid' }).waitFor()
    t.match(await waitForText(page, '#detail-title', /paid/), /paid/, 'the Activity tab\'s open details show the payment')
  })

  await t.test('an open Zoom meeting follows its lifecycle when an advance starts it', async t => {
    // README's demo: freeze the clock, book a meeting for tomorrow, advance a day.
    t.teardown(async () => { await call('POST', '/api/admin/clock/real', undefined, admin) })
    t.equal((await call('POST', '/api/admin/clock/freeze', undefined, admin)).status, 200)
    const clock = (await call('GET', '/api/admin/clock', undefined, admin)).body
    const start = new Date(Date.parse(clock.now) + 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z')
    const meeting = await call('POST', '/api/zoom/meetings', { topic: 'Launch review', start_time: start, duration: 30 }, api)
    t.equal(meeting.status, 201, meeting.text)
    await page.getByRole('tab', { name: 'Zoom' }).click()
    await page.locator('#panel-zoom button.item', { hasText: 'meeting created: Launch review' }).click()
    const shown = '#zoom-inspect [role=tabpanel]:not([hidden])'
    t.match(await waitForText(page, shown, /Status\s*waiting/), /Not started yet/)
    t.equal((await call('POST', '/api/admin/clock/advance', { seconds: 86_400 }, admin)).status, 200)
    t.match(await waitForText(page, shown, /Status\s*started/), /started/, 'the open meeting says it started')
    await page.locator('#zoom-inspect [role=tab]', { hasText: 'Webhooks (1)' }).waitFor()
    t.pass('with the meeting.started webhook')
  })

  await t.test('the clock as a person reads it: its offset as a span, its moves in the changes as dates', async t => {
    await page.getByRole('tab', { name: 'Development' }).click()
    const playground = page.locator('#playground')
    await playground.getByRole('button', { name: '+1 day' }).click()
    await playground.getByRole('button', { name: 'Resume' }).click()
    t.match(await waitForText(page, '#playground .clock-state', /Running/), /^Running 1 day ahead of real time: /, 'a day, not 86399 s')
    const change = page.locator('#changes tr', { hasText: 'clock' }).first()
    await change.getByText('offset_ms').waitFor()
    const text = await change.innerText()
    t.match(text, /offset_ms: none → \+1 day/, 'the offset as a span')
    t.notMatch(text, /\d{13}/, 'no instant as milliseconds since 1970')
    await playground.getByRole('button', { name: 'Real time' }).click()
    await waitForText(page, '#playground .clock-state', /^Real time/)
  })

  t.same(problems, [], 'no page errors')
})
