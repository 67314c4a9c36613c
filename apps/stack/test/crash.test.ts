/**
 * Acknowledged means stored, proven with SIGKILL: the whole stack runs as a real child process, a
 * steady stream of single sends of four services goes through the gateway, and the child is killed
 * at a random moment (after a random number of answers), then started again on the same data
 * folder or database. After the last restart every send that got a 2xx must have its row. The
 * same with the database cut off before the kill: those sends were acknowledged from the journal.
 */
import t, { type Test } from 'tap'
import { createTestDatabase } from '@switchboard/activity-log/testing'
import { ADMIN_TOKEN, API_TOKEN, seeded, send, stackEnv, startStackProcess, tcpProxy, type Reply } from './helper.ts'

// Real processes killed and restarted several times: longer than tap's default 120 s per file on a busy machine.
t.setTimeout(420_000)

// Three kills per backend (and three more with the database cut off): each round starts a whole stack.
const ROUNDS = 3
const WORKERS = 8
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 100_000)

/** One send of each service, through the gateway: what is acknowledged names its row by service and id. */
const SENDS = [
  { service: 'email', path: '/api/automation/trigger/email', body: (i: number) => ({ to_email: `deliver+${i}@example.com`, subject: `Crash ${i}`, content: `<p>${i}</p>` }) },
  { service: 'whatsapp', path: '/api/automation/trigger/whatsapp', body: (i: number) => ({ to_number: `+9198${String(i).padStart(8, '0')}`, template_name: 'order_confirmation', params: ['Asha', `#${i}`] }) },
  { service: 'payments', path: '/api/admin/payment-links', body: (i: number) => ({ amount: 100 + (i % 1000), purpose: `Crash ${i}`, buyer_name: 'Asha Rao', email: 'asha@example.com' }) },
  { service: 'voice', path: '/api/automation/trigger/call', body: (i: number) => ({ to_number: `+9197${String(i).padStart(8, '0')}`, script_id: 'appointment_reminder' }) }
] as const

interface Acked { service: string, id: string, round: number }

/**
 * Sends from WORKERS loops until stop(); every 2xx is recorded with the id it named. `onAck`
 * sees each acknowledgement as it comes (the test kills on a count, not on the clock).
 */
function stream (gatewayUrl: string, round: number, acked: Acked[], onAck: (n: number) => void) {
  let stopped = false
  let n = 0
  let mine = 0
  const refused: string[] = []
  const workers = Array.from({ length: WORKERS }, async () => {
    while (!stopped) {
      const i = round * 1_000_000 + n++
      const s = SENDS[i % SENDS.length]!
      const headers: Record<string, string> = { authorization: `Bearer ${s.service === 'payments' ? ADMIN_TOKEN : API_TOKEN}`, 'content-type': 'application/json' }
      let res: Reply
      try {
        res = await send({ method: 'POST', url: gatewayUrl + s.path, headers, body: JSON.stringify(s.body(i)), timeoutMs: 10_000 })
      } catch {
        continue // the connection died with the process: not acknowledged
      }
      if (res.status >= 200 && res.status < 300) {
        acked.push({ service: s.service, id: String(res.body.id), round })
        onAck(++mine)
      } else if (!stopped) refused.push(`${res.status} ${res.text.slice(0, 200)}`)
    }
  })
  return { refused, stop: async () => { stopped = true; await Promise.all(workers) } }
}

/** Every acknowledged send's row, looked up through the restarted stack's own admin API. */
async function missing (gatewayUrl: string, acked: Acked[]): Promise<Acked[]> {
  const absent: Acked[] = []
  let next = 0
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < acked.length) {
      const a = acked[next++]!
      const res = await send({ method: 'GET', url: `${gatewayUrl}/api/admin/journal/${a.service}/${a.id}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      if (res.status !== 200 || res.body?.row?.id !== a.id) absent.push(a)
    }
  }))
  return absent
}

async function crashRounds (t: Test, opts: { databaseUrl?: string, cut?: { cut: () => void, restore: () => void }, rounds: number }) {
  const random = seeded(SEED)
  // On the embedded database its upkeep (checkpoints, vacuums) looks every 50 ms instead of 10 s,
  // so kills land during checkpoints and vacuums too.
  const env = await stackEnv(t, opts.databaseUrl ? {} : { SWITCHBOARD_PGLITE_UPKEEP_MS: '50' }, { child: true, database: opts.databaseUrl ?? 'embedded', latencyMs: '0-5' })
  const gatewayUrl = `http://127.0.0.1:${env.GATEWAY_PORT}`
  const acked: Acked[] = []
  for (let round = 0; round < opts.rounds; round++) {
    const stack = await startStackProcess(t, env, 120_000)
    // Killed after a random number of acknowledged sends: at a random point of the stream.
    const killAfter = 40 + Math.floor(random() * 160)
    const cutAfter = opts.cut ? Math.floor(killAfter / 2) : Infinity
    let killed: (() => void) | undefined
    const kill = new Promise<void>(resolve => { killed = resolve })
    let ackedAtCut = 0
    const load = stream(gatewayUrl, round, acked, n => {
      if (n === cutAfter) {
        opts.cut!.cut()
        ackedAtCut = n
      }
      if (n === killAfter) killed!()
    })
    await kill
    await stack.kill('SIGKILL')
    await load.stop()
    t.same(load.refused, [], `round ${round + 1}: nothing refused before the kill`)
    if (opts.cut) {
      t.ok(killAfter - ackedAtCut > 0, `round ${round + 1}: ${killAfter - ackedAtCut} sends acknowledged while the database was cut off`)
      opts.cut.restore()
    }
  }
  t.comment(`seed ${SEED} (CRASH_SEED replays it): ${acked.length} sends acknowledged over ${opts.rounds} SIGKILLs`)

  const last = await startStackProcess(t, env, 120_000)
  const absent = await missing(gatewayUrl, acked)
  t.same(absent, [], `every one of the ${acked.length} acknowledged sends has its row after the restart`)
  t.notOk(/could not (write|read) the journal/.test(last.output()), 'the journal was written and read', { output: last.output().slice(-2000) })
  await last.terminate()
}

t.test(`SIGKILL during a stream of sends, ${ROUNDS} times, embedded database: every acknowledged send is stored`, async t => {
  await crashRounds(t, { rounds: ROUNDS })
})

t.test(`SIGKILL during a stream of sends, ${ROUNDS} times, PostgreSQL: every acknowledged send is stored`, { skip: !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL (a PostgreSQL server)' }, async t => {
  await crashRounds(t, { rounds: ROUNDS, databaseUrl: await createTestDatabase(t) })
})

t.test('SIGKILL with PostgreSQL cut off: sends acknowledged from the journal are stored after the restart', { skip: !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL (a PostgreSQL server)' }, async t => {
  const databaseUrl = await createTestDatabase(t)
  const direct = new URL(databaseUrl)
  const proxy = await tcpProxy(direct.hostname, Number(direct.port))
  t.teardown(() => proxy.close())
  const viaProxy = new URL(databaseUrl)
  viaProxy.port = String(proxy.port)
  await crashRounds(t, { rounds: 3, databaseUrl: viaProxy.toString(), cut: proxy })
})
