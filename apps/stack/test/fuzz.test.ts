/**
 * Fuzzing every operation of the gateway's OpenAPI document (so a service that lands later is
 * covered without touching this file) with bad and odd input, against the whole stack in this
 * process. Seeded: FUZZ_SEED=<n> replays a run; every failure prints its seed and request.
 *
 * What must hold for every request: no 5xx, an answer within the deadline, every 4xx in our
 * envelope {statusCode, code, error, message, requestId} with validation messages naming the
 * field, no row written for a request we refused, and nothing the database refused to store.
 * Besides the drawn cases, every string field is also set to each of the names an object lookup
 * finds on Object.prototype (constructor, __proto__, ...), deterministically.
 */
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ADMIN_TOKEN, API_TOKEN, LOG_TABLES, admin, send, seeded, startStack, type Reply } from './helper.ts'
import { fuzzCase, operations, prototypeCases, variantCount, type FuzzCase, type Operation } from './openapi-fuzz.ts'

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31)
/**
 * About this many fuzz requests in all, spread over the operations: 1,500 in the test command (a
 * new seed each run, so runs add up), FUZZ_REQUESTS=<n> for a deeper run.
 */
const TARGET_REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 1500)
const SCALE = TARGET_REQUESTS / 3000
const PER_OPERATION = { min: Math.max(5, Math.round(40 * SCALE)), max: Math.max(10, Math.round(250 * SCALE)) }
const CONCURRENCY = 8
const REQUEST_TIMEOUT_MS = 15_000
/** The services' body limit (service-kit); bigger bodies must get a 413, not a 500 or a hang. */
const BODY_LIMIT = 10 * 1024 * 1024
/** The whole run, every phase: generous for a shared two-core machine. */
const BUDGET_MS = 150_000
const MAX_REPORTED = 25

t.comment(`fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`)

const isAdminMutation = (op: Operation) => op.auth === 'admin' && op.method !== 'GET'
const isReset = (op: Operation) => op.method !== 'GET' && op.path.endsWith('/reset')
const tokenFor = (op: Operation): Record<string, string> =>
  op.auth === 'admin' ? { authorization: `Bearer ${ADMIN_TOKEN}` } : op.auth === 'api' ? { authorization: `Bearer ${API_TOKEN}` } : {}

interface Outcome { c: FuzzCase, id: string, res?: Reply, error?: string }

function describe (o: Outcome): string {
  const body = o.c.body === undefined ? '(none)' : o.c.body.length > 300 ? `${String(o.c.body).slice(0, 300)}… (${o.c.body.length} bytes)` : String(o.c.body)
  const answer = o.res ? `${o.res.status} ${o.res.text.slice(0, 400)}` : `no answer: ${o.error}`
  return `seed ${SEED}, ${o.id} [${o.c.kind}]\n  ${o.c.method} ${o.c.url.slice(0, 300)}\n  headers ${JSON.stringify(o.c.headers)}\n  body ${body}\n  → ${answer}`
}

/** What is wrong with an answer, if anything. */
function problem (o: Outcome): string | undefined {
  const { res, c } = o
  if (!res) return 'no answer'
  if (res.status >= 500) return '5xx'
  if (res.status < 400) return undefined
  const b = res.body
  if (!b || typeof b !== 'object') return 'a 4xx that is not JSON'
  if (b.statusCode !== res.status) return 'envelope statusCode differs from the HTTP status'
  if (typeof b.code !== 'string' || !/^[A-Z][A-Z0-9]*_[A-Z0-9_]+$/.test(b.code)) return 'envelope code missing or not <SERVICE>_<REASON>'
  if (typeof b.error !== 'string' || !b.error) return 'envelope error missing'
  if (typeof b.message !== 'string' || !b.message) return 'envelope message missing'
  if (b.requestId !== o.id) return 'envelope requestId is not the request id'
  if (b.code.endsWith('_INVALID_REQUEST')) {
    // The field the case broke, or (when the generated request was already off elsewhere) some
    // other field by its path; "body must be object" names the body itself.
    const names = c.field === undefined
      ? /^(body|querystring|params|headers)\b/.test(b.message)
      : b.message.includes(c.field) || /^(body|querystring|params|headers)\/\S/.test(b.message) || /^(body|querystring|params|headers) must be /.test(b.message)
    if (!names) return c.field ? `validation message does not name ${c.field}` : 'validation message names no field'
  }
  return undefined
}

