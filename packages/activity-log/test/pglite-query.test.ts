import { PGlite } from '@electric-sql/pglite'
import t from 'tap'
import { PreparedQueries } from '../src/backends/pglite-query.ts'
import { TYPE_PARSERS } from '../src/backends/sql.ts'

// The worker's prepared statements must answer exactly as PGlite's own query() does: same rows,
// same parsed types, same row counts, same errors, and a session still usable after an error.
const db = await PGlite.create('memory://', { parsers: TYPE_PARSERS })
t.teardown(() => db.close())
await db.exec(`create table items (id uuid primary key, n integer, big bigint, amount numeric(10,2), ok boolean,
  at timestamptz, label text, doc jsonb)`)
const prepared = new PreparedQueries(db, { maxStatements: 4 })
/** What the session really holds: the statements PostgreSQL has prepared under a name. */
const held = async () => (await db.query<{ n: number }>('select count(*)::int as n from pg_prepared_statements')).rows[0]!.n

const row = ['6f1c7a3e-0000-4000-8000-000000000001', 7, 9007199254740991n, '499.50', true, new Date('2026-12-06T10:00:00.123Z'), 'it\'s "quoted" \\ text', JSON.stringify({ a: [1, 'two', null] })]
const insert = 'insert into items (id, n, big, amount, ok, at, label, doc) values ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb)'

t.test('a write and a read answer as query() does', async t => {
  t.same(await prepared.query(insert, row), { rows: [], rowCount: 1 })
  const select = 'select id, n, big, amount, ok, at, label, doc, null::text as nothing from items where id = $1 and ok = $2 and at = $3'
  const slow = await db.query(select, [row[0], true, row[5]])
  for (let i = 0; i < 3; i++) t.same((await prepared.query(select, [row[0], true, row[5]]))?.rows, slow.rows, `run ${i + 1}`)
  t.same(slow.rows[0], {
    id: row[0],
    n: 7,
    big: 9007199254740991,
    amount: '499.50',
    ok: true,
    at: '2026-12-06T10:00:00.123+00:00',
    label: 'it\'s "quoted" \\ text',
    doc: { a: [1, 'two', null] },
    nothing: null
  })
  t.equal((await prepared.query('update items set n = n + $1 where n < $2', [1, 100]))?.rowCount, 1)
  t.equal(prepared.size, 3, 'each statement text prepared once')
  t.equal(await held(), 3)
})

t.test('a database error is thrown with its code, and nothing is left behind', async t => {
  const before = await held()
  await t.rejects(prepared.query(insert, row), { code: '23505' }, 'a statement prepared before fails at execution')
  await t.rejects(prepared.query('select $1::integer as n', ['not a number']), { code: '22P02' }, 'a new statement fails at execution')
  await t.rejects(prepared.query('selec 1'), { code: '42601' }, 'a new statement fails to parse')
  t.equal(await held(), before, 'the failed new statements are not kept')
  t.same((await prepared.query('select $1::integer as n', ['5']))?.rows, [{ n: 5 }], 'the failed text runs when its values are right')
})

t.test('at most maxStatements are held; the least recently used is closed first', async t => {
  for (let i = 0; i < 10; i++) t.same((await prepared.query(`select $1::int + ${i} as n`, [1]))?.rows, [{ n: 1 + i }])
  t.equal(prepared.size, 4)
  t.equal(await held(), 4)
  t.same((await prepared.query('select $1::int + 0 as n', [1]))?.rows, [{ n: 1 }], 'a closed statement is prepared again')
})

t.test('a statement whose table changed its columns is prepared again', async t => {
  const select = 'select * from items where id = $1'
  t.same(Object.keys((await prepared.query(select, [row[0]]))!.rows[0]!), ['id', 'n', 'big', 'amount', 'ok', 'at', 'label', 'doc'])
  await db.exec('alter table items add column extra text')
  t.same(Object.keys((await prepared.query(select, [row[0]]))!.rows[0]!), ['id', 'n', 'big', 'amount', 'ok', 'at', 'label', 'doc', 'extra'])
})

t.test('a statement in a transaction sees the transaction', async t => {
  await db.exec('begin')
  await prepared.query('update items set label = $1', ['in a transaction'])
  await db.exec('rollback')
  t.same((await prepared.query('select label from items'))?.rows, [{ label: row[6] }])
})

t.test('a value whose text depends on the parameter\'s type is left to query()', async t => {
  const before = prepared.size
  t.equal(await prepared.query('select $1::text[] as list', [['a', 'b']]), undefined)
  t.equal(await prepared.query('select $1::jsonb as doc', [{ a: 1 }]), undefined)
  t.equal(await prepared.query('select $1::bytea as b', [new Uint8Array([1])]), undefined)
  t.equal(prepared.size, before, 'nothing was prepared')
})

t.test('statements dropped behind its back are prepared again', async t => {
  await prepared.query('select $1::int as n', [1])
  await db.exec('deallocate all')
  t.same((await prepared.query('select $1::int as n', [2]))?.rows, [{ n: 2 }])
})
