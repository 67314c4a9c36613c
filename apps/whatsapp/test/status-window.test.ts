import t from 'tap'
import { composeStatus, StatusWindow, type StatusChange } from '../src/service/whatsapp-service.ts'

type Status = StatusChange['status']
const STATUSES: Status[] = ['sent', 'delivered', 'read', 'failed']
// The receiver's rule, one update at a time: a status moves a row only from these.
const MOVES_FROM: Record<Status, string[]> = { sent: ['submitted'], delivered: ['submitted', 'sent'], read: ['submitted', 'sent', 'delivered'], failed: ['submitted', 'sent'] }
const apply = (row: string, status: Status) => MOVES_FROM[status].includes(row) ? status : row

t.test('merged changes end where the same changes applied one by one would, from every starting status', async t => {
  const sequences: Status[][] = [[]]
  for (let length = 1; length <= 5; length++) {
    for (const shorter of sequences.filter(s => s.length === length - 1)) for (const s of STATUSES) sequences.push([...shorter, s])
  }
  let checked = 0
  for (const start of ['submitted', 'sent', 'delivered', 'read', 'failed']) {
    for (const sequence of sequences.slice(1)) {
      const oneByOne = sequence.reduce(apply, start)
      // What the window writes: each change composed into the pending one, or the pending one written first.
      const writes: Status[][] = []
      const window = new StatusWindow(changes => writes.push([...changes.values()].map(c => c.status)))
      for (const status of sequence) window.add('m', { status })
      window.flush()
      const merged = writes.flat().reduce(apply, start)
      if (merged !== oneByOne) t.fail(`${start} then ${sequence.join(', ')}: one by one ${oneByOne}, merged ${merged}`)
      checked++
    }
  }
  t.equal(checked, 5 * (4 + 16 + 64 + 256 + 1024))
  t.equal(composeStatus('failed', 'read'), undefined, 'read after failed is no single status')
  t.equal(composeStatus('delivered', 'failed'), 'delivered')
  t.equal(composeStatus('sent', 'failed'), 'failed')
})

t.test('a window writes the changes of several posts at once and answers each post once they are queued', async t => {
  const writes: Array<Map<string, StatusChange>> = []
  const window = new StatusWindow(changes => writes.push(changes), 20)
  window.add('a', { status: 'sent' })
  window.add('b', { status: 'failed', error: 'Message undeliverable', code: '131026' })
  const first = window.queued()
  window.add('a', { status: 'delivered' })
  window.add('b', { status: 'failed', error: 'another reason', code: '1' })
  window.add('c', { status: 'read' })
  const second = window.queued()
  t.equal(first, second, 'posts of one window wait for the same write')
  t.equal(writes.length, 0, 'nothing written before the window closes')
  await second
  t.equal(writes.length, 1)
  t.same(Object.fromEntries(writes[0]!), { a: { status: 'delivered' }, b: { status: 'failed', error: 'Message undeliverable', code: '131026' }, c: { status: 'read' } }, 'the first failure reason wins')
  await window.queued()
  t.equal(writes.length, 1, 'an empty window writes nothing')

  window.add('d', { status: 'failed', error: 'x', code: '1' })
  const before = window.queued()
  window.add('d', { status: 'read' })
  t.equal(writes.length, 2, 'read after failed: what was pending is written first')
  await before
  t.same(Object.fromEntries(writes[1]!), { d: { status: 'failed', error: 'x', code: '1' } })
  window.flush()
  t.same(Object.fromEntries(writes[2]!), { d: { status: 'read' } })
})

t.test('a full window is written at once', async t => {
  const writes: number[] = []
  const window = new StatusWindow(changes => writes.push(changes.size), 10_000, 3)
  for (const id of ['a', 'b', 'c', 'd']) window.add(id, { status: 'sent' })
  t.same(writes, [3])
  const started = Date.now()
  window.flush()
  await window.queued()
  t.same(writes, [3, 1])
  t.ok(Date.now() - started < 1000)
})
