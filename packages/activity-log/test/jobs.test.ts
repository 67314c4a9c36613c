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

/** A statement's first row, or the error it failed with (SQLSTATE and message) instead of a throw. */
function outcome (query: Promise<pg.QueryResult>): Promise<{ row?: unknown, error?: string }> {
  return query.then(r => ({ row: r.rows[0] }), (err: Error & { code?: string }) => ({ error: `${err.code} ${err.message}` }))
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

t.test('a stop that reads its progress while a worker answering two jobs waits for it: no deadlock', async t => {
  const url = await migratedDatabase(t)
  const [stopper, worker, other, watcher] = [await connect(t, url), await connect(t, url), await connect(t, url), await connect(t, url)]
  const [first, second] = [randomUUID(), randomUUID()].sort() as [string, string] // the job rows are locked in id order
  await other.query('select job_create($1, $2)', [JSON.stringify({ id: first, kind: 'test.deadlock', spec: {} }), JSON.stringify([{ n: 0 }, { n: 1 }])])
  await other.query('update jobs set created_at = created_at - interval \'1 second\' where id = $1', [first]) // claimed first
  await other.query('select job_create($1, $2)', [JSON.stringify({ id: second, kind: 'test.deadlock', spec: {} }), JSON.stringify([{ n: 0 }])])
  t.same(await claim(other, 'test.deadlock', 'dead', 1), [0], 'a worker that will die holds the first job\'s item 0')
  const held = (await other.query('select job_claim($1, $2, 2, 60000) as c', ['test.deadlock', 'worker'])).rows[0].c.items.map((i: { job_id: string, seq: number }) => `${i.job_id === first ? 'first' : 'second'}#${i.seq}`)
  t.same(held, ['first#1', 'second#0'], 'the live worker holds an item of each job')

  // The stop holds the second job's row until it commits.
  await stopper.query('begin')
  await stopper.query('select job_stop($1, $2)', [second, 'stopped by a test'])
  // Meanwhile the dead worker's lease runs out, and the live worker records both answers: it locks
  // the first job's row and waits for the second's.
  await other.query('update job_items set lease_until = now() - interval \'1 second\' where claimed_by = \'dead\'')
  const workerPid = await pidOf(worker)
  const answered = outcome(worker.query('select job_complete($1, $2) as done', ['worker', JSON.stringify([
    { job_id: first, seq: 1, state: 'sent', result: null, reason: null },
    { job_id: second, seq: 0, state: 'sent', result: null, reason: null }
  ])]))
  await doneOrWaitingForLock(watcher, workerPid, answered)
  // The stop's session reads its progress (as job_stop itself does). Expiring the first job's claim
  // there would wait for the worker: each waiting for the other.
  const progress = await outcome(stopper.query('select job_progress($1) as p', [second]))
  await stopper.query(progress.error ? 'rollback' : 'commit')
  t.equal(progress.error, undefined, 'the stop read its progress')
  t.equal((await answered).error, undefined, 'the worker recorded its answers')
  t.equal(await statusOf(other, second), 'stopped')
  t.match((await other.query('select job_progress($1) as p', [first])).rows[0].p, { status: 'completed_with_errors', sent: 1, unknown: 1 }, 'the dead worker\'s item read unknown')
})
