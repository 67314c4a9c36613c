import t from 'tap'
import { Writable } from 'node:stream'
import type { ActivityLog } from '@switchboard/activity-log'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import { internalHeaders, jsonCaller } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { loadWhatsAppEnv } from '../src/config.ts'
import { eventually, startWhatsAppApp, WEBHOOK_TOKEN } from './helper.ts'

// The 5,000-contact campaign alone runs 20–50 s, and more on a loaded CI machine: the file's
// budget is larger than the runner's 120 s default.
t.setTimeout(300_000)

const contact = (i: number) => ({ to_number: `98${String(i).padStart(8, '0')}`, name: `Contact ${i}` })

/** What the rows say, to hold the campaign's counters against. */
async function countsFromRows (log: ActivityLog, campaignId: string) {
  await log.flush()
  const rows = await log.select('whatsapp_logs', { where: { campaign_id: campaignId } })
  return {
    processed: rows.length,
    sent: rows.filter(r => r.provider_message_id !== null).length,
    failed: rows.filter(r => r.status === 'failed').length,
    delivered: rows.filter(r => r.status === 'delivered' || r.status === 'read').length,
    read: rows.filter(r => r.status === 'read').length,
    pending: rows.filter(r => r.status === 'submitted' || r.status === 'sent').length
  }
}

t.test('a campaign answers at once, shows intermediate progress while it runs, then completes with counts matching its rows', async t => {
  const { call, activityLog } = await startWhatsAppApp(t, { simulation: { latencyMs: { min: 100, max: 100 } }, env: { WHATSAPP_CAMPAIGN_CONCURRENCY: '10' } })
  const contacts = Array.from({ length: 300 }, (_v, i) => contact(i))
  contacts[5] = { to_number: '+919000000001', name: 'refused' }
  contacts[6] = { to_number: '+919000000003', name: 'fails after send' }
  contacts[7] = { to_number: '+919000000002', name: 'stays sent' }
  contacts[8] = { to_number: '+919000000004', name: 'always read' }
  contacts[9] = { to_number: '1234567', name: 'not a number' }

  const started = Date.now()
  const created = await call('POST', '/campaigns', { name: 'Diwali welcome', template_name: 'welcome_message', contacts }, { 'x-request-id': 'campaign-req' })
  const answeredIn = Date.now() - started
  t.equal(created.status, 202)
  t.match(created.body, { name: 'Diwali welcome', template_name: 'welcome_message', mode: 'mock', status: 'running', total: 300, processed: 0, progress: 0, sent: 0, failed: 0, error: null, completed_at: null })
  const id = created.body.id

  const seen: Array<{ status: string, processed: number, progress: number }> = []
  const done = await eventually(async () => {
    const p = await call('GET', `/campaigns/${id}`)
    t.equal(p.status, 200)
    seen.push({ status: p.body.status, processed: p.body.processed, progress: p.body.progress })
    return p.body.status === 'completed_with_errors' ? p.body : undefined
  }, 30_000)
  const intermediate = seen.filter(s => s.status === 'running' && s.processed > 0 && s.processed < 300)
  t.ok(intermediate.length >= 2, `progress was visible while running (${intermediate.map(s => s.processed).join(', ')})`)
  t.ok(intermediate.every(s => Math.abs(s.progress - s.processed / 300) < 0.0001), 'progress is processed / total')
  const processedSeen = seen.map(s => s.processed)
  t.same(processedSeen, [...processedSeen].sort((a, b) => a - b), 'progress never goes back')
  // Two contacts were refused (a number AiSensy refuses, a non-number): completed, with errors.
  t.match(done, { status: 'completed_with_errors', total: 300, processed: 300, progress: 1, completed_at: String, contacts: { pending: 0, in_flight: 0, sent: 298, failed: 2, unknown: 0, stopped: 0 } })
  // 300 sends of 100 ms, 10 at a time, take at least 3 s; the create call did not wait for them.
  const ranFor = Date.now() - started
  t.ok(ranFor >= 3000 && answeredIn < ranFor / 2, `answered in ${answeredIn} ms, ran for ${ranFor} ms`)

  // Statuses keep arriving after the last send; once they settle, counters equal the rows.
  const settled = await eventually(async () => {
    const rows = await countsFromRows(activityLog, id)
    const p = (await call('GET', `/campaigns/${id}`)).body
    // One message stays sent forever; everything else reaches delivered, read or failed.
    return rows.pending === 1 && p.sent === rows.sent && p.delivered === rows.delivered && p.read === rows.read && p.failed === rows.failed ? { p, rows } : undefined
  }, 15_000)
  // 298 accepted (not the refused number nor the non-number); failed: those two and the one that
  // failed after sending; delivered: every accepted one but that and the one that stays sent.
  t.match(settled.rows, { processed: 300, sent: 298, failed: 3, delivered: 296 })
  t.ok(settled.rows.read >= 1 && settled.rows.read < 296, `some read, not all (${settled.rows.read} of 296)`)
  t.same({ sent: settled.p.sent, failed: settled.p.failed, delivered: settled.p.delivered, read: settled.p.read }, { sent: settled.rows.sent, failed: settled.rows.failed, delivered: settled.rows.delivered, read: settled.rows.read })
  t.equal(await activityLog.count('crm_messages', { request_id: 'campaign-req' }), 300, 'one unified row per message too')

  // The stored row follows the status webhooks by itself, without anyone reading the campaign.
  await eventually(async () => {
    const [row] = await activityLog.select('whatsapp_campaigns', { where: { id } })
    return row && row.sent === settled.rows.sent && row.failed === settled.rows.failed && row.delivered === settled.rows.delivered && row.read === settled.rows.read && row.status === 'completed_with_errors'
  }, 5000)

  const stats = await call('GET', '/stats')
  t.match(stats.body.campaigns, { total: 1, running: 0 })
})

