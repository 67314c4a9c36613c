/**
 * The admin page's "Events to your app" section in a real headless Chromium: add an endpoint, see
 * its secret once, see it listed (without the secret after a refresh), disable and delete it.
 * Chromium: CHROMIUM_PATH, else /usr/bin/chromium.
 */
import t from 'tap'
import { chromium } from 'playwright-core'
import { ADMIN_TOKEN, startStack } from './helper.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const WAIT_MS = 20_000
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

t.test('events section: add, see the secret once, disable, delete', async t => {
  const s = await startStack(t)
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] })
  t.teardown(() => browser.close())
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } })
  context.setDefaultTimeout(WAIT_MS)
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', err => problems.push(`page error: ${err.message}`))
  page.on('console', msg => { if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) problems.push(`console: ${msg.text()}`) })

  await page.goto(`${s.gatewayUrl}/admin`)
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { name: 'Events to your app' }).waitFor()
  await page.locator('#event-endpoints', { hasText: 'No endpoint yet' }).waitFor()

  await page.getByLabel('Endpoint URL').fill('http://127.0.0.1:9/page-hook')
  await page.getByLabel(/Event types/).fill('payment.paid, email.bounced')
  await page.getByRole('button', { name: 'Add endpoint' }).click()
  await page.locator('#event-message', { hasText: 'shown this once' }).waitFor()
  const shown = /whsec_[A-Za-z0-9+/=]+/.exec(await page.locator('#event-message').innerText())?.[0]
  t.ok(shown, 'the secret is shown after creation')
  await page.locator('#event-endpoints', { hasText: 'http://127.0.0.1:9/page-hook' }).waitFor()
  t.match(await page.locator('#event-endpoints').innerText(), /payment\.paid, email\.bounced\s+enabled/)

  const [endpoint] = (await s.call('GET', '/api/admin/endpoints', undefined, admin)).body.items
  t.match(endpoint, { url: 'http://127.0.0.1:9/page-hook', types: ['payment.paid', 'email.bounced'] })

  await page.getByRole('button', { name: 'Disable' }).click()
  // The row is drawn again from the server's answer: its button now offers to enable it. (Waiting
  // for the text "disabled" raced: the buttons' text runs together as "DisableDelete", which
  // contains it, case aside, so the wait could end before the PATCH did.)
  await page.locator('#event-endpoints').getByRole('button', { name: 'Enable' }).waitFor()
  t.match(await page.locator('#event-endpoints').innerText(), /email\.bounced\s+disabled/)
  t.equal((await s.call('GET', `/api/admin/endpoints/${endpoint.id}`, undefined, admin)).body.enabled, false)

  await page.reload()
  await page.locator('#event-endpoints', { hasText: 'http://127.0.0.1:9/page-hook' }).waitFor()
  t.notOk((await page.content()).includes(shown!), 'after a reload the secret is nowhere on the page')

  page.once('dialog', dialog => { void dialog.accept() })
  await page.getByRole('button', { name: 'Delete' }).click()
  await page.locator('#event-endpoints', { hasText: 'No endpoint yet' }).waitFor()
  t.same((await s.call('GET', '/api/admin/endpoints', undefined, admin)).body.items, [])
  t.same(problems, [], 'no page errors')
})
