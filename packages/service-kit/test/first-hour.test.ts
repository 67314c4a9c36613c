/**
 * The service-kit side of a newcomer's first hour: a bad LOG_LEVEL names the allowed values, the
 * embedded database folder is locked (and a stale lock taken over), logs for a person (one line per
 * request at the level its kind deserves, a failure we answered without a stack trace, a long
 * run's progress), and seeded draws that follow the request, not the order of arrival.
 */
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { acquireFolderLock, DataFolderLockedError } from '../src/server/data-lock.ts'
import { CommonEnvSchema, ConfigError, loadEnv } from '../src/server/env.ts'
import { ServiceError } from '../src/server/errors.ts'
import { pino } from 'pino'
import { logFormat, loggerOptions, prettyStream, progressLog } from '../src/server/logging.ts'
import { createBaseApp } from '../src/server/service-app.ts'
import { Simulator, type SimulationSettings } from '../src/emulator/simulation.ts'
import { eventually } from '../src/testing/testing.ts'

const tempDir = (t: { teardown: (fn: () => void) => void }) => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-first-hour-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('LOG_LEVEL=verbose: the message lists the allowed values, once', async t => {
  const err = (() => { try { loadEnv(CommonEnvSchema, { LOG_LEVEL: 'verbose' }) } catch (e) { return e } })()
  t.ok(err instanceof ConfigError)
  t.equal((err as Error).message, 'Invalid configuration: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "verbose"). Fix the variable in the environment or .env and start again.')
  const two = (() => { try { loadEnv(CommonEnvSchema, { LOG_FORMAT: 'xml', SETTINGS_POLL_MS: '1' }) } catch (e) { return e } })()
  t.match((two as Error).message, /LOG_FORMAT must be one of json, pretty \(got "xml"\); SETTINGS_POLL_MS must be >= 50\./, 'each bad variable once')
})

t.test('the embedded database folder: one process holds it; a second is told which; a dead holder\'s lock is taken over', async t => {
  const dir = tempDir(t)
  const release = acquireFolderLock(dir, 'pglite')
  const held = JSON.parse(readFileSync(join(dir, 'pglite.lock'), 'utf8'))
  t.equal(held.pid, process.pid, 'the lock file names this process')
  t.equal(statSync(join(dir, 'pglite.lock')).mode & 0o777, 0o600, 'owner only, as everything in the data folder')
  const second = (() => { try { acquireFolderLock(dir, 'pglite') } catch (e) { return e } })()
  t.ok(second instanceof DataFolderLockedError, 'a second holder is refused')
  t.match((second as Error).message, new RegExp(`in use by process ${process.pid} .*kill ${process.pid}.*SWITCHBOARD_DATA_DIR`))
  release()
  t.notOk(existsSync(join(dir, 'pglite.lock')), 'released: the file is gone')

  // A process that has exited (SIGKILLed stacks leave their lock behind).
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  writeFileSync(join(dir, 'pglite.lock'), JSON.stringify({ pid: Number(dead.stdout), started_at: 'earlier' }))
  const again = acquireFolderLock(dir, 'pglite')
  t.equal(JSON.parse(readFileSync(join(dir, 'pglite.lock'), 'utf8')).pid, process.pid, 'a stale lock is taken over')
  again()

  // A process killed and not yet reaped (a zombie: its parent has not waited for it) holds nothing.
  // Here the parent is Perl (perl-base is in every Debian), which forks a child that exits at once
  // and never waits for it: the child stays a zombie for 5 s. (A shell's `true & exec sleep 5` could
  // reap its child before the exec, and once did in CI.)
  const parent = spawn('perl', ['-e', '$| = 1; my $pid = fork(); if ($pid == 0) { exit 0 } print "$pid\\n"; sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] })
  t.teardown(() => { parent.kill('SIGKILL') })
  const zombiePid = Number((await once(parent.stdout!, 'data'))[0])
  await eventually(async () => readFileSync(`/proc/${zombiePid}/stat`, 'utf8').includes(') Z '))
  writeFileSync(join(dir, 'pglite.lock'), JSON.stringify({ pid: zombiePid, started_at: 'just now' }))
  const afterKill = acquireFolderLock(dir, 'pglite')
  t.equal(JSON.parse(readFileSync(join(dir, 'pglite.lock'), 'utf8')).pid, process.pid, 'a killed holder not yet reaped is taken over (before: "in use by" it until reaped)')
  afterKill()
})

t.test('log format: pretty at a terminal, JSON elsewhere and whenever LOG_FORMAT=json', async t => {
  t.equal(logFormat({}, true), 'pretty')
  t.equal(logFormat({}, false), 'json')
  t.equal(logFormat({ LOG_FORMAT: 'json' }, true), 'json')
  t.equal(logFormat({ LOG_FORMAT: 'pretty' }, false), 'pretty')
  t.ok('loggerInstance' in loggerOptions(undefined, { LOG_LEVEL: 'info', LOG_FORMAT: 'pretty' }, 'demo'), 'pretty: a pino instance writing readable lines')
  t.match(loggerOptions(undefined, { LOG_LEVEL: 'info', LOG_FORMAT: 'json' }, 'demo'), { logger: { level: 'info', name: 'demo', redact: Array } })
})

t.test('pretty: one readable line per event, a stack only for an unexpected error', async t => {
  let out = ''
  const dest = new Writable({ write (chunk, _enc, done) { out += String(chunk); done() } })
  const log = pino({ level: 'info', name: 'email' }, prettyStream(dest, false))
  log.warn({ code: 'EMAIL_PROVIDER_ERROR', statusCode: 502 }, 'EMAIL_PROVIDER_ERROR: SendGrid answered 503 (simulated failure).')
  log.info({ method: 'POST', statusCode: 202, ms: 12 }, 'POST /api/automation/trigger/email → 202 (12 ms)')
  const lines = out.trimEnd().split('\n')
  t.equal(lines.length, 2, 'two events, two lines')
  t.match(lines[0], /^\[\d\d:\d\d:\d\d\.\d{3}\] WARN \(email\): EMAIL_PROVIDER_ERROR: SendGrid answered 503 \(simulated failure\)\.$/)
  t.match(lines[1], /INFO \(email\): POST \/api\/automation\/trigger\/email → 202 \(12 ms\)$/)
  out = ''
  log.error({ err: new Error('boom') }, 'unhandled error')
  t.match(out, /ERROR \(email\): unhandled error\nError: boom\n\s+at /, 'an unexpected error keeps its stack')
})

function capture () {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _enc, done) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); done() } })
  return { lines, stream }
}