t.test('every operation in the OpenAPI document, fuzzed', async t => {
  const started = Date.now()
  // The auth checks below send hundreds of wrong tokens from one address: the failed-attempt limit
  // (its own test is in apps/gateway/test/auth-limit.test.ts) would turn their 401s into 429s.
  const { call, gatewayUrl, stack, env } = await startStack(t, { EMAIL_LATENCY_MS: '0-0', EMAIL_SUCCESS_RATE: '1', AUTH_FAILURE_LIMIT: '0' })
  const log = stack.shared.activityLog

  // Every service instant and always successful: any failure left is the input's doing.
  const settings = await call('GET', '/api/admin/settings/mock-mode', undefined, admin)
  const services = Object.keys(settings.body.services)
  async function baseline (): Promise<void> {
    for (const s of services) {
      const patch = await call('PATCH', `/api/admin/settings/services/${s}`, { simulation: { latency_ms: { min: 0, max: 0 }, success_rate: 1, seed: null, scenario: 'none' }, fallback: false }, admin)
      if (patch.status !== 200) throw new Error(`could not set ${s}'s simulation: ${patch.text}`)
    }
    await call('POST', '/api/admin/settings/mock-mode', { mock_mode: true }, admin)
    if (services.includes('zoom')) await call('POST', '/api/admin/settings/mock-mode', { mock_mode: true, service: 'zoom' }, admin)
  }
  await baseline()

  const doc = (await call('GET', '/docs/json')).body
  const ops = operations(doc)
  t.ok(ops.length >= 10, `${ops.length} operations in the document`)
  t.comment(`services: ${services.join(', ')}; operations: ${ops.length}`)
  for (const op of ops) {
    if (op.path.startsWith('/api/') && !op.path.startsWith('/api/webhooks/')) t.not(op.auth, 'none', `${op.method} ${op.path} declares its token`)
  }

  const rng = seeded(SEED)
  const perOp = (op: Operation) => Math.max(PER_OPERATION.min, Math.min(PER_OPERATION.max, Math.ceil(TARGET_REQUESTS / ops.length), Math.ceil(variantCount(op) * 4 * SCALE)))
  let n = 0
  const makeCases = (list: Operation[]) => list.flatMap(op => Array.from({ length: perOp(op) }, (_x, i) => ({ c: fuzzCase(op, rng, i, { maxBodyBytes: BODY_LIMIT }), id: `fuzz-${SEED}-${n++}` })))

  async function run (o: { c: FuzzCase, id: string }): Promise<Outcome> {
    const headers = { ...tokenFor(o.c.op), ...o.c.headers, 'x-request-id': o.id }
    try {
      return { ...o, res: await send({ method: o.c.method, url: gatewayUrl + o.c.url, headers, body: o.c.body, timeoutMs: REQUEST_TIMEOUT_MS }) }
    } catch (err) {
      return { ...o, error: (err as Error).message }
    }
  }

  const failures = new Map<string, Outcome[]>()
  const statuses = new Map<number, number>()
  const note = (o: Outcome) => {
    if (o.res) statuses.set(o.res.status, (statuses.get(o.res.status) ?? 0) + 1)
    const p = problem(o)
    if (p) failures.set(p, [...(failures.get(p) ?? []), o])
  }

  // Phase 1: everything but the admin writes, concurrently.
  const before: Record<string, number> = {}
  for (const table of LOG_TABLES) before[table] = await log.count(table)
  const phase1 = [
    ...makeCases(ops.filter(op => !isAdminMutation(op))),
    ...ops.filter(op => !isAdminMutation(op)).flatMap(op => prototypeCases(op, rng)).map(c => ({ c, id: `fuzz-${SEED}-${n++}` }))
  ]
  const outcomes: Outcome[] = []
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < phase1.length && Date.now() - started < BUDGET_MS) {
      const o = await run(phase1[next++]!)
      outcomes.push(o)
      note(o)
    }
  }))
  t.equal(outcomes.length, phase1.length, `phase 1 (concurrent): ${outcomes.length} requests within the time budget`)

  // Phase 2: the admin writes, one at a time, back to the baseline after any that was accepted;
  // a refused one changes no setting. (Resets come last: they clear the logs on purpose.)
  const phase2 = makeCases(ops.filter(op => isAdminMutation(op) && !isReset(op)))
  let settingsUntouched = 0
  for (const o of phase2) {
    if (Date.now() - started > BUDGET_MS) break
    const changesBefore = await log.count('settings_changes')
    const out = await run(o)
    outcomes.push(out)
    note(out)
    if (out.res && out.res.status < 300) await baseline()
    else if (out.res && out.res.status >= 400) {
      const changesAfter = await log.count('settings_changes')
      if (changesAfter !== changesBefore) failures.set('a refused admin write changed a setting', [...(failures.get('a refused admin write changed a setting') ?? []), out])
      else settingsUntouched++
    }
  }
  t.comment(`phase 2: ${phase2.length} admin writes, ${settingsUntouched} refused without changing a setting`)

  // No row for a refused request; every row written belongs to an accepted one.
  await log.flush(30_000)
  const rejected = outcomes.filter(o => o.res && o.res.status >= 400 && !String(o.res.body?.code).includes('_PROVIDER_')).map(o => o.id)
  const accepted = outcomes.filter(o => o.res && o.res.status < 400).map(o => o.id)
  const countFor = async (ids: string[]) => {
    let total = 0
    for (const table of LOG_TABLES) for (let i = 0; i < ids.length; i += 500) total += await log.count(table, { request_id: { in: ids.slice(i, i + 500) } })
    return total
  }
  const rowsForRejected = await countFor(rejected)
  t.equal(rowsForRejected, 0, `no row for any of the ${rejected.length} refused requests`)
  if (rowsForRejected > 0) {
    const byId = new Map(outcomes.map(o => [o.id, o]))
    for (const table of LOG_TABLES) {
      for (let i = 0; i < rejected.length; i += 500) {
        for (const row of await log.select(table, { where: { request_id: { in: rejected.slice(i, i + 500) } }, limit: 5 })) {
          t.comment(`${table} row ${JSON.stringify(row).slice(0, 300)}\n  for ${describe(byId.get(String(row.request_id))!)}`)
        }
      }
    }
  }
  let delta = 0
  for (const table of LOG_TABLES) delta += await log.count(table) - before[table]!
  const providerRefusals = outcomes.filter(o => String(o.res?.body?.code).includes('_PROVIDER_')).map(o => o.id)
  t.equal(delta, await countFor([...accepted, ...providerRefusals]), `every one of the ${delta} new rows belongs to an accepted request`)
  const rejectedFile = join(env.SWITCHBOARD_DATA_DIR!, 'activity-log.spill.jsonl.rejected')
  t.notOk(existsSync(rejectedFile), 'the database refused no row')
  if (existsSync(rejectedFile)) {
    const byId = new Map(outcomes.map(o => [o.id, o]))
    for (const line of readFileSync(rejectedFile, 'utf8').split('\n').filter(Boolean).slice(0, 5)) {
      const op = JSON.parse(line)
      const requestId = op.row?.request_id ?? op.patch?.request_id
      t.comment(`refused by the database: ${line.slice(0, 400)}${byId.has(requestId) ? `\n  written for ${describe(byId.get(requestId)!)}` : ''}`)
    }
  }

  // Phase 3: the resets, with junk.
  for (const o of makeCases(ops.filter(isReset))) {
    const out = await run(o)
    outcomes.push(out)
    note(out)
  }

  // Tokens: every authenticated operation, without a token, with a wrong one, and (admin) with the
  // API token; and path spellings that route the same must not get past the check.
  let authChecks = 0
  for (const op of ops.filter(op => op.auth !== 'none')) {
    const url = op.path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000')
    const headerSets: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong-token-wrong-token' }, { authorization: `Basic ${Buffer.from(`x:${API_TOKEN}`).toString('base64')}` }, { authorization: `bearer ${API_TOKEN}x` }]
    if (op.auth === 'admin') headerSets.push({ authorization: `Bearer ${API_TOKEN}` })
    const encodeAt = (u: string, at: number) => `${u.slice(0, at)}%${u.charCodeAt(at).toString(16)}${u.slice(at + 1)}`
    const spellings = [url, encodeAt(url, 1), encodeAt(url, 5), `${url}/`, url.toUpperCase(), `/${url}`, url.replace('/api/', '/api//')]
    for (const headers of headerSets) {
      for (const path of headers === headerSets[0] ? spellings : [url]) {
        const id = `auth-${SEED}-${authChecks++}`
        const res = await send({ method: op.method, url: gatewayUrl + path, headers: { ...headers, 'x-request-id': id, ...(op.body ? { 'content-type': 'application/json' } : {}) }, body: op.body ? '{}' : undefined }).catch(err => ({ error: (err as Error).message }))
        const o: Outcome = { c: { op, kind: `auth ${JSON.stringify(headers)}`, method: op.method, url: path, headers }, id, ...('error' in res ? { error: res.error } : { res }) }
        outcomes.push(o)
        note(o)
        if (o.res && o.res.status < 400) failures.set('authenticated route answered without the right token', [...(failures.get('authenticated route answered without the right token') ?? []), o])
        if (path === url && o.res && o.res.status !== 401) failures.set('no 401 without the right token', [...(failures.get('no 401 without the right token') ?? []), o])
      }
    }
  }
  t.comment(`auth: ${authChecks} requests without the right token`)

  const elapsed = Date.now() - started
  t.comment(`${outcomes.length} requests in ${(elapsed / 1000).toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`)
  for (const [p, list] of failures) {
    t.fail(`${p}: ${list.length} request(s)`)
    for (const o of list.slice(0, Math.max(1, Math.floor(MAX_REPORTED / failures.size)))) t.comment(describe(o))
  }
  t.equal(failures.size, 0, 'every answer as it should be')
  t.ok(outcomes.length >= 1000, `${outcomes.length} requests in all`)
  t.ok(elapsed < BUDGET_MS + 30_000, `within the time budget (${elapsed} ms)`)
})
