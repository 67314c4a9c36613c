import t from 'tap'
import { BoundedMap } from '../src/server/bounded-map.ts'

t.test('holds at most max entries, the newest kept in insertion order', async t => {
  const map = new BoundedMap<string, number>(3)
  for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) map.set(key, i)
  t.same([...map.keys()], ['b', 'c', 'd'])
  map.set('b', 10)
  t.same([...map.entries()], [['b', 10], ['c', 2], ['d', 3]], 'setting a key held changes its value, not its place')
})

t.test('past a large bound, a sixteenth of it goes at once; each dropped entry is reported', async t => {
  const dropped: string[] = []
  const map = new BoundedMap<string, number>(160, key => { dropped.push(key) })
  for (let i = 0; i < 160; i++) map.set(`k${i}`, i)
  t.equal(map.size, 160)
  map.set('k160', 160)
  t.equal(map.size, 150, '161 entries: the 11 oldest go (the one over the bound and a sixteenth of 160)')
  t.same(dropped, Array.from({ length: 11 }, (_v, i) => `k${i}`))
  t.same([...map.keys()].at(-1), 'k160')
})

t.test('far past the bound, the newest stay, in order', async t => {
  const map = new BoundedMap<number, number>(100_000)
  for (let i = 0; i < 300_000; i++) map.set(i, i)
  const keys = [...map.keys()]
  t.ok(keys.length <= 100_000 && keys.length > 90_000)
  t.same(keys, Array.from({ length: keys.length }, (_v, i) => 300_000 - keys.length + i))
})

t.test('refuses a bound that keeps nothing', async t => {
  t.throws(() => new BoundedMap(0), RangeError)
  t.throws(() => new BoundedMap(1.5), RangeError)
})
