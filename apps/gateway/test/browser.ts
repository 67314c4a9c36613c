/**
 * Shared by the admin page's Chromium tests: the browser, a page that records its errors, an
 * accessibility check with axe-core, and the screenshots folder a reviewer opens after the run.
 *
 * Chromium: CHROMIUM_PATH, else /usr/bin/chromium. Screenshots: ADMIN_SCREENSHOTS, else
 * apps/gateway/test/screenshots/ (gitignored), printed by each test that writes there.
 */
import type { Test } from 'tap'
import { mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const WAIT_MS = 20_000

export const SHOTS = process.env.ADMIN_SCREENSHOTS ?? fileURLToPath(new URL('./screenshots/', import.meta.url))
mkdirSync(SHOTS, { recursive: true })

/** The two widths every view is looked at: a laptop and a phone. */
export const WIDTHS = [{ name: 'wide', width: 1440, height: 900 }, { name: 'phone', width: 390, height: 844 }] as const

export async function launch (t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
  return browser
}

export async function openPage (t: Test, browser: Browser, viewport = { width: 1360, height: 900 }): Promise<{ page: Page, context: BrowserContext, problems: string[] }> {
  const context = await browser.newContext({ viewport, colorScheme: 'light' })
  context.setDefaultTimeout(WAIT_MS)
  t.teardown(() => context.close())
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', err => problems.push(`page error: ${err.message}`))
  page.on('console', msg => {
    // The browser logs every non-2xx fetch; the 401s and 422s here are on purpose.
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) problems.push(`console: ${msg.text()}`)
  })
  return { page, context, problems }
}

const AXE_SOURCE = readFileSync(join(createRequire(import.meta.url).resolve('axe-core'), '..', 'axe.min.js'), 'utf8')
const AXE_PATH = '/admin/__axe-core.js'

/**
 * The serious and critical axe-core violations on the page as it is now, as lines a person can act
 * on ("color-contrast: td > .status.bad — Element has insufficient color contrast of 4.33 …").
 * axe.min.js is served to the page from its own origin by Playwright (the page's CSP allows only
 * same-origin scripts, and the test keeps that CSP on), then run on the whole document.
 */
export async function axeViolations (page: Page): Promise<string[]> {
  if (!await page.evaluate(() => typeof (globalThis as any).axe === 'object')) {
    await page.route(`**${AXE_PATH}`, route => route.fulfill({ status: 200, contentType: 'text/javascript', body: AXE_SOURCE }))
    await page.addScriptTag({ url: AXE_PATH })
  }
  const found = await page.evaluate(async () => {
    const result = await (globalThis as any).axe.run((globalThis as any).document, { resultTypes: ['violations'] })
    return result.violations.map((v: any) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n: any) => `${n.target.join(' ')} — ${String(n.failureSummary).replace(/\s+/g, ' ').slice(0, 200)}`) }))
  }) as Array<{ id: string, impact: string, nodes: string[] }>
  return found.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .flatMap(v => v.nodes.slice(0, 5).map(n => `${v.id} (${v.impact}, ${v.nodes.length} node${v.nodes.length === 1 ? '' : 's'}): ${n}`))
}

/** Screenshots one view at each width, checks it with axe at each, and returns the problems. */
/**
 * Sets the viewport and waits until the page has reacted to it: its media query listeners (a
 * details panel that turns into a modal dialog on a phone, and back) run in the next rendering
 * step, not within setViewportSize. Until then a modal dialog can still hold the rest of the page
 * inert, and a fill() there types into nothing.
 */
export async function resize (page: Page, size: { width: number, height: number }): Promise<void> {
  await page.setViewportSize(size)
  await page.evaluate(() => new Promise(resolve => { const frame = (globalThis as any).requestAnimationFrame; frame(() => frame(resolve)) }))
}

export async function lookAt (page: Page, name: string, prepare?: (width: number) => Promise<void>): Promise<string[]> {
  const problems: string[] = []
  const before = page.viewportSize()
  for (const w of WIDTHS) {
    await resize(page, { width: w.width, height: w.height })
    if (prepare) await prepare(w.width)
    await page.screenshot({ path: join(SHOTS, `${name}-${w.width}.png`), fullPage: true })
    for (const v of await axeViolations(page)) problems.push(`${name} at ${w.width} px: ${v}`)
    if (await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth) > w.width) problems.push(`${name} at ${w.width} px overflows sideways`)
  }
  if (before) await resize(page, before)
  return problems
}

/** Waits until the element's text matches, then answers its visible text (WAIT_MS at most). */
// Code run in the page is written as functions (Playwright sends their source; the page's CSP
// forbids evaluating strings), self-contained, with a loosely typed document: this package is
// typed for Node, not the DOM.
export async function waitForText (page: Page, selector: string, pattern: RegExp): Promise<string> {
  await page.waitForFunction(([sel, source, flags]) => new RegExp(source!, flags).test((globalThis as any).document.querySelector(sel!)?.textContent ?? ''), [selector, pattern.source, pattern.flags], { timeout: WAIT_MS })
  return page.locator(selector).innerText()
}
