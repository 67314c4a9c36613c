import t from 'tap'
import { clockStamp, REAL_TIME, TestClock } from '../src/emulator/clock.ts'

// The clock's timers never hold the process open: this does, while the tests wait on them.
const keepAlive = setInterval(() => {}, 1000)
t.teardown(() => clearInterval(keepAlive))

t.test('real time by default: now() is Date.now() and a timer fires on its own', async t => {
  const clock = new TestClock()
  t.teardown(() => clock.close())
  t.equal(clock.mode, 'real')
  t.ok(Math.abs(clock.now() - Date.now()) < 50)
  await new Promise<void>(resolve => clock.at(clock.now() + 5, resolve))
  t.pass('fired')
})

t.test('frozen: time stands still and nothing due later fires until an advance passes it, in due order, each seeing its own time', async t => {
  const clock = new TestClock()
  t.teardown(() => clock.close())
  const t0 = Date.now()
  clock.apply({ frozen_at: t0, offset_ms: 0 })
  t.equal(clock.mode, 'frozen')
  const fired: Array<[string, number]> = []
  clock.at(t0 + 3_600_000, () => fired.push(['hour', clock.now()]))
  clock.at(t0 + 60_000, () => {
    fired.push(['minute', clock.now()])
    // set from inside the window: also fires within the same advance
    clock.at(clock.now() + 60_000, () => fired.push(['chained', clock.now()]))
  })
  const cancelled = clock.at(t0 + 30_000, () => fired.push(['cancelled', clock.now()]))
  cancelled.cancel()
  // What is due now still fires while frozen (proves the clock fires at all when frozen).
  await new Promise<void>(resolve => clock.at(t0, resolve))
  t.same(fired, [], 'nothing later than the frozen instant fired')
  t.equal(clock.now(), t0, 'still frozen')

  clock.apply({ frozen_at: t0 + 90_000, offset_ms: 0 })
  t.same(fired, [['minute', t0 + 60_000]], 'an advance of 90 s fires the one-minute timer at its own instant')
  t.equal(clock.now(), t0 + 90_000)
  clock.apply({ frozen_at: t0 + 2 * 3_600_000, offset_ms: 0 })
  t.same(fired, [['minute', t0 + 60_000], ['chained', t0 + 120_000], ['hour', t0 + 3_600_000]])
  t.equal(clock.pending, 0)
})

t.test('resumed (shifted): runs at real speed ahead of real time; back to real time', async t => {
  const clock = new TestClock()
  t.teardown(() => clock.close())
  clock.apply({ frozen_at: null, offset_ms: 86_400_000 })
  t.equal(clock.mode, 'shifted')
  t.ok(Math.abs(clock.now() - (Date.now() + 86_400_000)) < 50)
  let fired = false
  clock.at(Date.now() + 3_600_000, () => { fired = true })
  t.ok(fired === false)
  await new Promise<void>(resolve => clock.at(clock.now() + 5, resolve))
  t.ok(fired, 'a timer due an hour from real now was already past on the shifted clock')
  clock.apply(REAL_TIME)
  t.equal(clock.mode, 'real')
})

t.test('clockStamp: the clock\'s time for a new row when it is not real time, nothing at real time', async t => {
  const clock = new TestClock()
  t.teardown(() => clock.close())
  t.equal(clockStamp(clock), undefined, 'real time: the row keeps its usual stamp')
  const dayAgo = Date.now() - 86_400_000
  clock.apply({ frozen_at: dayAgo, offset_ms: 0 })
  t.equal(clockStamp(clock), new Date(dayAgo).toISOString(), 'set back a day: stamped a day ago')
  clock.apply({ frozen_at: null, offset_ms: 3_600_000 })
  t.ok(Date.parse(clockStamp(clock)!) - Date.now() > 3_500_000, 'shifted: ahead with it')
})
