/**
 * The Supabase backend at the HTTP level, against a fake PostgREST (there is none on this
 * machine): paths, headers, filters and bodies it sends, and how it reads the answers. The full
 * contract runs against a real project when SUPABASE_URL and SUPABASE_SERVICE_KEY are set.
 */
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import { createActivityLog, isPermanentError, type Row } from '../src/index.ts'
import { createSupabaseBackend } from '../src/backends/supabase.ts'
import { backendContract } from './backend.contract.ts'

interface Seen {
  method: string
  path: string
  query: URLSearchParams
  headers: Record<string, string | string[] | undefined>
  body: unknown
}

const KEY = 'service-role-key-for-tests'

async function fakePostgrest (t: Test) {
  const seen: Seen[] = []
  const replies: Array<{ status: number, body?: unknown, headers?: Record<string, string> }> = []
  let rows: Row[] = []
  const app = Fastify()
  // supabase-js sends DELETE with a JSON content type and no body, as PostgREST accepts.
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, body === '' ? undefined : JSON.parse(body as string))
    } catch (err) {
      done(err as Error)
    }
  })
  app.addHook('onRequest', async req => {
    const url = new URL(req.url, 'http://fake')
    seen.push({ method: req.method, path: url.pathname, query: url.searchParams, headers: req.headers, body: undefined })
  })
  app.addHook('preHandler', async req => {
    seen.at(-1)!.body = req.body
  })
  app.get('/rest/v1/', async () => ({
    swagger: '2.0',
    definitions: {
      payments: {
        properties: {
          id: { format: 'uuid', type: 'string' },
          amount: { format: 'numeric', type: 'number' },
          status: { format: 'text', type: 'string' },
          created_at: { format: 'timestamp with time zone', type: 'string' }
        }
      }
    }
  }))
  app.route({
    method: ['GET', 'POST', 'PATCH', 'DELETE'],
    url: '/rest/v1/:table',
    handler: async (req, reply) => {
      const next = replies.shift()
      if (next !== undefined) return reply.code(next.status).headers(next.headers ?? {}).send(next.body)
      if (req.method === 'GET' || req.method === 'HEAD') return reply.header('content-range', `0-${rows.length - 1}/7`).send(rows)
      if (req.method === 'POST') return reply.code(201).send()
      return reply.code(204).header('content-range', '*/3').send()
    }
  })
  app.post('/rest/v1/rpc/:fn', async req => ({ fn: (req.params as { fn: string }).fn, got: req.body }))
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const backend = createSupabaseBackend({ url, serviceKey: KEY })
  t.teardown(() => backend.close())
  return {
    backend,
    app,
    seen,
    replies,
    setRows: (r: Row[]) => { rows = r },
    requests: (method: string, path: string) => seen.filter(s => s.method === method && s.path === path)
  }
}

function prefer (s: Seen): string[] {
  return String(s.headers.prefer ?? '').split(/\s*,\s*/).filter(Boolean).sort()
}

t.test('every request carries the service key', async t => {
  const fake = await fakePostgrest(t)
  await fake.backend.count('email_logs')
  const [req] = fake.seen
  t.equal(req?.headers.apikey, KEY)
  t.equal(req?.headers.authorization, `Bearer ${KEY}`)
})

t.test('works on a Node without a global WebSocket (Node 20, which the npm package supports)', async t => {
  // supabase-js builds its Realtime client in createClient and, finding no WebSocket, threw.
  const webSocket = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket')
  delete (globalThis as { WebSocket?: unknown }).WebSocket
  t.teardown(() => { if (webSocket) Object.defineProperty(globalThis, 'WebSocket', webSocket) })
  const fake = await fakePostgrest(t)
  t.equal(await fake.backend.count('email_logs'), 7, 'and reads through the REST API as ever')
})

