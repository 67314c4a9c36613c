/**
 * A campaign under a full activity log (ACTIVITY_LOG_MAX_PENDING reached, the database slow to
 * commit): its sends wait for room, and those already made keep their rows. Before, the rows of
 * sends AiSensy had accepted were refused, the job runner took that for "cannot go on", and the
 * whole campaign ended `failed`, its remaining contacts marked failed without being sent.
 */
import t from 'tap'
import { createHeldBackend } from '@switchboard/activity-log/testing'
import { eventually, startWhatsAppApp } from './helper.ts'

t.test('a full write queue pauses a campaign instead of failing it; every contact is sent once the queue drains', async t => {
  const CONTACTS = 40
  const db = await createHeldBackend(t)
  const { call, activityLog } = await startWhatsAppApp(t, { env: { WHATSAPP_CAMPAIGN_CONCURRENCY: '8' }, activityLog: { backend: db.backend, maxPending: 4 } })

  db.hold()
  const contacts = Array.from({ length: CONTACTS }, (_v, i) => ({ to_number: `97${String(i).padStart(8, '0')}`, name: `Contact ${i}` }))
  const created = await call('POST', '/campaigns', { name: 'Under load', template_name: 'welcome_message', contacts })
  t.equal(created.status, 202, 'admitted while the queue had room')
  t.ok(await eventually(async () => activityLog.pending >= 4, 5000).catch(() => false), 'the first sends filled the queue')
  db.release()

  const done = await eventually(async () => {
    const p = await call('GET', `/campaigns/${created.body.id}`)
    return ['completed', 'completed_with_errors', 'stopped', 'failed'].includes(p.body.status) ? p.body : undefined
  }, 30_000)
  t.match(done, { status: 'completed', error: null, processed: CONTACTS, contacts: { sent: CONTACTS, failed: 0, unknown: 0, pending: 0, in_flight: 0 } })
})
