import t from 'tap'
import { TestClock } from '@switchboard/service-kit/clock'
import { IdQueue } from '../src/emulator/id-queue.ts'
import { WakeQueue } from '../src/emulator/wake-queue.ts'

interface Entry { name: string, dueAt: number, heapIndex: number }
const entry = (name: string): Entry => ({ name, dueAt: 0, heapIndex: -1 })

/** A queue on a frozen test clock: time moves only when the test moves it. */
function queueAt (start: number) {
  const clock = new TestClock()
  clock.apply({ frozen_at: start, offset_ms: 0 })
  const due: string[] = []
  const queue = new WakeQueue<Entry>(clock, e => due.push(e.name))
  const moveTo = (at: number) => clock.apply({ frozen_at: at, offset_ms: 0 })
  t.teardown(() => clock.close())
  return { clock, queue, due, moveTo }
}

t.test('entries fall due earliest first, under one timer, each once', async t => {
  const { clock, queue, due, moveTo } = queueAt(1000)
  const names = Array.from({ length: 200 }, (_, i) => entry(`e${i}`))
  // Added in a shuffled order of due times (i * 7 mod 200 visits each once).
  for (let i = 0; i < names.length; i++) queue.add(names[(i * 7) % 200]!, 2000 + ((i * 7) % 200) * 10)
  t.equal(queue.size, 200)
  t.equal(clock.pending, 1, 'one timer for every entry')
  moveTo(2000 + 99 * 10)
  t.same(due, names.slice(0, 100).map(e => e.name), 'what is due by then, in due order')
  t.equal(queue.size, 100)
  t.ok(names.slice(0, 100).every(e => e.heapIndex === -1), 'handed over entries are out of the queue')
  moveTo(1_000_000)
  t.same(due, names.map(e => e.name), 'the rest, in order, each once')
  t.equal(clock.pending, 0, 'no timer once empty')
})

t.test('adding a queued entry moves it; a removed one never falls due', async t => {
  const { queue, due, moveTo } = queueAt(0)
  const [a, b, c] = [entry('a'), entry('b'), entry('c')]
  queue.add(a, 10)
  queue.add(b, 20)
  queue.add(c, 30)
  queue.add(c, 5)
  queue.remove(b)
  queue.remove(b) // twice is harmless
  t.equal(queue.size, 2)
  moveTo(100)
  t.same(due, ['c', 'a'])
})

t.test('an entry queued while others fall due runs in the same advance when it is due by then', async t => {
  const clock = new TestClock()
  clock.apply({ frozen_at: 0, offset_ms: 0 })
  t.teardown(() => clock.close())
  const due: Array<[string, number]> = []
  const later = entry('later')
  const queue: WakeQueue<Entry> = new WakeQueue<Entry>(clock, e => {
    due.push([e.name, clock.now()])
    if (e.name === 'first') queue.add(later, clock.now() + 5)
  })
  queue.add(entry('first'), 10)
  queue.add(entry('last'), 50)
  clock.apply({ frozen_at: 100, offset_ms: 0 })
  t.same(due, [['first', 10], ['later', 15], ['last', 50]])
})

t.test('clear empties it; after close nothing is queued or handed over', async t => {
  const { clock, queue, due, moveTo } = queueAt(0)
  const a = entry('a')
  queue.add(a, 10)
  queue.clear()
  t.equal(a.heapIndex, -1)
  t.equal(clock.pending, 0)
  queue.add(a, 20)
  t.notOk(queue.closed)
  queue.close()
  t.ok(queue.closed)
  queue.add(entry('b'), 30)
  t.equal(queue.size, 0)
  moveTo(100)
  t.same(due, [], 'nothing fell due, though "a" and "b" were added for times now passed')
})

t.test('IdQueue: ids in arrival order, compacted as the front is taken, stale ones dropped on request', async t => {
  const q = new IdQueue()
  t.equal(q.shift(), undefined)
  for (let i = 0; i < 5000; i++) q.push(`id${i}`)
  const taken: string[] = []
  for (let i = 0; i < 3000; i++) taken.push(q.shift()!)
  t.same(taken.slice(0, 3), ['id0', 'id1', 'id2'])
  t.equal(taken.at(-1), 'id2999')
  t.equal(q.length, 2000)
  q.retain(id => Number(id.slice(2)) % 2 === 0)
  t.equal(q.length, 1000)
  t.equal(q.shift(), 'id3000')
  t.equal(q.shift(), 'id3002')
  q.clear()
  t.equal(q.length, 0)
  t.equal(q.shift(), undefined)
})
