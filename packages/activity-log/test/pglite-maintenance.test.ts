import t from 'tap'
import { needsCheckpoint, needsVacuum, vacuumStatement } from '../src/backends/pglite-maintenance.ts'

const table = { schema: 'public', table: 't', live: 10_000, dead: 0, insertedSinceVacuum: 0, xidAge: 1_000 }

t.test('a table is vacuumed past autovacuum\'s default thresholds', async t => {
  t.notOk(needsVacuum(table), 'a quiet table is left alone')
  t.notOk(needsVacuum({ ...table, dead: 2_050 }), '50 + 20 % of the live rows dead: not yet')
  t.ok(needsVacuum({ ...table, dead: 2_051 }), 'past it')
  t.notOk(needsVacuum({ ...table, insertedSinceVacuum: 3_000 }), 'inserts: 1,000 + 20 %: not yet')
  t.ok(needsVacuum({ ...table, insertedSinceVacuum: 3_001 }), 'an append-only table is vacuumed (and frozen) as it grows')
  t.ok(needsVacuum({ ...table, xidAge: 150_000_001 }), 'a table near the wraparound horizon, whatever it did')
  t.ok(needsVacuum({ ...table, live: 0, dead: 51 }), 'an emptied table')
})

t.test('the schema and table names are quoted as identifiers', async t => {
  t.equal(vacuumStatement({ schema: 'public', table: 'webhook_outbox' }), 'VACUUM "public"."webhook_outbox"')
  t.equal(vacuumStatement({ schema: 'my schema', table: 'we"ird' }), 'VACUUM "my schema"."we""ird"')
})

t.test('a checkpoint is due after 64 MB of log, or five minutes with anything written', async t => {
  t.notOk(needsCheckpoint({ bytesSinceCheckpoint: 64 * 2 ** 20, secondsSinceCheckpoint: 10 }))
  t.ok(needsCheckpoint({ bytesSinceCheckpoint: 64 * 2 ** 20 + 1, secondsSinceCheckpoint: 10 }))
  t.ok(needsCheckpoint({ bytesSinceCheckpoint: 2 ** 20, secondsSinceCheckpoint: 301 }))
  t.notOk(needsCheckpoint({ bytesSinceCheckpoint: 120, secondsSinceCheckpoint: 3_600 }), 'only the last checkpoint\'s own record: nothing to write')
})
