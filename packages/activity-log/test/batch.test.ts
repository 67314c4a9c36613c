import t from 'tap'
import { batcher } from '../src/batch.ts'

const deferred = () => {
  let release!: () => void
  const gate = new Promise<void>(resolve => { release = resolve })
  return { gate, release }
}

t.test('calls of one tick are one batch; calls made while it runs are the next; each gets its own result', async t => {
  const batches: number[][] = []
  const first = deferred()
  const double = batcher<number, number>(async items => {
    batches.push(items)
    if (batches.length === 1) await first.gate
    return items.map(i => i * 2)
  })
  const a = [double(1), double(2), double(3)]
  await new Promise(resolve => setImmediate(resolve))
  const b = [double(4), double(5)] // while the first batch is with the "database"
  t.same(batches, [[1, 2, 3]], 'the first batch left alone; the later calls wait')
  first.release()
  t.same(await Promise.all([...a, ...b]), [2, 4, 6, 8, 10])
  t.same(batches, [[1, 2, 3], [4, 5]])
  t.same(await double(6), 12, 'an idle batcher sends a lone call at once')
})

t.test('a failed batch rejects its callers and not the next batch; max and key split batches in order', async t => {
  let calls = 0
  const run = batcher<string, string>(async items => {
    calls++
    if (items.includes('bad')) throw new Error('refused')
    return items
  }, { max: 2, key: item => item[0]! })
  const results = await Promise.allSettled([run('a1'), run('bad'), run('a2'), run('c1'), run('c2')])
  t.same(results.map(r => r.status === 'fulfilled' ? r.value : (r.reason as Error).message), ['refused', 'refused', 'a2', 'c1', 'c2'])
  // [a1, bad] (max 2) → [a2, c1] → [c2] (c's second waits behind c1)
  t.equal(calls, 3)
})