t.test('insert: one POST per batch, duplicates ignored, missing columns defaulted, nothing echoed', async t => {
  const fake = await fakePostgrest(t)
  const rows = [
    { id: 'a', mode: 'mock', to_email: 'a@example.com', status: 'sent' },
    { id: 'b', mode: 'mock', to_email: 'b@example.com', status: 'sent', subject: 'hi' }
  ]
  await fake.backend.insert('email_logs', rows)
  const [req, ...more] = fake.requests('POST', '/rest/v1/email_logs')
  t.equal(more.length, 0)
  t.same(req?.body, rows)
  t.equal(req?.query.get('on_conflict'), 'id')
  t.same(prefer(req!), ['missing=default', 'resolution=ignore-duplicates', 'return=minimal'])

  await fake.backend.insert('settings', [{ key: 'mode.email', value: 'mock' }])
  t.equal(fake.requests('POST', '/rest/v1/settings')[0]?.query.get('on_conflict'), 'key', 'settings are keyed by name')

  await fake.backend.insert('email_logs', [])
  t.equal(fake.requests('POST', '/rest/v1/email_logs').length, 1, 'no request for no rows')
})

t.test('an ActivityLog of 1,000 records sends two multi-row requests, not 1,000', async t => {
  const fake = await fakePostgrest(t)
  const log = createActivityLog({ backend: fake.backend, logger: { info () {}, warn () {}, error () {} } })
  for (let i = 0; i < 1000; i++) log.record('call_logs', { mode: 'mock', to_number: String(i), status: 'queued' })
  await log.flush()
  const posts = fake.requests('POST', '/rest/v1/call_logs')
  t.same(posts.map(p => (p.body as Row[]).length), [500, 500])
  t.ok(posts.every(p => (p.body as Row[]).every(r => typeof r.id === 'string')), 'ids generated by the writer')
  await log.close()
})

t.test('upsert: merge on the conflict columns', async t => {
  const fake = await fakePostgrest(t)
  await fake.backend.upsert('settings', [{ key: 'mode.email', value: 'live' }], ['key'])
  const [req] = fake.requests('POST', '/rest/v1/settings')
  t.equal(req?.query.get('on_conflict'), 'key')
  t.same(prefer(req!), ['missing=default', 'resolution=merge-duplicates', 'return=minimal'])
})

t.test('filters: every operator becomes its PostgREST filter', async t => {
  const fake = await fakePostgrest(t)
  const changed = await fake.backend.update('email_logs', {
    status: 'queued',
    fallback: false,
    error: null,
    id: { in: ['a', 'b,c'] },
    latency_ms: { gte: 10 },
    created_at: { lt: '2026-01-01T00:00:00Z' },
    mode: { neq: 'live' }
  }, { status: 'sent' })
  t.equal(changed, 3, 'the count PostgREST reports')
  const [req] = fake.requests('PATCH', '/rest/v1/email_logs')
  t.same(Object.fromEntries(req!.query), {
    status: 'eq.queued',
    fallback: 'eq.false',
    error: 'is.null',
    id: 'in.(a,"b,c")',
    latency_ms: 'gte.10',
    created_at: 'lt.2026-01-01T00:00:00Z',
    mode: 'neq.live'
  })
  t.same(req?.body, { status: 'sent' })
  t.same(prefer(req!), ['count=exact', 'return=minimal'])

  await fake.backend.count('email_logs', { latency_ms: { lte: 5 }, status: { gt: 'a' } })
  t.same(Object.fromEntries(fake.seen.at(-1)!.query), { select: '*', latency_ms: 'lte.5', status: 'gt.a' })

  await t.rejects(fake.backend.update('email_logs', { status: { like: 'x' } } as never, { status: 'y' }), /invalid condition/)
  await t.rejects(fake.backend.update('email_logs', { 'a;b': 1 }, { status: 'y' }), /invalid identifier/)
})

t.test('update and delete without a filter still name one (PostgREST refuses unfiltered writes)', async t => {
  const fake = await fakePostgrest(t)
  t.equal(await fake.backend.delete('email_logs', {}), 3)
  t.equal(await fake.backend.update('settings', {}, { updated_by: 'x' }), 3)
  t.equal(fake.requests('DELETE', '/rest/v1/email_logs')[0]?.query.get('id'), 'not.is.null')
  t.same(prefer(fake.requests('DELETE', '/rest/v1/email_logs')[0]!), ['count=exact', 'return=minimal'])
  t.equal(fake.requests('PATCH', '/rest/v1/settings')[0]?.query.get('key'), 'not.is.null')
})

