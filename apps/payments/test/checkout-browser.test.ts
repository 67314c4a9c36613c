import t from 'tap'
import { chromium, type Browser } from 'playwright-core'
import { eventually, startPaymentsApp, startReceiver } from './helper.ts'

// The demo path in a real browser: Debian's Chromium driven by playwright-core (no downloaded build).
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

let browser: Browser
t.before(async () => { browser = await chromium.launch({ executablePath, args, timeout: 60_000 }) })
t.teardown(async () => { await browser?.close() })

t.test('a buyer opens the link, pays, lands on redirect_url with Instamojo\'s query, and the row is paid', async t => {
  const shop = await startReceiver(t)
  const app = await startPaymentsApp(t)
  const created = await app.call('POST', '/payment-links', { amount: '499.00', purpose: 'Masala chai', buyer_name: 'Asha', email: 'asha@example.com', phone: '9876543210', redirect_url: `${shop.url}/thanks` })
  t.equal(created.status, 201)
  const link = created.body

  const page = await browser.newPage()
  t.teardown(() => page.close())
  await page.goto(link.longurl)
  t.equal(await page.textContent('#amount'), '₹499.00')
  t.equal(await page.inputValue('#buyer_name'), 'Asha', 'buyer details are prefilled')
  await page.selectOption('#instrument', 'CARD')
  await Promise.all([page.waitForURL(/\/hook\/thanks\?/), page.click('#pay')])

  const landed = new URL(page.url())
  t.equal(landed.searchParams.get('payment_status'), 'Credit')
  t.equal(landed.searchParams.get('payment_request_id'), link.payment_request_id)
  const paymentId = landed.searchParams.get('payment_id')
  t.match(paymentId, /^MOJO/)

  // The emulator's signed webhook reaches the service, which marks the row paid.
  const row = await eventually(async () => (await app.activityLog.select('payments', { where: { id: link.id, status: 'paid' } }))[0], 15_000)
  t.match(row, { payment_id: paymentId, amount: '499.00', fees: '9.48', mode: 'mock' })
  const again = await browser.newPage()
  t.teardown(() => again.close())
  await again.goto(link.longurl)
  t.match(await again.textContent('#closed'), /already been paid/, 'a paid link does not take a second payment')
})

t.test('a second buyer fails the payment: the receipt says so and the row is failed', async t => {
  const app = await startPaymentsApp(t)
  const link = (await app.call('POST', '/payment-links', { amount: '1200.00', purpose: 'Workshop seat', email: 'ravi@example.com' })).body

  const page = await browser.newPage()
  t.teardown(() => page.close())
  await page.goto(link.longurl)
  await page.fill('#buyer_name', 'Ravi')
  await Promise.all([page.waitForSelector('#result'), page.click('#fail')])
  t.equal(await page.getAttribute('#result', 'data-status'), 'Failed')
  t.equal(await page.textContent('#result'), 'Payment failed')

  const row = await eventually(async () => (await app.activityLog.select('payments', { where: { id: link.id, status: 'failed' } }))[0], 15_000)
  t.match(row, { error_code: 'payment_failed', payment_id: /^MOJO/, paid_at: null })
})
