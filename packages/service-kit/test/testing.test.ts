/**
 * The test helpers other packages lean on: startProcess (a server as a real child process) and
 * startServiceApp (a service's app on a test database).
 */
import t from 'tap'
import { once } from 'node:events'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServiceApp, type AppOptions } from '../src/server/service-app.ts'
import { CommonEnvSchema, loadEnv, type CommonEnv } from '../src/server/env.ts'
import { freePort, reservePort, startProcess, startServiceApp, type ServiceTestApp } from '../src/testing/testing.ts'

const script = join(import.meta.dirname, 'fixtures/health-child.ts')

t.test('startProcess resolves once /health answers, collects the output, and reports how the process ended', async t => {
  const port = await freePort()
  const a = await startProcess(t, { script, env: { PORT: String(port) }, cwd: import.meta.dirname, healthUrl: `http://127.0.0.1:${port}/health` })
  t.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200, 'answering when it resolves')
  t.match(a.output(), `listening on ${port}`, 'its output is collected')
  t.equal(await a.terminate(), 0, 'terminate: SIGTERM, and the exit code')
  t.match(a.output(), 'stopping', 'its shutdown ran')

  const port2 = await freePort()
  const b = await startProcess(t, { script, env: { PORT: String(port2) }, cwd: import.meta.dirname, healthUrl: `http://127.0.0.1:${port2}/health` })
  t.same(await b.kill(), { code: null, signal: 'SIGKILL' }, 'kill: SIGKILL unless told, resolved once it is gone')
  t.same(await b.exited, { code: null, signal: 'SIGKILL' }, 'and exited says the same')
  t.same(await b.kill('SIGTERM'), { code: null, signal: 'SIGKILL' }, 'killing a process that has exited only reports how it ended')
})

t.test('startProcess fails at once, with the output, when the process exits before it answers', async t => {
  const port = await freePort()
  const started = startProcess(t, { script, env: { PORT: String(port), FAIL_AT_START: 'no database' }, cwd: import.meta.dirname, healthUrl: `http://127.0.0.1:${port}/health`, timeoutMs: 600_000 })
  // The timeout is 10 minutes: a rejection within the test's own timeout came from the exit.
  await t.rejects(started, /did not answer .*\/health \(it exited\): cannot start: no database/)
})

t.test('startProcess kills at teardown what is still running', async t => {
  let pid = 0
  await t.test('a test that leaves its process running', async t => {
    const port = await freePort()
    const p = await startProcess(t, { script, env: { PORT: String(port) }, cwd: import.meta.dirname, healthUrl: `http://127.0.0.1:${port}/health` })
    pid = p.pid
    t.doesNotThrow(() => process.kill(pid, 0), 'running during the test')
  })
  t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'gone once its test has ended')
})

t.test('startServiceApp: the app on a free port with the caller\'s env over the defaults, the internal credential on every call, closed at teardown', async t => {
  let seen: CommonEnv | undefined
  const buildApp = async (opts: AppOptions<CommonEnv>) => {
    seen = opts.env
    const app = await createServiceApp({ ...opts, service: 'email' })
    app.get('/whoami', async request => ({ fromGateway: request.fromGateway }))
    return app
  }
  let started: ServiceTestApp | undefined
  await t.test('a test that starts the app', async t => {
    started = await startServiceApp(t, { service: 'email', buildApp, loadEnv: env => loadEnv(CommonEnvSchema, env), env: { LOG_LEVEL: 'warn' } })
    t.match(started.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    t.equal(seen?.LOG_LEVEL, 'warn', 'the caller\'s env over the defaults')
    t.equal(seen?.SWITCHBOARD_DATA_DIR, started.dataDir, 'the test data folder')
    t.match(await started.call('GET', '/whoami'), { status: 200, body: { fromGateway: true } }, 'calls carry the internal credential')
    t.ok(started.app.server.listening, 'listening during the test')
  })
  t.notOk(started!.app.server.listening, 'closed once its test has ended')
})

t.test('freePort: a port below the ephemeral range, which no outgoing connection or port-0 server takes meanwhile', async t => {
  const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()))
  for (const port of ports) t.ok(port >= 1024 && port < ephemeralLow, `${port} is below ${ephemeralLow}`)
  const server = createServer().listen(ports[0], '127.0.0.1')
  await once(server, 'listening')
  t.equal((server.address() as AddressInfo).port, ports[0], 'and can be listened on')
  await new Promise(resolve => server.close(resolve))
})

t.test('a port freePort gave one test process is not given to another while it lives; a dead holder\'s is taken over', async t => {
  const port = await freePort()
  const holdsIt = (p: number) => new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', `import { reservePort } from ${JSON.stringify(new URL('../src/testing/testing.ts', import.meta.url).href)}; console.log(reservePort(${p}))`], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
    child.once('error', reject)
    child.once('close', () => resolve(out.trim()))
  })
  t.equal(await holdsIt(port), 'false', 'another process cannot reserve it')

  // A reservation left by a process that is gone (killed mid-run) is taken over.
  const dead = spawn(process.execPath, ['-e', ''])
  await once(dead, 'exit')
  const folder = join(tmpdir(), 'switchboard-test-ports')
  mkdirSync(folder, { recursive: true })
  let stale = 20_000
  while (existsSync(join(folder, String(stale)))) stale++ // one no live test process holds
  const file = join(folder, String(stale))
  writeFileSync(file, String(dead.pid))
  t.ok(reservePort(stale), 'a dead process\'s reservation is taken over')
  t.equal(readFileSync(file, 'utf8'), String(process.pid))
})
