/**
 * Emulator state outlives the process: the whole stack runs as a child process, is killed with
 * SIGKILL (or stopped with SIGTERM) and started again on the same data, and what the emulators
 * held is still there: Zoom meetings, Instamojo payment requests (the buyer's checkout page works),
 * Bolna executions. Lifecycles in progress carry on: a meeting that falls due while the process is
 * dead starts, a call killed mid-way finishes and posts its remaining statuses. On the embedded
 * PGlite (a data folder) and, with TEST_DATABASE_URL, on PostgreSQL.
 */
import t from 'tap'
import { createTestDatabase } from '@switchboard/activity-log/testing'
import { eventually, startRecorder } from '@switchboard/service-kit/testing'
import { admin, api, send, stackEnv, startStackProcess, type Reply } from './helper.ts'

/** The write-behind bound the README states: a record acknowledged this long ago is stored. */
const LOSS_BOUND_MS = 100

function caller (env: Record<string, string>) {
  return (base: 'GATEWAY' | 'ZOOM' | 'PAYMENTS' | 'VOICE', method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> => send({
    method,
    url: `http://127.0.0.1:${env[`${base}_PORT`]}${path}`,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
}

const BOLNA = { authorization: 'Bearer bn-crash-test-key' }

// Three starts of the whole stack per backend; the embedded database's start is the slow part.
t.setTimeout(400_000)

for (const backend of ['pglite', 'postgres'] as const) {
  t.test(`${backend}: SIGKILL then SIGTERM, and the emulators' state and lifecycles carry on`, { skip: backend === 'postgres' && !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL' }, async t => {
    const hooks = await startRecorder(t)
    const env = await stackEnv(t, {
      // 600x: a meeting minute lasts 100 ms.
      ZOOM_TIME_SCALE: '600',
      ZOOM_WEBHOOK_URL: `${hooks.origin}/zoom`,
      // The kill must come mid-call: after 'ringing' the test makes nine requests and waits the
      // loss bound, which took over 1.2 s (three 400 ms steps) on a loaded CI machine.
      VOICE_CALL_STEP_MS: '1500-1500'
    }, { child: true, database: backend === 'postgres' ? await createTestDatabase(t) : 'embedded' })
    const call = caller(env)
    let stack = await startStackProcess(t, env)

    // --- before the kill: through the gateway, and through each emulator's own API -------------
    const meeting = await call('GATEWAY', 'POST', '/api/zoom/meetings', { topic: 'Kept through a crash', start_time: '2099-01-15T10:00:00Z', duration: 30 }, api)
    t.equal(meeting.status, 201, 'a meeting through the gateway')
    const token = (await call('ZOOM', 'POST', '/zoom/oauth/token?grant_type=account_credentials&account_id=a', undefined, { authorization: `Basic ${Buffer.from('id:secret').toString('base64')}` })).body.access_token as string
    const zoom = { authorization: `Bearer ${token}` }
    const link = await call('GATEWAY', 'POST', '/api/admin/payment-links', { amount: '499.00', purpose: 'Kept through a crash', buyer_name: 'Asha' }, admin)
    t.equal(link.status, 201, 'a payment link through the gateway')
    const agent = (await call('VOICE', 'POST', '/bolna/v2/agent', { agent_config: { agent_name: 'Crash test', webhook_url: `${hooks.origin}/bolna`, tasks: [{ task_type: 'conversation' }] }, agent_prompts: { task_1: { system_prompt: 'Test agent.' } } }, BOLNA)).body.agent_id as string
    const placed = await call('VOICE', 'POST', '/bolna/call', { agent_id: agent, recipient_phone_number: '+919855550100' }, BOLNA)
    t.equal(placed.status, 200, 'a Bolna call placed')
    const executionId = placed.body.execution_id as string
    const statuses = () => hooks.received.filter(r => r.url === '/bolna' && JSON.parse(r.body).id === executionId).map(r => JSON.parse(r.body).status as string)
    // Mid-way: ringing posted, the conversation not yet over.
    await eventually(async () => statuses().includes('ringing'), 10_000)
    // Created just before the kill; the last is due in 20 meeting minutes (2 s): while the process is dead.
    const late = await Promise.all(Array.from({ length: 5 }, (_x, i) => call('ZOOM', 'POST', '/zoom/v2/users/me/meetings', { topic: `Late ${i}`, start_time: '2099-03-01T10:00:00Z' }, zoom)))
    const lateLinks = await Promise.all(Array.from({ length: 3 }, (_x, i) => call('GATEWAY', 'POST', '/api/admin/payment-links', { amount: '10.00', purpose: `Late ${i}` }, admin)))
    const due = (await call('ZOOM', 'POST', '/zoom/v2/users/me/meetings', { topic: 'Due while dead', start_time: new Date(Date.now() + 20 * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'), duration: 10 }, zoom)).body
    t.ok(late.every(r => r.status === 201) && lateLinks.every(r => r.status === 201) && due.id, 'meetings and links created just before the kill')
    // The stated bound: what was acknowledged this long before a crash is stored.
    await new Promise(resolve => setTimeout(resolve, LOSS_BOUND_MS))
    t.same(await stack.kill('SIGKILL'), { code: null, signal: 'SIGKILL' })
    const killedAt = performance.now() // the recorder stamps posts on this clock
    const postedBeforeKill = statuses()
    t.notOk(postedBeforeKill.includes('completed'), `killed mid-call, after ${postedBeforeKill.join(' → ')}`)

    // --- after a restart on the same data ------------------------------------------------------
    stack = await startStackProcess(t, env)
    const id = meeting.body.id as number
    t.match((await call('GATEWAY', 'GET', `/api/zoom/meetings/${id}`, undefined, api)), { status: 200, body: { id, topic: 'Kept through a crash' } }, 'the meeting, through the gateway')
    t.match((await call('ZOOM', 'GET', `/zoom/v2/meetings/${id}`, undefined, zoom)), { status: 200, body: { id, uuid: meeting.body.uuid } }, 'the meeting, from the emulator, with a token issued before the kill')
    const checkout = await send({ method: 'GET', url: link.body.longurl as string })
    t.equal(checkout.status, 200, 'the buyer\'s checkout page opens')
    t.match(checkout.text, 'Kept through a crash')
    t.equal((await call('VOICE', 'GET', `/bolna/v2/agent/${agent}`, undefined, BOLNA)).status, 200, 'the agent')
    for (const m of [due, ...late.map(r => r.body)]) t.equal((await call('ZOOM', 'GET', `/zoom/v2/meetings/${m.id}`, undefined, zoom)).status, 200, `meeting "${m.topic}", acknowledged ${LOSS_BOUND_MS} ms before the kill`)
    for (const l of lateLinks) t.equal((await send({ method: 'GET', url: l.body.longurl as string })).status, 200, `link "${l.body.purpose}", acknowledged ${LOSS_BOUND_MS} ms before the kill: its checkout page`)
    const finished = await eventually(async () => statuses().includes('completed') && statuses(), 30_000)
    // A status posted within the bound before the kill may be posted again after it: Bolna's
    // webhooks are at-least-once too. Every status comes, in order, and the call ends.
    t.same([...new Set(finished)], ['queued', 'initiated', 'ringing', 'in-progress', 'call-disconnected', 'completed'], `the call finished after the restart: ${finished.join(' → ')}`)
    t.equal((await call('VOICE', 'GET', `/bolna/executions/${executionId}`, undefined, BOLNA)).body.status, 'completed')
    const started = await eventually(async () => hooks.received.find(r => r.url === '/zoom' && JSON.parse(r.body).event === 'meeting.started' && JSON.parse(r.body).payload.object.id === String(due.id)), 15_000)
    t.ok(started.at > killedAt, `the meeting that fell due while the process was dead started after the restart (${started.at - killedAt} ms after the kill)`)

    // --- SIGTERM: stopped right after the answers, no wait ------------------------------------
    const second = await call('GATEWAY', 'POST', '/api/zoom/meetings', { topic: 'Kept through a stop', start_time: '2099-02-15T10:00:00Z' }, api)
    const secondLink = await call('GATEWAY', 'POST', '/api/admin/payment-links', { amount: '99.00', purpose: 'Kept through a stop' }, admin)
    t.same(await stack.kill('SIGTERM'), { code: 0, signal: null }, 'a clean stop', { output: stack.output().slice(-2000) })
    stack = await startStackProcess(t, env)
    t.equal((await call('ZOOM', 'GET', `/zoom/v2/meetings/${second.body.id}`, undefined, zoom)).status, 200, 'the meeting created just before SIGTERM')
    t.equal((await call('ZOOM', 'GET', `/zoom/v2/meetings/${id}`, undefined, zoom)).status, 200, 'and the one from before the kill')
    t.equal((await send({ method: 'GET', url: secondLink.body.longurl as string })).status, 200, 'the checkout page of the link created just before SIGTERM')

    // --- reset clears it (in the database: another instance, or the next start, finds nothing) ----
    t.equal((await call('GATEWAY', 'POST', '/api/admin/reset', undefined, admin)).status, 200)
    t.equal((await call('ZOOM', 'GET', `/zoom/v2/meetings/${id}`, undefined, zoom)).status, 404, 'reset forgot the meeting')
    t.equal((await send({ method: 'GET', url: link.body.longurl as string })).status, 404, 'and the link: its checkout page is gone')
    t.equal((await call('VOICE', 'GET', `/bolna/executions/${executionId}`, undefined, BOLNA)).status, 404, 'and the execution')
    await stack.terminate()
  })
}
