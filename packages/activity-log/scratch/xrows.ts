// Scratch: what an activity_exchanges row costs in PGlite under schema variants.
// usage: node bench/scratch/xrows.ts <bench data dir with rows> [variant...]
import { PGlite } from '@electric-sql/pglite'
import { cpSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { applyMigrations } from '../src/migrations.ts'
import { PreparedQueries } from '../src/backends/pglite-query.ts'

const [src, ...variants] = process.argv.slice(2)
const copy = mkdtempSync(join(tmpdir(), 'xrows-src-'))
cpSync(join(src!, 'pglite'), copy, { recursive: true })
const from = await PGlite.create(copy)
const sample = (await from.query<{ r: Record<string, unknown> }>(`select to_jsonb(e) - 'id' - 'created_at' as r from activity_exchanges e order by created_at desc limit 400`)).rows.map(x => x.r)
await from.close()
console.log('sample', sample.length, 'avg bytes', Math.round(sample.reduce((a, r) => a + JSON.stringify(r).length, 0) / sample.length))

const VARIANTS: Record<string, string> = {
  base: '',
  nogin: 'drop index activity_exchanges_refs_idx; drop index activity_exchanges_contacts_idx;',
  noglz: "alter table activity_exchanges alter column request set storage external, alter column response set storage external, alter column content set storage external;",
  both: "drop index activity_exchanges_refs_idx; drop index activity_exchanges_contacts_idx; alter table activity_exchanges alter column request set storage external, alter column response set storage external, alter column content set storage external;",
  gin_nofast: 'alter index activity_exchanges_refs_idx set (fastupdate = off); alter index activity_exchanges_contacts_idx set (fastupdate = off);',
  pathops: 'drop index activity_exchanges_refs_idx; drop index activity_exchanges_contacts_idx; create index on activity_exchanges using gin (refs jsonb_path_ops); create index on activity_exchanges using gin (contacts jsonb_path_ops);',
  nobtree: 'drop index activity_exchanges_created_at_idx;'
}
const cols = Object.keys(sample[0]!)
const list = ['id', ...cols].map(c => `"${c}"`).join(', ')
for (const v0 of variants.length ? variants : Object.keys(VARIANTS)) {
  const v = v0.replace(/\d+$/, '')
  const dir = mkdtempSync(join(tmpdir(), 'xrows-'))
  const db = await PGlite.create(dir, { relaxedDurability: true, startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=32MB'] })
  await applyMigrations({ query: (t, vals) => db.query(t, vals), exec: async s => { await db.exec(s) } })
  if (VARIANTS[v]) await db.exec(VARIANTS[v]!)
  const pq = new PreparedQueries(db)
  const B = Number(process.env.B ?? 300)
  const N = 30_000
  const times: number[] = []
  for (let i = 0; i < N; i += B) {
    const batch = Array.from({ length: B }, (_, j) => ({ id: crypto.randomUUID(), ...sample[(i + j) % sample.length] }))
    const json = JSON.stringify(batch)
    const t0 = performance.now()
    if (v === 'parseonly') await db.query(`SELECT count(*) FROM json_populate_recordset(NULL::"activity_exchanges", $1::text::json)`, [json])
    else if (v === 'jsonb_to') await pq.query(`INSERT INTO "activity_exchanges" (${list}) SELECT ${list} FROM jsonb_populate_recordset(NULL::"activity_exchanges", $1::text::jsonb) ON CONFLICT ("id") DO NOTHING`, [json])
    else if (v === 'noconflict') await db.query(`INSERT INTO "activity_exchanges" (${list}) SELECT ${list} FROM json_populate_recordset(NULL::"activity_exchanges", $1::text::json)`, [json])
    else if (v === 'textonly') await db.query(`SELECT length($1::text)`, [json])
    else await pq.query(`INSERT INTO "activity_exchanges" (${list}) SELECT ${list} FROM json_populate_recordset(NULL::"activity_exchanges", $1::text::json) ON CONFLICT ("id") DO NOTHING`, [json])
    times.push(performance.now() - t0)
  }
  const total = times.reduce((a, b) => a + b, 0)
  const late = times.slice(times.length / 2).reduce((a, b) => a + b, 0)
  console.log(v.padEnd(12), 'µs/row all', (1000 * total / N).toFixed(1), 'second half', (1000 * late / (N / 2)).toFixed(1))
  await db.close()
}
