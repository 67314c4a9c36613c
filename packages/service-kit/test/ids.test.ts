import t from 'tap'
import { randomBelow, randomEncoded, randomHex, randomId22 } from '../src/server/ids.ts'

t.test('randomBelow stays in range and covers it evenly', async t => {
  const counts = new Array(10).fill(0)
  for (let i = 0; i < 100_000; i++) counts[randomBelow(10)]++
  // Each digit expects 10,000; 600 is over six standard deviations (σ ≈ 95).
  for (const c of counts) t.ok(Math.abs(c - 10_000) < 600, `a digit came up ${c} times`)
  t.equal(randomBelow(1), 0)
  const big = new Set(Array.from({ length: 2000 }, () => randomBelow(65_536)))
  t.ok(big.size > 1900, 'the full 16-bit range is used')
  t.throws(() => randomBelow(0), RangeError)
  t.throws(() => randomBelow(65_537), RangeError)
  t.throws(() => randomBelow(2.5), RangeError)
})

t.test('pooled ids have their shapes and do not repeat', async t => {
  const ids = Array.from({ length: 5000 }, () => randomId22())
  t.ok(ids.every(id => /^[A-Za-z0-9_-]{22}$/.test(id)))
  t.equal(new Set(ids).size, ids.length)
  t.match(randomHex(16), /^[0-9a-f]{32}$/)
})

t.test('randomEncoded encodes n fresh bytes in the asked encoding, across pool refills', async t => {
  const hex = Array.from({ length: 3000 }, () => randomEncoded(16, 'hex'))
  t.ok(hex.every(h => /^[0-9a-f]{32}$/.test(h)))
  t.equal(new Set(hex).size, hex.length, 'no repeats across several 8 KiB refills')
  t.match(randomEncoded(16, 'base64'), /^[A-Za-z0-9+/]{22}==$/)
  t.match(randomEncoded(10_000, 'hex'), /^[0-9a-f]{20000}$/, 'larger than the pool: drawn directly')
})
