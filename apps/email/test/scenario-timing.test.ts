/**
 * A scenario step that says when its events happen (issue 24: "an email delivered, opened after two
 * minutes, then clicked"): the times are on the emulators' clock, so a frozen clock holds each
 * event until a test advances past it, and each is stamped with its own time.
 */
import t from 'tap'
import { startRecorder } from '@switchboard/service-kit/testing'
import { auth, eventually, mail, startEmailApp } from './helper.ts'

interface Event { email: string, event: string, timestamp: number }

t.test('opened two minutes after the send, clicked a minute later: each only once the clock passes it', async t => {
  const receiver = await startRecorder(t)
  const { call, runtime } = await startEmailApp(t, { env: { SENDGRID_EVENT_WEBHOOK_URL: `${receiver.origin}/events` } })
  const events = (email: string) => receiver.received.flatMap(post => JSON.parse(post.body) as Event[]).filter(e => e.email === email)
  const names = (email: string) => events(email).map(e => e.event)
  await runtime.setScenario({
    name: 'timed',
    stories: [
      { name: 'opened-later', service: 'email', recipient: 'meera@example.in', steps: [{ fate: 'open', at_s: { open: 120, click: 180 } }] },
      // Delivered at 119 s: when it arrives, the clock has passed 119 s and the events have flowed.
      { name: 'probe', service: 'email', recipient: 'probe@example.in', steps: [{ fate: 'deliver', at_s: { delivered: 119 } }] }
    ]
  }, 'test')
  const t0 = Math.floor(runtime.clock.now() / 1000) * 1000
  runtime.clock.apply({ frozen_at: t0, offset_ms: 0 })
  t.teardown(() => runtime.clock.apply({ frozen_at: null, offset_ms: 0 }))

  const sent = await call('POST', '/sendgrid/v3/mail/send', mail(['meera@example.in', 'probe@example.in']), auth)
  t.equal(sent.status, 202)
  runtime.clock.apply({ frozen_at: t0 + 1000, offset_ms: 0 })
  await eventually(async () => names('meera@example.in').includes('delivered'))
  t.same(names('meera@example.in'), ['processed', 'delivered'], 'delivered at once; not opened yet')

  runtime.clock.apply({ frozen_at: t0 + 119_000, offset_ms: 0 })
  await eventually(async () => names('probe@example.in').includes('delivered'))
  t.same(names('meera@example.in'), ['processed', 'delivered'], 'at 119 s (the probe delivered): still not opened')

  runtime.clock.apply({ frozen_at: t0 + 120_000, offset_ms: 0 })
  await eventually(async () => names('meera@example.in').includes('open'))
  t.same(names('meera@example.in'), ['processed', 'delivered', 'open'], 'opened at two minutes, not clicked yet')
  runtime.clock.apply({ frozen_at: t0 + 180_000, offset_ms: 0 })
  await eventually(async () => names('meera@example.in').includes('click'))
  const stamps = Object.fromEntries(events('meera@example.in').map(e => [e.event, e.timestamp - t0 / 1000]))
  t.match(stamps, { open: 120, click: 180 }, 'each stamped with its own time on the clock')
})
