/**
 * `./switchboard smoke [--base-url URL] [--api-token T] [--admin-token T]`: the counterpart of the
 * spec's test_mock_services.py. Against a running stack (the local one by default), exercises every
 * service through the gateway — single and bulk sends, campaigns, a payment link paid and its
 * webhook, a call to completion, a meeting to its recordings, stats — and prints a pass/fail report
 * with latencies and success rates per service. Exits non-zero when any check fails.
 *
 * Magic values make the outcomes deterministic where a check needs one (see the README).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { request } from 'undici'

type Json = any

export interface SmokeOptions {
  baseUrl: string
  apiToken: string
  adminToken: string
  /** How long to follow an asynchronous outcome (delivery, payment, call, recordings). */
  followMs?: number
  log?: (line: string) => void
}

interface Call { status: number, body: Json, ms: number }
interface CheckResult { service: string, name: string, ok: boolean, detail: string }
interface ServiceReport { calls: number, ms: number[], checks: CheckResult[], rates: string[] }

export interface SmokeReport {
  ok: boolean
  services: Record<string, ServiceReport>
}

const SERVICES = ['email', 'whatsapp', 'payments', 'voice', 'zoom', 'admin'] as const
type Service = typeof SERVICES[number]

class CheckFailed extends Error {}

export async function runSmoke (opts: SmokeOptions): Promise<SmokeReport> {
  const log = opts.log ?? ((line: string) => process.stdout.write(line + '\n'))
  const followMs = opts.followMs ?? 60_000
  const reports = Object.fromEntries(SERVICES.map(s => [s, { calls: 0, ms: [], checks: [], rates: [] } as ServiceReport])) as Record<Service, ServiceReport>

  async function call (service: Service, method: string, path: string, body?: unknown, admin = false): Promise<Call> {
    const t0 = performance.now()
    const res = await request(opts.baseUrl + path, {
      method: method as 'GET',
      headers: { authorization: `Bearer ${admin ? opts.adminToken : opts.apiToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: 60_000,
      bodyTimeout: 60_000
    })
    const text = await res.body.text()
    const ms = performance.now() - t0
    reports[service].calls++
    reports[service].ms.push(ms)
    let parsed: Json = text
    try { parsed = text ? JSON.parse(text) : undefined } catch { /* not JSON */ }
    return { status: res.statusCode, body: parsed, ms }
  }

  function expect (cond: unknown, message: string): asserts cond {
    if (!cond) throw new CheckFailed(message)
  }
  function expectStatus (res: Call, status: number, what: string): void {
    expect(res.status === status, `${what}: expected HTTP ${status}, got ${res.status} ${typeof res.body === 'object' ? (res.body?.message ?? JSON.stringify(res.body)).slice(0, 200) : ''}`)
  }
  async function follow<T> (what: string, probe: () => Promise<T | undefined>): Promise<T> {
    const until = Date.now() + followMs
    for (;;) {
      const v = await probe()
      if (v !== undefined) return v
      if (Date.now() > until) throw new CheckFailed(`${what}: not reached within ${followMs / 1000} s`)
      await new Promise(resolve => setTimeout(resolve, 250))
    }
  }
  async function check (service: Service, name: string, fn: () => Promise<string | void>): Promise<void> {
    try {
      const detail = await fn()
      reports[service].checks.push({ service, name, ok: true, detail: detail ?? '' })
      log(`  ✓ ${service.padEnd(8)} ${name}${detail ? ` — ${detail}` : ''}`)
    } catch (err) {
      const detail = err instanceof CheckFailed ? err.message : `${(err as Error).name}: ${(err as Error).message}`
      reports[service].checks.push({ service, name, ok: false, detail })
      log(`  ✗ ${service.padEnd(8)} ${name} — ${detail}`)
    }
  }
  const rate = (service: Service, what: string, ok: number, total: number) => reports[service].rates.push(`${what} ${ok}/${total} (${total ? Math.round(ok / total * 100) : 0}%)`)

  log(`Switchboard smoke test against ${opts.baseUrl}\n`)
  const ready = await request(opts.baseUrl + '/ready').then(async r => ({ status: r.statusCode, body: await r.body.json() as Json })).catch((err: Error) => ({ status: 0, body: { error: err.message } }))
  if (ready.status !== 200) log(`  ! the gateway is not ready: ${JSON.stringify(ready.body?.checks ?? ready.body)}`)
  const doc = await request(opts.baseUrl + '/docs/json').then(r => r.body.json() as Promise<Json>).catch(() => ({ paths: {} }))
  const has = (path: string) => path in (doc.paths ?? {})
  const present = (service: Service, path: string) => has(path) || (reports[service].checks.push({ service, name: 'routes present', ok: false, detail: `the gateway has no ${path}` }), log(`  ✗ ${service.padEnd(8)} routes present — the gateway has no ${path}`), false)

  // --- Email (SendGrid) ------------------------------------------------------------------------
  if (present('email', '/api/automation/trigger/email')) {
    let id = ''
    await check('email', 'send_email', async () => {
      const res = await call('email', 'POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Smoke test', content: '<p>Hello from the smoke test</p>' })
      expectStatus(res, 202, 'send')
      id = res.body.id
      return `${res.body.mode} mode, ${res.body.provider_message_id}`
    })
    await check('email', 'delivered through the signed Event Webhook', async () => {
      expect(id, 'no email was sent')
      const row = await follow('delivered', async () => { const r = await call('email', 'GET', `/api/automation/email/${id}`); return r.body?.status === 'delivered' ? r.body : undefined })
      return `status ${row.status}`
    })
    await check('email', 'send_bulk_emails (200 recipients)', async () => {
      const list = Array.from({ length: 200 }, (_v, i) => ({ to_email: `smoke${i}@example.com`, subject: 'Smoke bulk', content: '<p>Same body</p>' }))
      const res = await call('email', 'POST', '/api/automation/trigger/email/batch', { email_list: list })
      expectStatus(res, 200, 'bulk')
      expect(res.body.accepted + res.body.failed === 200, `accepted ${res.body.accepted} + failed ${res.body.failed} is not 200`)
      rate('email', 'bulk accepted', res.body.accepted, 200)
      return `${res.body.accepted} accepted in ${res.body.requests} SendGrid request(s), ${res.body.duration_ms} ms`
    })
    await check('email', 'validate_email_template', async () => {
      const res = await call('email', 'POST', '/api/automation/email/templates/validate', { template_data: { subject: 'Hi {{name}}', html: '<p>{{name}}</p>' } })
      expectStatus(res, 200, 'validate')
      expect(res.body.placeholders.includes('name'), 'placeholder not found')
    })
    await check('email', 'get_email_stats', async () => {
      const res = await call('email', 'GET', '/api/automation/email/stats')
      expectStatus(res, 200, 'stats')
      expect(res.body.total >= 201, `total ${res.body.total} < 201`)
      return `${res.body.total} emails, success rate ${res.body.success_rate}`
    })
  }

  // --- WhatsApp (AiSensy) ----------------------------------------------------------------------
  if (present('whatsapp', '/api/automation/trigger/whatsapp')) {
    let template = { name: 'welcome_message', params: 1 }
    await check('whatsapp', 'get_templates', async () => {
      const res = await call('whatsapp', 'GET', '/api/automation/whatsapp/templates')
      expectStatus(res, 200, 'templates')
      const t = res.body.templates.find((x: Json) => x.name === 'welcome_message') ?? res.body.templates[0]
      expect(t, 'no templates')
      template = { name: t.name, params: t.params }
      return `${res.body.templates.length} templates`
    })
    const params = () => Array.from({ length: template.params }, (_v, i) => `value ${i + 1}`)
    await check('whatsapp', 'send_message', async () => {
      const res = await call('whatsapp', 'POST', '/api/automation/trigger/whatsapp', { to_number: '+919000000004', template_name: template.name, params: params() })
      expect(res.status === 200 || res.status === 202, `send: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`)
      return `${res.body.mode} mode, ${res.body.status}`
    })
    await check('whatsapp', 'send_bulk_messages (50 contacts)', async () => {
      const contacts = Array.from({ length: 50 }, (_v, i) => ({ to_number: `98${String(10000000 + i).padStart(8, '0')}`, params: params() }))
      const res = await call('whatsapp', 'POST', '/api/automation/trigger/whatsapp/bulk', { contacts, template_name: template.name })
      expect(res.status === 200 || res.status === 202, `bulk: HTTP ${res.status}`)
      expect(res.body.accepted + res.body.failed === 50, 'accepted + failed is not 50')
      rate('whatsapp', 'bulk accepted', res.body.accepted, 50)
      return `${res.body.accepted} accepted`
    })
    await check('whatsapp', 'create_campaign (300 contacts) runs to completion', async () => {
      const contacts = Array.from({ length: 300 }, (_v, i) => ({ to_number: `97${String(10000000 + i).padStart(8, '0')}`, params: params() }))
      const res = await call('whatsapp', 'POST', '/api/automation/whatsapp/campaigns', { name: 'Smoke campaign', contacts, template_name: template.name })
      expect(res.status === 200 || res.status === 201 || res.status === 202, `campaign: HTTP ${res.status}`)
      // At the default success rate some contacts fail: the campaign then ends completed_with_errors.
      const done = await follow('campaign completed', async () => { const r = await call('whatsapp', 'GET', `/api/automation/whatsapp/campaigns/${res.body.id}`); return ['completed', 'completed_with_errors'].includes(r.body?.status) ? r.body : undefined })
      rate('whatsapp', 'campaign sent', done.sent, done.total)
      return `${done.sent} sent, ${done.failed} failed of ${done.total}`
    })
    await check('whatsapp', 'get_whatsapp_stats', async () => {
      const res = await call('whatsapp', 'GET', '/api/automation/whatsapp/stats')
      expectStatus(res, 200, 'stats')
      return `${res.body.total} messages`
    })
  }

  // --- Payments (Instamojo) --------------------------------------------------------------------
  // An amount ending in .11 is always created and paid (a magic value), so the run is deterministic.
  if (present('payments', '/api/admin/payment-links')) {
    let link: Json
    await check('payments', 'create_payment_link', async () => {
      const res = await call('payments', 'POST', '/api/admin/payment-links', { amount: '499.11', purpose: 'Smoke test', buyer_name: 'Asha Rao', email: 'asha@example.com', phone: '9876543210' }, true)
      expect(res.status === 201 || res.status === 200, `create: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`)
      link = res.body
      return `${link.payment_request_id}, ${link.longurl}`
    })
    await check('payments', 'payment completed and its signed webhook processed', async () => {
      expect(link, 'no link was created')
      const sim = await call('payments', 'POST', `/api/admin/payment-links/${link.id}/simulate`, { outcome: 'success' }, true)
      expectStatus(sim, 200, 'simulate')
      const paid = await follow('paid', async () => { const r = await call('payments', 'GET', `/api/admin/payment-links/${link.id}`, undefined, true); return r.body?.status === 'paid' ? r.body : undefined })
      return `status ${paid.status}, payment ${paid.payment_id}`
    })
    await check('payments', 'list and stats', async () => {
      const list = await call('payments', 'GET', '/api/admin/payment-links?status=paid', undefined, true)
      expectStatus(list, 200, 'list')
      const stats = await call('payments', 'GET', '/api/admin/payment-stats', undefined, true)
      expectStatus(stats, 200, 'stats')
      expect(stats.body.paid >= 1, 'no paid link in the stats')
      rate('payments', 'links paid', stats.body.paid, stats.body.created)
      return `${stats.body.paid} paid, INR ${stats.body.paid_amount}`
    })
  }

  // --- Voice (Bolna.ai) ------------------------------------------------------------------------
  if (present('voice', '/api/automation/trigger/call')) {
    let script = ''
    await check('voice', 'get_available_scripts', async () => {
      const res = await call('voice', 'GET', '/api/automation/call/scripts')
      expectStatus(res, 200, 'scripts')
      script = res.body.scripts[0]?.script_id
      expect(script, 'no scripts')
      return `${res.body.scripts.length} scripts`
    })
    await check('voice', 'make_call followed to completed', async () => {
      const res = await call('voice', 'POST', '/api/automation/trigger/call', { to_number: '+919855550100', script_id: script })
      expect(res.status === 200 || res.status === 202, `call: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`)
      const done = await follow('completed', async () => { const r = await call('voice', 'GET', `/api/automation/call/status/${res.body.id}`); return r.body?.status === 'completed' ? r.body : undefined })
      return `completed, ${done.duration_seconds ?? '?'} s`
    })
    await check('voice', 'make_bulk_calls and a campaign', async () => {
      const contacts = Array.from({ length: 10 }, (_v, i) => `+91985${String(1000000 + i)}`)
      const bulk = await call('voice', 'POST', '/api/automation/trigger/call/bulk', { contacts, script_id: script })
      expect(bulk.status === 200 || bulk.status === 202, `bulk: HTTP ${bulk.status}`)
      rate('voice', 'bulk initiated', bulk.body.initiated, bulk.body.total)
      const camp = await call('voice', 'POST', '/api/automation/call/campaigns', { name: 'Smoke calls', contacts, script_id: script })
      expect(camp.status === 200 || camp.status === 201 || camp.status === 202, `campaign: HTTP ${camp.status}`)
      const r = await call('voice', 'GET', `/api/automation/call/campaigns/${camp.body.id}`)
      expectStatus(r, 200, 'campaign progress')
      return `${bulk.body.initiated}/${bulk.body.total} initiated; campaign ${r.body.status}`
    })
    await check('voice', 'get_call_logs and get_call_stats', async () => {
      const logs = await call('voice', 'GET', '/api/automation/call/logs?limit=5')
      expectStatus(logs, 200, 'logs')
      const stats = await call('voice', 'GET', '/api/automation/call/stats')
      expectStatus(stats, 200, 'stats')
      return `${stats.body.total} calls`
    })
  }

  // --- Zoom ------------------------------------------------------------------------------------
  if (present('zoom', '/api/zoom/meetings')) {
    let meeting: Json
    await check('zoom', 'create, get, update, list', async () => {
      const res = await call('zoom', 'POST', '/api/zoom/meetings', { topic: 'Smoke meeting', duration: 30 })
      expect(res.status === 201 || res.status === 200, `create: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`)
      meeting = res.body
      expectStatus(await call('zoom', 'GET', `/api/zoom/meetings/${meeting.id}`), 200, 'get')
      const upd = await call('zoom', 'PATCH', `/api/zoom/meetings/${meeting.id}`, { topic: 'Smoke meeting (renamed)' })
      expect(upd.status === 200 || upd.status === 204, `update: HTTP ${upd.status}`)
      expectStatus(await call('zoom', 'GET', '/api/zoom/meetings'), 200, 'list')
      return `meeting ${meeting.id}`
    })
    await check('zoom', 'simulate_meeting_end → three recordings', async () => {
      expect(meeting, 'no meeting was created')
      const end = await call('zoom', 'POST', `/api/zoom/meetings/${meeting.id}/end`)
      expectStatus(end, 200, 'end')
      const recs = await follow('recordings', async () => { const r = await call('zoom', 'GET', `/api/zoom/meetings/${meeting.id}/recordings`); return r.status === 200 && r.body.recording_files?.length >= 3 ? r.body : undefined })
      return recs.recording_files.map((f: Json) => f.file_type).join(', ')
    })
    await check('zoom', 'delete_meeting', async () => {
      const del = await call('zoom', 'DELETE', `/api/zoom/meetings/${meeting.id}`)
      expect(del.status === 200 || del.status === 204, `delete: HTTP ${del.status}`)
    })
  }

  // --- Admin -----------------------------------------------------------------------------------
  if (present('admin', '/api/admin/settings/mock-mode')) {
    await check('admin', 'settings, journal and stats', async () => {
      const settings = await call('admin', 'GET', '/api/admin/settings/mock-mode', undefined, true)
      expectStatus(settings, 200, 'settings')
      const modes = Object.entries(settings.body.services).map(([name, s]: [string, Json]) => `${name} ${s.mode}`)
      const journal = await call('admin', 'GET', '/api/admin/journal?limit=10', undefined, true)
      expectStatus(journal, 200, 'journal')
      expect(journal.body.items.length > 0, 'the journal is empty')
      expectStatus(await call('admin', 'GET', '/api/admin/stats', undefined, true), 200, 'stats')
      return modes.join(', ')
    })
  }

  // --- Report ----------------------------------------------------------------------------------
  const pct = (ms: number[], p: number) => ms.length ? Math.round([...ms].sort((a, b) => a - b)[Math.min(ms.length - 1, Math.floor(ms.length * p))]!) : 0
  log('\n| service | checks | calls | avg ms | p95 ms | success rates |')
  log('|---|---|--:|--:|--:|---|')
  for (const s of SERVICES) {
    const r = reports[s]
    const passed = r.checks.filter(c => c.ok).length
    const avg = r.ms.length ? Math.round(r.ms.reduce((a, b) => a + b, 0) / r.ms.length) : 0
    log(`| ${s} | ${passed}/${r.checks.length} ${passed === r.checks.length && r.checks.length ? 'PASS' : 'FAIL'} | ${r.calls} | ${avg} | ${pct(r.ms, 0.95)} | ${r.rates.join('; ') || '-'} |`)
  }
  const all = Object.values(reports).flatMap(r => r.checks)
  const ok = all.length > 0 && all.every(c => c.ok)
  log(`\nsmoke: ${all.filter(c => c.ok).length} passed, ${all.filter(c => !c.ok).length} failed`)
  return { ok, services: reports }
}

function tokensFromDataDir (dataDir: string): { apiToken?: string, adminToken?: string } {
  try { return JSON.parse(readFileSync(join(dataDir, 'tokens.json'), 'utf8')) } catch { return {} }
}

/** Where the stack of this data folder listens, from the stack.json it writes (any ports, port 0 too). */
function gatewayFromDataDir (dataDir: string): string | undefined {
  try { return (JSON.parse(readFileSync(join(dataDir, 'stack.json'), 'utf8')) as { urls?: { gateway?: string } }).urls?.gateway } catch { return undefined }
}

const USAGE = `Usage: ./switchboard smoke [--base-url URL] [--api-token T] [--admin-token T]

Exercises a running stack end to end through its gateway: every service's main routes, in mock
mode. By default the stack of the data folder (SWITCHBOARD_DATA_DIR, .data): its stack.json says
where it listens and its tokens.json gives the tokens.`

if (import.meta.main) {
  let values: { 'base-url'?: string | undefined, 'api-token'?: string | undefined, 'admin-token'?: string | undefined, help?: boolean | undefined }
  try {
    values = parseArgs({ options: { 'base-url': { type: 'string' }, 'api-token': { type: 'string' }, 'admin-token': { type: 'string' }, help: { type: 'boolean', short: 'h' } } }).values
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`)
    process.exit(2)
  }
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const dataDir = process.env.SWITCHBOARD_DATA_DIR ?? '.data'
  const stored = tokensFromDataDir(dataDir)
  const apiToken = values['api-token'] ?? process.env.API_TOKEN ?? stored.apiToken
  const adminToken = values['admin-token'] ?? process.env.ADMIN_TOKEN ?? stored.adminToken
  if (!apiToken || !adminToken) {
    console.error('No tokens: pass --api-token and --admin-token, set API_TOKEN and ADMIN_TOKEN, or run from the folder whose .data/tokens.json the stack wrote.')
    process.exit(2)
  }
  const report = await runSmoke({ baseUrl: (values['base-url'] ?? process.env.SWITCHBOARD_URL ?? gatewayFromDataDir(dataDir) ?? 'http://127.0.0.1:3000').replace(/\/+$/, ''), apiToken, adminToken })
  process.exit(report.ok ? 0 : 1)
}