t.test('select: columns from the schema, numeric as text, timestamps in UTC, order and range', async t => {
  const fake = await fakePostgrest(t)
  fake.setRows([
    { id: 'p1', amount: '100.50', status: 'paid', created_at: '2026-11-24T03:52:00.5+05:30' },
    { id: 'p2', amount: '0.10', status: 'paid', created_at: '2026-11-23T22:22:00.123456+00:00' }
  ])
  const rows = await fake.backend.select('payments', { where: { status: 'paid' }, orderBy: { column: 'created_at', ascending: false }, limit: 2, offset: 4 })
  t.same(rows, [
    { id: 'p1', amount: '100.50', status: 'paid', created_at: '2026-11-23T22:22:00.5+00:00' },
    { id: 'p2', amount: '0.10', status: 'paid', created_at: '2026-11-23T22:22:00.123456+00:00' }
  ])
  const [req] = fake.requests('GET', '/rest/v1/payments')
  t.same(Object.fromEntries(req!.query), { select: 'id,amount::text,status,created_at', status: 'eq.paid', order: 'created_at.desc', offset: '4', limit: '2' })

  await fake.backend.select('payments')
  await fake.backend.select('email_logs')
  t.equal(fake.requests('GET', '/rest/v1/').length, 1, 'the schema is read once')
  t.equal(fake.requests('GET', '/rest/v1/email_logs')[0]?.query.get('select'), '*', 'a table the schema does not describe')
})

t.test('count: a HEAD request with count=exact', async t => {
  const fake = await fakePostgrest(t)
  t.equal(await fake.backend.count('payments', { status: 'paid' }), 7)
  const [req] = fake.requests('HEAD', '/rest/v1/payments')
  t.same(prefer(req!), ['count=exact'])
  t.equal(req?.query.get('status'), 'eq.paid')
})

t.test('rpc: POST /rest/v1/rpc/<fn> with the arguments as JSON', async t => {
  const fake = await fakePostgrest(t)
  t.same(await fake.backend.rpc('activity_stats', { since: '2026-01-01', modes: ['mock'] }), { fn: 'activity_stats', got: { since: '2026-01-01', modes: ['mock'] } })
  await t.rejects(fake.backend.rpc('drop table'), /invalid identifier/)
})

t.test('errors keep the PostgREST code, so the writer knows what to retry', async t => {
  const fake = await fakePostgrest(t)
  fake.replies.push({ status: 400, body: { code: '23514', message: 'violates check constraint', details: null, hint: null } })
  const rejected = await fake.backend.insert('email_logs', [{ id: 'x' }]).catch((err: unknown) => err)
  t.match(rejected, { code: '23514', message: /supabase insert into email_logs: violates check constraint/ })
  t.ok(isPermanentError(rejected))

  fake.replies.push({ status: 503, body: { code: 'PGRST001', message: 'Database client error' } })
  const unavailable = await fake.backend.insert('email_logs', [{ id: 'x' }]).catch((err: unknown) => err)
  t.match(unavailable, { code: 'PGRST001' })
  t.notOk(isPermanentError(unavailable))

  await fake.app.close()
  const refused = await fake.backend.insert('email_logs', [{ id: 'x' }]).catch((err: unknown) => err)
  t.ok(refused instanceof Error, 'a refused connection rejects')
  t.notOk(isPermanentError(refused))
})

const live = Boolean(process.env.SUPABASE_URL && process.env.SUPABASE_SERVICE_KEY)
t.test('live: the backend contract against a real Supabase project', {
  skip: live ? false : 'set SUPABASE_URL and SUPABASE_SERVICE_KEY to run against a real Supabase project'
}, async t => {
  backendContract(t, async () => ({
    backend: createSupabaseBackend({ url: process.env.SUPABASE_URL!, serviceKey: process.env.SUPABASE_SERVICE_KEY! })
  }))
})
