/**
 * The job functions (supabase/migrations/*_create_jobs.sql) under real concurrency: two workers
 * on one PostgreSQL database recording answers at the same moment. PGlite has one connection and
 * cannot interleave transactions, so these run on PostgreSQL only (TEST_DATABASE_URL, or a server
 * of their own when run alone).
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import t, { type Test } from 'tap'
import { startPostgres } from '../../../scripts/postgres-server.ts'
import { createPostgresBackend } from '../src/index.ts'
import { createTestDatabase } from '../src/testing.ts'

if (!process.env.TEST_DATABASE_URL) {
  const server = await startPostgres()
  t.teardown(() => server.stop())
  process.env.TEST_DATABASE_URL = server.url
}

async function migratedDatabase (t: Test): Promise<string> {
  const url = await createTestDatabase(t)
  const backend = await createPostgresBackend({ databaseUrl: url, poolSize: 1 })
  await backend.close()
  return url
}

async function connect (t: Test, url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(() => client.end())
  return client
}

async function claim (db: pg.Client, kind: string, worker: string, limit: number): Promise<number[]> {
  const { rows } = await db.query('select job_claim($1, $2, $3, 60000) as c', [kind, worker, limit])
  return (rows[0].c.items as Array<{ seq: number }>).map(i => i.seq)
}

const answers = (jobId: string, seqs: number[]) => JSON.stringify(seqs.map(seq => ({ job_id: jobId, seq, state: 'sent', result: null, reason: null })))

/**
 * Resolves once `query` (running on `db`) is either done or waiting for a lock another session
 * holds: the moment to commit that other session. `db` must not be in a transaction (a
 * transaction sees pg_stat_activity as it was when first read).
 */
async function doneOrWaitingForLock (db: pg.Client, pid: number, query: Promise<unknown>): Promise<void> {
  let settled = false
  query.then(() => { settled = true }, () => { settled = true })
  while (!settled) {
    const { rows } = await db.query('select wait_event_type from pg_stat_activity where pid = $1', [pid])
    if (rows[0]?.wait_event_type === 'Lock') return
    await new Promise(resolve => setImmediate(resolve))
  }
}

async function pidOf (db: pg.Client): Promise<number> {
  return (await db.query('select pg_backend_pid() as pid')).rows[0].pid
}

async function statusOf (db: pg.Client, jobId: string): Promise<string> {
  const { rows } = await db.query('select status from jobs where id = $1', [jobId])
  return rows[0].status
}

/** Three sessions on a fresh database (two workers and one that watches them) and a job of two items. */
async function twoSessions (t: Test, kind: string) {
  const url = await migratedDatabase(t)
  const [a, b, watcher] = [await connect(t, url), await connect(t, url), await connect(t, url)]
  const jobId = randomUUID()
  await a.query('select job_create($1, $2)', [JSON.stringify({ id: jobId, kind, spec: {} }), JSON.stringify([{ n: 0 }, { n: 1 }])])
  /**
   * `first` runs on a inside a transaction; then `second` starts on b before a commits, and a
   * commits once b is done or waits for a lock a holds. Answers both results.
   */
  async function interleave<A, B> (first: (db: pg.Client) => Promise<A>, second: (db: pg.Client) => Promise<B>): Promise<[A, B]> {
    await a.query('begin')
    const firstResult = await first(a)
    const bPid = await pidOf(b)
    const secondResult = second(b)
    await doneOrWaitingForLock(watcher, bPid, secondResult)
    await a.query('commit')
    return [firstResult, await secondResult]
  }
  return { a, b, jobId, interleave }
}

const complete = (worker: string, jobId: string, seq: number) => async (db: pg.Client) =>
  (await db.query('select job_complete($1, $2) as done', [worker, answers(jobId, [seq])])).rows[0].done

t.test('two workers answering a job\'s last items at once: the job still ends (each saw the other\'s item as claimed)', async t => {
  const { a, b, jobId, interleave } = await twoSessions(t, 'test.race')
  t.same(await claim(a, 'test.race', 'a', 1), [0])
  t.same(await claim(b, 'test.race', 'b', 1), [1])
  // a records its answer and, before it commits, b records its own: neither transaction sees the
  // other's item as answered when it looks whether the job is done.
  const [aDone, bDone] = await interleave(complete('a', jobId, 0), complete('b', jobId, 1))
  t.same(aDone, [], 'a: item 1 is still claimed')
  t.same(bDone, [jobId], 'b saw the job end')
  t.equal(await statusOf(a, jobId), 'completed')
})

t.test('a stop and the last answer at once: the job ends stopped', async t => {
  const { a, jobId, interleave } = await twoSessions(t, 'test.stoprace')
  t.same(await claim(a, 'test.stoprace', 'a', 1), [0])
  const [aDone, progress] = await interleave(complete('a', jobId, 0), async db => (await db.query('select job_stop($1, $2) as p', [jobId, 'stopped by a test'])).rows[0].p)
  t.same(aDone, [], 'a: item 1 is still pending')
  t.match(progress, { status: 'stopped', sent: 1, stopped: 1 })
  t.equal(await statusOf(a, jobId), 'stopped')
})

t.test('a job left running with every item answered (by the old race) ends when its progress is read', async t => {
  const url = await migratedDatabase(t)
  const db = await connect(t, url)
  const jobId = randomUUID()
  await db.query('select job_create($1, $2)', [JSON.stringify({ id: jobId, kind: 'test.stuck', spec: {} }), JSON.stringify([{ n: 0 }])])
  // What the race left behind: the item answered, the job still running.
  await db.query('update job_items set state = \'sent\' where job_id = $1', [jobId])
  t.equal(await statusOf(db, jobId), 'running')
  t.match((await db.query('select job_progress($1) as p', [jobId])).rows[0].p, { status: 'completed', sent: 1, pending: 0, in_flight: 0 })
  t.equal(await statusOf(db, jobId), 'completed')
})