t.test('one line per request: info for what a person sent, debug for internal hops, nothing for none; a failure we answered is one warn line without a stack', async t => {
  const { lines, stream } = capture()
  const app = createBaseApp('DEMO', { level: 'info', stream }, loadEnv(CommonEnvSchema, {}), { requestLogLevel: r => r.url.startsWith('/hop') ? 'debug' : 'info' })
  t.teardown(() => app.close())
  app.get('/send', async () => ({ ok: true }))
  app.get('/hop', async () => ({ ok: true }))
  app.get('/fails', async () => { throw new ServiceError(502, 'DEMO_PROVIDER_ERROR', 'The provider answered 503 (simulated failure).', { cause: new Error('HTTP 503') }) })
  await app.inject('/send')
  await app.inject('/hop')
  await app.inject('/fails')
  const messages = lines.map(l => l.msg)
  t.same(messages.filter(m => /^GET/.test(String(m))).map(m => String(m).replace(/\(\d+ ms\)/, '(n ms)')), ['GET /send → 200 (n ms)', 'GET /fails → 502 (n ms)'], 'the hop is at debug, below info')
  t.notOk(messages.some(m => m === 'incoming request' || m === 'request completed'), 'Fastify\'s own two lines per request are off')
  const warn = lines.filter(l => l.level === 40)
  t.equal(warn.length, 1)
  t.equal(warn[0]!.msg, 'DEMO_PROVIDER_ERROR: The provider answered 503 (simulated failure).')
  t.equal(warn[0]!.cause, 'HTTP 503')
  t.notOk('err' in warn[0]! || JSON.stringify(warn[0]).includes('"stack"'), 'no stack trace')
})

t.test('progress of a long run: start, every 10 % or 10 s, end', async t => {
  const logged: string[] = []
  let now = 0
  const log = { info: (_o: object, msg?: string) => { logged.push(msg ?? '') } }
  const p = progressLog(log, 'Campaign "x"', {}, 200, () => now)
  for (let i = 0; i < 200; i++) { now += 10; p.advance() }
  p.end('completed')
  t.equal(logged[0], 'Campaign "x" started: 200 to go')
  t.same(logged.slice(1, -1), [1, 2, 3, 4, 5, 6, 7, 8, 9].map(n => `Campaign "x": ${n * 20} of 200 (${n * 10} %)`), 'every 10 %, not every item')
  t.equal(logged.at(-1), 'Campaign "x" completed: 200 of 200 in 2.0 s')
  const slow: string[] = []
  now = 0
  const q = progressLog({ info: (_o: object, msg?: string) => { slow.push(msg ?? '') } }, 'Slow', {}, 1000, () => now)
  now = 10_500; q.advance()
  t.equal(slow.at(-1), 'Slow: 1 of 1000 (0 %)', 'a line after 10 s even below the next 10 %')
})

t.test('seeded draws follow the request, not the order of arrival', async t => {
  const settings: SimulationSettings = { latencyMs: { min: 0, max: 1000 }, successRate: 0.5, seed: 42, scenario: 'none' }
  const facts = Array.from({ length: 30 }, (_, i) => ({ to: `p${i}@example.com` }))
  const draw = (sim: Simulator, f: unknown) => { const d = sim.forRequest(f); return `${d.latency()} ${d.succeeds()}` }
  const a = new Simulator(() => settings, 'email')
  const inOrder = facts.map(f => draw(a, f))
  const b = new Simulator(() => settings, 'email')
  const reversed = [...facts].reverse().map(f => draw(b, f)).reverse()
  t.same(reversed, inOrder, 'the same draws for each request in the other order')
  t.not(draw(a, facts[0]), inOrder[0], 'the same content a second time draws its second occurrence')
  a.restart()
  t.equal(draw(a, facts[0]), inOrder[0], 'restart() starts the occurrences again')
  t.not(draw(new Simulator(() => settings, 'whatsapp'), facts[0]), inOrder[0], 'another service draws differently')
  t.not(draw(new Simulator(() => ({ ...settings, seed: 43 }), 'email'), facts[0]), inOrder[0], 'another seed draws differently')
})
