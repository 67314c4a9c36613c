import t from 'tap'
import { Writable } from 'node:stream'
import type { ActivityLog } from '@switchboard/activity-log'
import { eventually, startWhatsAppApp } from './helper.ts'

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
    return p.body.status === 'completed' ? p.body : undefined
  }, 30_000)
  const intermediate = seen.filter(s => s.status === 'running' && s.processed > 0 && s.processed < 300)
  t.ok(intermediate.length >= 2, `progress was visible while running (${intermediate.map(s => s.processed).join(', ')})`)
  t.ok(intermediate.every(s => Math.abs(s.progress - s.processed / 300) < 0.0001), 'progress is processed / total')
  const processedSeen = seen.map(s => s.processed)
  t.same(processedSeen, [...processedSeen].sort((a, b) => a - b), 'progress never goes back')
  t.match(done, { status: 'completed', total: 300, processed: 300, progress: 1, completed_at: String })
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
    return row && row.sent === settled.rows.sent && row.failed === settled.rows.failed && row.delivered === settled.rows.delivered && row.read === settled.rows.read && row.status === 'completed'
  }, 5000)

  const stats = await call('GET', '/stats')
  t.match(stats.body.campaigns, { total: 1, running: 0, completed: 1 })
})

t.test('5,000 contacts: the create call returns at once and the campaign runs to completion in the background', async t => {
  const { call, activityLog } = await startWhatsAppApp(t, { env: { WHATSAPP_CAMPAIGN_CONCURRENCY: '64', AISENSY_STATUS_GAP_MS: '2000-3000' } })
  const contacts = Array.from({ length: 5000 }, (_v, i) => ({ to_number: `+9197${String(i).padStart(8, '0')}` }))
  const started = Date.now()
  const created = await call('POST', '/campaigns', { name: 'Five thousand', template_name: 'welcome_message', contacts })
  const answeredIn = Date.now() - started
  t.equal(created.status, 202)
  t.ok(answeredIn < 5000, `answered in ${answeredIn} ms`)
  t.match(created.body, { status: 'running', total: 5000, processed: 0 })
  const atReply = await activityLog.count('whatsapp_logs', { campaign_id: created.body.id })
  t.ok(atReply < 5000, `the sends were still going when the reply came (${atReply} of 5,000 logged)`)
  const done = await eventually(async () => {
    const p = (await call('GET', `/campaigns/${created.body.id}`)).body
    return p.status === 'completed' ? p : undefined
  }, 90_000)
  t.match(done, { total: 5000, processed: 5000, sent: 5000, failed: 0, progress: 1 })
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

t.test('a service that stops mid-campaign marks it interrupted, with what was sent logged', async t => {
  const { app, call, activityLog } = await startWhatsAppApp(t, { simulation: { latencyMs: { min: 100, max: 100 } }, env: { WHATSAPP_CAMPAIGN_CONCURRENCY: '5' } })
  const created = await call('POST', '/campaigns', { name: 'Cut short', template_name: 'welcome_message', contacts: Array.from({ length: 200 }, (_v, i) => contact(i)) })
  await eventually(async () => (await call('GET', `/campaigns/${created.body.id}`)).body.processed >= 10)
  await app.close()
  await activityLog.flush()
  const [row] = await activityLog.select('whatsapp_campaigns', { where: { id: created.body.id } })
  const sent = await activityLog.count('whatsapp_logs', { campaign_id: created.body.id })
  t.equal(row?.status, 'interrupted')
  t.ok(sent >= 10 && sent < 200, `${sent} sent before the stop`)
  t.match(row?.error, new RegExp(`stopped after ${sent} of 200 contacts`))
  t.equal(await activityLog.count('whatsapp_logs', { campaign_id: created.body.id, status: 'failed' }), 0, 'sends in flight finished against the still-open emulator')
})

t.test('a campaign tells a person at info when it starts, every 10 %, and when it ends; its sends are not each a line', async t => {
  const lines: Array<{ level: number, msg: string }> = []
  const stream = new Writable({ write (chunk, _enc, done) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); done() } })
  const { call } = await startWhatsAppApp(t, { logger: { level: 'info', stream } })
  const created = await call('POST', '/campaigns', { name: 'Logged', template_name: 'welcome_message', contacts: Array.from({ length: 40 }, (_v, i) => contact(i)) })
  t.equal(created.status, 202)
  await eventually(async () => (await call('GET', `/campaigns/${created.body.id}`)).body.status === 'completed')
  const campaign = lines.filter(l => l.msg.startsWith('WhatsApp campaign')).map(l => l.msg.replace(/in [\d.]+ s$/, 'in n s'))
  t.same(campaign, [
    'WhatsApp campaign "welcome_message" started: 40 to go',
    ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map(n => `WhatsApp campaign "welcome_message": ${n * 4} of 40 (${n * 10} %)`),
    'WhatsApp campaign "welcome_message" completed: 40 of 40 in n s'
  ])
  t.notOk(lines.some(l => l.level === 30 && /→ \d{3}/.test(l.msg) && /\/aisensy\//.test(l.msg)), 'the emulator hops are not at info')
})
