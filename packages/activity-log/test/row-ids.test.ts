import t from 'tap'
import { newRowId } from '../src/row-ids.ts'

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

t.test('ids are UUIDv7, unique, and sort in the order they were made (past many pool refills)', async t => {
  const ids = Array.from({ length: 5_000 }, newRowId)
  t.ok(ids.every(id => UUID_V7.test(id)), 'every id is a v7 uuid')
  t.equal(new Set(ids).size, ids.length, 'no id twice')
  t.same([...ids].sort(), ids, 'sorted as made')
})

t.test('an id carries the time it was made in its first 48 bits', async t => {
  const before = Date.now()
  const ms = parseInt(newRowId().replaceAll('-', '').slice(0, 12), 16)
  // The counter may have carried the time a millisecond or two past the clock, never before it.
  t.ok(ms >= before && ms <= Date.now() + 2, `${ms} near ${before}`)
})

t.test('the random part differs between ids made together', async t => {
  const tails = new Set(Array.from({ length: 1_000 }, () => newRowId().slice(-12)))
  t.ok(tails.size > 990, `${tails.size} different random tails in 1,000 ids`)
})
