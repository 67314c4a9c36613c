/**
 * The admin page in a real headless Chromium against the real stack (every service the stack has,
 * plus the gateway, in this process on free ports), the way a person uses it: sign in, look,
 * switch, tune, watch the activity arrive, read the charts.
 *
 * Every tab is checked with axe-core at a laptop's and a phone's width, and screenshotted into the
 * folder test/browser.ts names (printed at the end) for a person to look at; they are not checked in.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { eventually, jsonCaller, type JsonCall } from '@switchboard/service-kit/testing'
// The stack app depends on the gateway, so the gateway cannot depend on it back: its source is
// imported by path (its own dependencies resolve from apps/stack).
import { startStack as startWholeStack } from '../../stack/test/helper.ts'
import { CONTENT_SECURITY_POLICY } from '../src/admin/index.ts'
import { axeViolations, launch, lookAt, openPage as open, resize, SHOTS as shots, waitForText } from './browser.ts'

const API_TOKEN = 'page-test-api-token-0123456789'
const ADMIN_TOKEN = 'page-test-admin-token-0123456789'

interface Running { gatewayUrl: string, call: JsonCall }

/** The whole stack, as `./switchboard start` runs it, on free ports with a database of its own. */
async function startStack (t: Test): Promise<Running> {
  // Email gets a little latency so the Activity tab has something to wait for.
  const { gatewayUrl } = await startWholeStack(t, { API_TOKEN, ADMIN_TOKEN, EMAIL_LATENCY_MS: '20-120' })
  return { gatewayUrl, call: jsonCaller(gatewayUrl) }
}

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
const api = { authorization: `Bearer ${API_TOKEN}` }

let gatewayUrl = ''
let call: Running['call']
let browser: Browser | undefined

const openPage = (t: Test) => open(t, browser!)

const text = (page: Page, selector: string) => page.locator(selector).innerText()

async function signIn (page: Page): Promise<void> {
  await page.goto(`${gatewayUrl}/admin`)
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('#app').waitFor({ state: 'visible' })
}