t.test('5,000 contacts: the create call returns at once and the campaign runs to completion in the background', async t => {
  const { call, activityLog } = await startWhatsAppApp(t, { env: { WHATSAPP_CAMPAIGN_CONCURRENCY: '64', AISENSY_STATUS_GAP_MS: '2000-3000' } })
  const contacts = Array.from({ length: 5000 }, (_v, i) => ({ to_number: `+9197${String(i).padStart(8, '0')}` }))
  const started = Date.now()
  const created = await call('POST', '/campaigns', { name: 'Five thousand', template_name: 'welcome_message', contacts })
  const answeredIn = Date.now() - started
  t.equal(created.status, 202)
  // The rule that matters is the gateway's: an answer well inside its 30 s timeout, whatever the campaign's size.
  t.ok(answeredIn < 20_000, `answered in ${answeredIn} ms`)
  t.match(created.body, { status: 'running', total: 5000, processed: 0 })
  const atReply = await activityLog.count('whatsapp_logs', { campaign_id: created.body.id })
  t.ok(atReply < 5000, `the sends were still going when the reply came (${atReply} of 5,000 logged)`)
  const done = await eventually(async () => {
    const p = (await call('GET', `/campaigns/${created.body.id}`)).body
    return p.status === 'completed' ? p : undefined
  }, 90_000)
  t.match(done, { total: 5000, processed: 5000, sent: 5000, failed: 0, progress: 1, contacts: { sent: 5000 } })
  t.equal(await activityLog.count('whatsapp_logs', { campaign_id: created.body.id }), 5000)
  t.equal(await activityLog.count('crm_messages', { source_table: 'whatsapp_logs' }), 5000)
})

t.test('an unknown campaign is a 404, a malformed id a 400', async t => {
  const { call } = await startWhatsAppApp(t)
  const missing = await call('GET', '/campaigns/6f1c2b1e-8d4a-4b8e-9a57-0f6f3c2d1e00')
  t.equal(missing.status, 404)
  t.match(missing.body, { code: 'WHATSAPP_CAMPAIGN_NOT_FOUND', message: /No campaign with id 6f1c2b1e/ })
  const malformed = await call('GET', '/campaigns/42')
  t.equal(malformed.status, 400)
  t.equal(malformed.body.code, 'WHATSAPP_INVALID_REQUEST')
})

t.test('a service that stops mid-campaign finishes its sends in flight, leaves the rest pending, and the next start finishes the campaign: each contact sent once', async t => {
  const first = await startWhatsAppApp(t, { simulation: { latencyMs: { min: 100, max: 100 } }, env: { WHATSAPP_CAMPAIGN_CONCURRENCY: '5' } })
  const { call, activityLog } = first
  const created = await call('POST', '/campaigns', { name: 'Cut short', template_name: 'welcome_message', contacts: Array.from({ length: 200 }, (_v, i) => contact(i)) })
  const id = created.body.id
  await eventually(async () => (await call('GET', `/campaigns/${id}`)).body.processed >= 10)
  await first.app.close()
  await activityLog.flush()
  const [row] = await activityLog.select('whatsapp_campaigns', { where: { id } })
  const sentBefore = await activityLog.count('whatsapp_logs', { campaign_id: id })
  t.equal(row?.status, 'running', 'still running: nothing was given up')
  t.ok(sentBefore >= 10 && sentBefore < 200, `${sentBefore} sent before the stop`)
  t.equal(await activityLog.count('whatsapp_logs', { campaign_id: id, status: 'failed' }), 0, 'sends in flight finished against the still-open emulator')
  const items = await activityLog.rpc<{ pending: number, in_flight: number, sent: number, unknown: number }>('job_progress', { p_job_id: id })
  t.match(items, { in_flight: 0, unknown: 0, sent: sentBefore, pending: 200 - sentBefore }, 'every answer recorded, the rest pending')

  // The next start (same database) takes the campaign up by itself.
  const env = loadWhatsAppEnv({ WHATSAPP_PORT: '0', SWITCHBOARD_DATA_DIR: first.dataDir, LOG_LEVEL: 'silent', AISENSY_WEBHOOK_TOKEN: WEBHOOK_TOKEN })
  const second = await buildApp({ env, shared: first, logger: false })
  first.closeWithInfrastructure(second)
  await second.listen({ port: 0, host: '127.0.0.1' })
  const call2 = jsonCaller(selfBaseUrl(second), internalHeaders(first.tokens))
  const done = await eventually(async () => {
    const p = (await call2('GET', `/campaigns/${id}`)).body
    return p.status === 'completed' ? p : undefined
  }, 30_000)
  t.match(done, { total: 200, processed: 200, contacts: { sent: 200, failed: 0, unknown: 0, stopped: 0, pending: 0, in_flight: 0 } })
  const rows = await activityLog.select('whatsapp_logs', { where: { campaign_id: id } })
  t.equal(new Set(rows.map(r => r.to_number)).size, 200, 'every contact has one message row: none twice, none missing')
})

