import t from 'tap'
import { storable, storableJson } from '../src/tables.ts'

t.test('storableJson reads back as JSON.stringify(storable(value)), made in one pass', async t => {
  const values: unknown[] = [
    { plain: 'text', n: 1, list: [true, null, { deep: 'é😀' }] },
    { nul: 'a\u0000b', 'k\u0000': ['\u0000', { x: '\u0000\u0000' }] },
    { lone: 'a\ud800b', low: '\udfff', pair: 'x\ud83d\ude00', keyed: { '\ud83d': 1 } },
    // The six characters \u0000 typed in a value are text, not a NUL: kept as they are.
    { typed: '\\u0000 and \\ud800', both: '\\\u0000', three: '\\\\u0000' },
    ['\u0000', 'ok'],
    { when: new Date('2026-12-06T10:00:00.000Z'), nothing: undefined }
  ]
  for (const value of values) {
    // The same JSON document (U+FFFD written as an escape rather than as the character).
    t.same(JSON.parse(storableJson(value)), JSON.parse(JSON.stringify(storable(value))), JSON.stringify(value))
  }
  t.same(JSON.parse(storableJson({ nul: 'a\u0000b' })), { nul: 'a\uFFFDb' })
  t.same(JSON.parse(storableJson({ typed: '\\u0000' })), { typed: '\\u0000' }, 'typed text survives')
})