t.test('the admin page, on the real stack in one process', async t => {
  ({ gatewayUrl, call } = await startStack(t))
  // Closed first, then the stack, then its database is dropped (teardowns run last in, first out).
  browser = await launch(t)

  await t.test('the shell: no token needed, no data, strict CSP, no inline script, cacheable assets', async t => {
    const page = await call('GET', '/admin')
    t.equal(page.status, 200)
    t.match(page.headers['content-type'], /^text\/html; charset=utf-8/)
    t.equal(page.headers['content-security-policy'], CONTENT_SECURITY_POLICY)
    t.match(CONTENT_SECURITY_POLICY, /script-src 'self'(;|$)/)
    t.notMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval/)
    t.equal(page.headers['cache-control'], 'no-cache')
    t.equal(page.headers['x-content-type-options'], 'nosniff')
    const html = String(page.body)
    t.notMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'every script is a file')
    t.notMatch(html, /\son[a-z]+=/, 'no inline event handlers')
    t.notMatch(html, /\sstyle=/, 'no inline styles')
    t.notMatch(html, /(src|href)="(https?:)?\/\//, 'no external assets')
    t.notMatch(html, new RegExp(ADMIN_TOKEN), 'no token in the page')

    const script = /src="(\/admin\/main\.js\?v=[^"]+)"/.exec(html)?.[1]
    const style = /href="(\/admin\/app\.css\?v=[^"]+)"/.exec(html)?.[1]
    t.ok(script && style, 'the shell names its module and stylesheet by version')
    const js = await call('GET', script!)
    t.equal(js.status, 200)
    t.match(js.headers['content-type'], /^text\/javascript/)
    t.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable')
    const css = await call('GET', style!)
    t.match(css.headers['content-type'], /^text\/css/)
    const unversioned = await call('GET', '/admin/api.js')
    t.equal(unversioned.headers['cache-control'], 'no-cache', 'an unversioned URL is revalidated')
    const again = await call('GET', '/admin/api.js', undefined, { 'if-none-match': String(unversioned.headers.etag) })
    t.equal(again.status, 304)
    t.equal((await call('GET', '/api/admin/settings/mock-mode')).status, 401, 'the data behind it still needs the token')
  })

  await t.test('Development, Activity and Stats in Chromium, against the real admin API', async t => {
    const { page, problems } = await openPage(t)
    const started = Date.now()

    // Sign-in: a wrong token is refused with a message that says what to do.
    await page.goto(`${gatewayUrl}/admin`)
    await page.getByLabel('Admin token').fill('not-the-admin-token-at-all')
    await page.getByRole('button', { name: 'Sign in' }).click()
    t.match(await waitForText(page, '#signin-message', /401/), /tokens\.json/)
    t.ok(await page.locator('#app').isHidden(), 'nothing shown without the token')
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.locator('#app').waitFor({ state: 'visible' })
    t.equal(await page.evaluate(() => sessionStorage.getItem('switchboard.adminToken')), ADMIN_TOKEN, 'kept for this tab only')

    // Every service the stack has, in mock mode, with its placeholders.
    const settings = (await call('GET', '/api/admin/settings/mock-mode', undefined, admin)).body
    const names = Object.keys(settings.services)
    t.ok(names.includes('email'))
    await page.locator(`#service-${names.at(-1)} [data-slot=mode]`).waitFor()
    for (const name of names) {
      const card = page.locator(`#service-${name}`)
      t.equal(await card.locator('[data-slot=mode]').innerText(), 'MOCK', `${name} shows mock mode`)
      t.equal(await card.locator('[data-act=mode]').isChecked(), true, `${name}'s switch is on mock`)
      t.match(await card.locator('h3').innerText(), settings.services[name].provider, `${name} names its provider`)
      for (const c of settings.services[name].credentials) t.match(await card.locator('[data-slot=keys]').innerText(), c.display, `${name} shows ${c.variable} masked`)
      if (!settings.services[name].fallback_allowed) {
        t.equal(await card.locator('[data-act=fallback]').isDisabled(), true, `${name}'s fallback is disabled`)
        t.equal(await card.locator('[data-slot=fallback-hint]').innerText(), settings.services[name].fallback_note, `${name} says why it never falls back`)
      }
    }
    t.equal(await page.getByRole('switch', { name: /^Mock mode \(all services except Zoom\)/ }).isChecked(), true)

    // The emulator's base URL and fake account, fetched when asked for and hidden again.
    const emulator = page.locator('#service-voice section.emulator')
    await emulator.getByRole('button', { name: 'Show credentials' }).click()
    const shown = await waitForText(page, '#service-voice [data-slot=emulator]', /\/bolna: /)
    t.match(shown, /^http:\/\/127\.0\.0\.1:\d+\/bolna: takes any credential of the provider's shape/)
    t.match(await emulator.locator('dl').innerText(), /apiKey\s+bn-[0-9a-f]{32}/, 'the account\'s key')
    await emulator.getByRole('button', { name: 'Hide credentials' }).click()
    t.equal(await emulator.locator('dl').isHidden(), true)

    // Email to live without SENDGRID_API_KEY: refused, named, still mock (on the page and in the API).
    const emailCard = page.locator('#service-email')
    await page.getByRole('switch', { name: 'Mock mode for Email' }).click()
    const refusal = await waitForText(page, '#service-email [data-slot=mode-message]', /SENDGRID_API_KEY/)
    t.match(refusal, /SENDGRID_API_KEY/, `the refusal is shown: "${refusal}"`)
    await page.waitForFunction(() => { const s = (globalThis as any).document.querySelector('#service-email [data-act=mode]'); return s.checked && !s.disabled })
    t.equal(await emailCard.locator('[data-slot=mode]').innerText(), 'MOCK')
    t.equal((await call('GET', '/api/admin/settings/mock-mode', undefined, admin)).body.services.email.mode, 'mock', 'the API agrees: still mock')
    t.match(await emailCard.locator('[data-slot=missing]').innerText(), /SENDGRID_API_KEY/)

    // Success rate 50 % (the page speaks percent; the API takes 0..1).
    await page.locator('#email-success').fill('50')
    await emailCard.getByRole('button', { name: 'Apply' }).click()
    await waitForText(page, '#service-email [data-slot=sim-message]', /Applied/)
    t.equal((await call('GET', '/api/admin/settings/mock-mode', undefined, admin)).body.services.email.simulation.success_rate, 0.5, 'the API has 0.5')
    // A bad value is stopped in the page with a message, and nothing is sent.
    await page.locator('#email-latency-min').fill('500')
    await page.locator('#email-latency-max').fill('100')
    await emailCard.getByRole('button', { name: 'Apply' }).click()
    t.match(await waitForText(page, '#service-email [data-slot=sim-message]', /Fix/), /highlighted/)
    t.equal(await page.locator('#email-latency-max').evaluate(el => (el as unknown as { validationMessage: string }).validationMessage), 'The maximum latency must be at least the minimum.')
    await emailCard.getByRole('button', { name: 'Revert' }).click()
    t.equal(await page.locator('#email-latency-max').inputValue(), '120', 'revert shows the stored values again')

    // WhatsApp: a customer's message, typed in the page, arrives through the emulator's webhook.
    if (names.includes('whatsapp')) {
      const waCard = page.locator('#service-whatsapp')
      await page.locator('#whatsapp-inbound-from').fill('98765 43210')
      await page.locator('#whatsapp-inbound-text').fill('Typed in the admin page')
      await waCard.getByRole('button', { name: 'Send as the customer' }).click()
      await waitForText(page, '#service-whatsapp [data-slot=inbound-message]', /Delivered/)
      const inbound = await eventually(async () => (await call('GET', '/api/automation/whatsapp/inbound?contact=%2B919876543210', undefined, admin)).body.items?.find((m: { content: string }) => m.content === 'Typed in the admin page'))
      t.match(inbound, { direction: 'inbound', contact: '+919876543210' }, 'the page\'s message is stored as inbound')
    }

    // A data set moves the clock once an hour of its history: 25 moves after the change above.
    const hourAgo = Date.now() - 3_600_000
    for (let i = 0; i < 24; i++) t.equal((await call('POST', '/api/admin/clock/set', { to: new Date(hourAgo + i * 60_000).toISOString() }, admin)).status, 200)
    t.equal((await call('POST', '/api/admin/clock/real', undefined, admin)).status, 200)
    t.match(await waitForText(page, '#changes', /25 changes since/), /clock/i, 'the clock\'s moves are one row')
    t.match(await waitForText(page, '#changes', /success_?[rR]ate/), /0\.5/, 'the change is in the history, not pushed out by them')
    t.match(await text(page, '#changes'), /admin@/, 'with who made it')
    const a11y = await lookAt(page, 'development')

    // Activity: filter on email, send through the API, the row arrives without a reload.
    await page.getByRole('tab', { name: 'Activity' }).click()
    t.equal(new URL(page.url()).hash, '#activity')
    await page.evaluate(() => { (globalThis as any).marker = 1 })
    await page.getByLabel('Service', { exact: true }).selectOption('email')
    const sent = await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Hello from the admin page test', content: '<p>Hi</p>' }, { ...api, 'x-request-id': 'admin-page-e2e-1' })
    t.equal(sent.status, 202)
    const row = page.locator(`#journal tr[data-key="email/${sent.body.id}"]`)
    await row.waitFor()
    t.match(await row.innerText(), /deliver@example\.com/)
    t.match(await row.innerText(), /Hello from the admin page test/)
    t.equal(await page.evaluate(() => (globalThis as any).marker), 1, 'no reload')
    t.equal(await page.getByLabel('Service', { exact: true }).inputValue(), 'email', 'the filter is kept')

    // Its detail: every column, and it stays open while the journal keeps updating.
    await row.click()
    t.match(await waitForText(page, '#detail-body', /admin-page-e2e-1/), new RegExp(sent.body.id))
    t.match(await text(page, '#detail-title'), /^Email · /)
    // More traffic (some fail at 50 %) for the journal and the charts.
    for (let i = 0; i < 8; i++) await call('POST', '/api/automation/trigger/email', { to_email: `person${i}@example.com`, subject: `Batch ${i}`, content: '<p>Hi</p>' }, api)
    await call('POST', '/api/automation/trigger/email', { to_email: 'reject@example.com', subject: 'Refused', content: '<p>Hi</p>' }, api)
    await page.locator('#journal tr', { hasText: 'reject@example.com' }).waitFor()
    t.ok(await page.locator(`#journal tr[data-key="email/${sent.body.id}"]`).evaluate(el => el.classList.contains('selected')), 'the open row is still marked')
    t.ok(await page.locator('#detail').isVisible(), 'the detail is still open')
    t.equal(await page.getByLabel('Service', { exact: true }).inputValue(), 'email')
    t.ok(await page.locator('#journal tr').count() >= 10)
    a11y.push(...await lookAt(page, 'activity-detail'))

    // On a phone, the details open where the person is looking (a full-screen dialog), not below
    // the whole journal; closing returns to the row.
    await resize(page, { width: 390, height: 844 })
    await page.locator('#detail-close').click()
    await page.locator('#journal tr', { hasText: 'reject@example.com' }).scrollIntoViewIfNeeded()
    await page.locator('#journal tr', { hasText: 'reject@example.com' }).click()
    await waitForText(page, '#detail-body', /reject@example\.com/)
    const box = await page.locator('#detail').boundingBox()
    t.ok(box && box.y >= 0 && box.y < 100 && box.height > 400, `the details fill the phone's screen (${JSON.stringify(box)})`)
    t.ok(await page.locator('#detail-title').evaluate(el => (globalThis as any).document.activeElement === el), 'focus moves to the details')
    await page.screenshot({ path: join(shots, 'activity-detail-phone-open.png') })
    a11y.push(...(await axeViolations(page)).map(v => `activity detail on a phone: ${v}`))
    await page.keyboard.press('Escape')
    await page.locator('#detail').waitFor({ state: 'hidden' })
    t.ok(await page.locator('#journal tr', { hasText: 'reject@example.com' }).locator('button').evaluate(el => (globalThis as any).document.activeElement === el), 'Escape closes and returns to the row')
    await resize(page, { width: 1360, height: 900 })
    await page.locator('#journal tr', { hasText: 'reject@example.com' }).click()
    await waitForText(page, '#detail-body', /reject@example\.com/)
    a11y.push(...await lookAt(page, 'activity'))

    // The request id filter narrows to the one call.
    await page.locator('#f-request').fill('admin-page-e2e-1')
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#journal tr').length === 1)
    t.equal(await page.locator('#journal tr').getAttribute('data-key'), `email/${sent.body.id}`)
    await page.locator('#f-request').fill('no-such-request')
    t.match(await waitForText(page, '#journal-empty', /No rows match/), /filters/)
    await page.getByRole('button', { name: 'Clear filters' }).click()
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#journal tr').length >= 10)

    // Stats: an SVG chart per service, bars for volume and a line for latency, with the totals.
    await page.getByRole('tab', { name: 'Stats' }).click()
    await page.locator('#stats-email svg[data-chart=volume] rect.ok').first().waitFor()
    t.ok(await page.locator('#stats-email svg[data-chart=volume] rect').count() >= 1, 'volume bars')
    t.ok(await page.locator('#stats-email svg[data-chart=latency] circle.point').count() >= 1, 'latency points')
    t.match(await page.locator('#stats-email svg[data-chart=volume]').getAttribute('aria-labelledby'), /chart-email-volume-t/)
    const totals = await text(page, '#stats-email .totals')
    const stats = (await call('GET', '/api/admin/stats?minutes=60', undefined, admin)).body.services.email
    t.match(totals, new RegExp(`CALLS\\s+${stats.total}`, 'i'), `totals: ${totals.replace(/\s+/g, ' ')}`)
    t.ok(stats.failed >= 1, 'the rejected call counts as failed')
    t.ok(await page.locator('#stats-email svg[data-chart=volume] rect.failed').count() >= 1, 'failures are stacked in the bars')
    a11y.push(...await lookAt(page, 'stats'))

    t.same(problems, [], 'no page errors and no CSP violations')
    t.same(a11y, [], 'axe-core finds no serious or critical violation on any tab, at 1440 and 390 px')
    t.comment(`screenshots in ${shots}; the page test took ${Date.now() - started} ms`)
  })

  await t.test('a 401 mid-session returns to the sign-in form; reset asks first', async t => {
    const { page, problems } = await openPage(t)
    await signIn(page)
    // A phone-sized look at the busiest tab, for the person reading the screenshots.
    await resize(page, { width: 390, height: 844 })
    await page.locator('#service-email [data-slot=mode]').waitFor()
    await page.screenshot({ path: join(shots, 'development-narrow.png'), fullPage: true })
    t.ok(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth <= 390), 'nothing overflows sideways')
    await resize(page, { width: 1360, height: 900 })
    await page.getByRole('tab', { name: 'Activity' }).click()
    t.equal((await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Before the reset', content: '<p>Hi</p>' }, api)).status, 202)
    await page.locator('#journal tr', { hasText: 'Before the reset' }).waitFor()

    // Reset: cancelling deletes nothing; confirming clears the journal.
    await page.getByRole('button', { name: 'Reset…' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click()
    t.ok((await call('GET', '/api/admin/journal', undefined, admin)).body.items.length > 0, 'cancel keeps the rows')
    await page.getByRole('button', { name: 'Reset…' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Delete and reset' }).click()
    t.match(await waitForText(page, '#activity-message', /Reset done/), /email/)
    t.same((await call('GET', '/api/admin/journal', undefined, admin)).body.items, [], 'the API agrees: empty')
    await page.locator('#journal-empty').waitFor({ state: 'visible' })

    // Reset with "also restore the simulation settings": a tuned setting goes back to its default.
    t.equal((await call('PATCH', '/api/admin/settings/services/email', { simulation: { scenario: 'slow', seed: 9 } }, admin)).status, 200)
    await page.getByRole('button', { name: 'Reset…' }).click()
    await page.getByLabel(/Also restore the simulation settings/).check()
    await page.getByRole('dialog').getByRole('button', { name: 'Delete and reset' }).click()
    t.match(await waitForText(page, '#activity-message', /restored to their defaults/), /Reset done/)
    t.match((await call('GET', '/api/admin/settings/mock-mode', undefined, admin)).body.services.email.simulation, { scenario: 'none', seed: null }, 'the settings are the defaults again')

    // The token stops working (say it was rotated): the next poll takes the person back to sign in.
    await page.route('**/api/admin/**', route => route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ statusCode: 401, code: 'GATEWAY_UNAUTHORIZED', error: 'Unauthorized', message: 'Unauthorized', requestId: 'r' }) }))
    await page.locator('#signin').waitFor({ state: 'visible' })
    t.match(await text(page, '#signin-message'), /signed out.*401/i)
    t.equal(await page.evaluate(() => sessionStorage.getItem('switchboard.adminToken')), null, 'the token is forgotten')
    t.ok(await page.locator('#app').isHidden())
    t.same(problems, [])
  })
})