t.test('stop and retry on request: pending contacts become stopped; retry sends the failed ones again', async t => {
  const { call } = await startWhatsAppApp(t, { simulation: { latencyMs: { min: 50, max: 50 } }, env: { WHATSAPP_CAMPAIGN_CONCURRENCY: '2' } })
  const contacts = Array.from({ length: 100 }, (_v, i) => contact(i))
  contacts[0] = { to_number: '1234567', name: 'not a number' }
  const created = await call('POST', '/campaigns', { name: 'Stop me', template_name: 'welcome_message', contacts })
  const id = created.body.id
  await eventually(async () => (await call('GET', `/campaigns/${id}`)).body.contacts.sent >= 4)
  const stopping = await call('POST', `/campaigns/${id}/stop`)
  t.equal(stopping.status, 200)
  const stopped = await eventually(async () => {
    const p = (await call('GET', `/campaigns/${id}`)).body
    return p.status === 'stopped' ? p : undefined
  })
  const c = stopped.contacts
  t.ok(c.stopped > 50, `${c.stopped} contacts stopped`)
  t.equal(c.sent + c.failed + c.unknown + c.stopped, 100, 'sent + failed + unknown + stopped = contacts')
  t.equal(c.failed, 1, 'the non-number failed')

  const retried = await call('POST', `/campaigns/${id}/retry`)
  t.equal(retried.status, 202)
  t.equal(retried.body.status, 'running')
  const again = await eventually(async () => {
    const p = (await call('GET', `/campaigns/${id}`)).body
    return p.status !== 'running' ? p : undefined
  })
  t.match(again, { status: 'stopped', contacts: { failed: 1, stopped: c.stopped, pending: 0 } }, 'retried, refused again; stopped contacts stay stopped')
  t.match(again, { failed: 1, processed: c.sent + c.failed }, 'the messages count each contact\'s latest attempt: the refused one once, not once per attempt')
  t.equal((await call('POST', '/campaigns/6f1c2b1e-8d4a-4b8e-9a57-0f6f3c2d1e00/retry')).status, 404)
  t.equal((await call('POST', '/campaigns/6f1c2b1e-8d4a-4b8e-9a57-0f6f3c2d1e00/stop')).body.code, 'WHATSAPP_CAMPAIGN_NOT_FOUND')
})

t.test('a campaign tells a person at info when it starts, every 10 %, and when it ends; its sends are not each a line', async t => {
  const lines: Array<{ level: number, msg: string }> = []
  const stream = new Writable({ write (chunk, _enc, done) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); done() } })
  const { call } = await startWhatsAppApp(t, { logger: { level: 'info', stream } })
  const created = await call('POST', '/campaigns', { name: 'Logged', template_name: 'welcome_message', contacts: Array.from({ length: 40 }, (_v, i) => contact(i)) })
  t.equal(created.status, 202)
  await eventually(async () => (await call('GET', `/campaigns/${created.body.id}`)).body.status === 'completed')
  const campaign = lines.filter(l => l.msg.startsWith('WhatsApp campaign')).map(l => l.msg.replace(/in [\d.]+ s$/, 'in n s'))
  const named = `WhatsApp campaign "Logged" (${created.body.id})`
  t.same(campaign, [
    `${named} started: 40 to go`,
    ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map(n => `${named}: ${n * 4} of 40 (${n * 10} %)`),
    `${named} completed: 40 of 40 in n s`
  ], 'named by the campaign\'s name and id')
  t.notOk(lines.some(l => l.level === 30 && /→ \d{3}/.test(l.msg) && /\/aisensy\//.test(l.msg)), 'the emulator hops are not at info')
})
