import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/**
 * The CLI's answers to a mistake, run from source as `npx switchboard` runs the built file: each
 * says what happened and what to do, in one line of its own (never Node's stack trace), without
 * starting anything it then has to explain away.
 */
const cliFile = resolve(import.meta.dirname, '../src/cli.ts')
const scratch = mkdtempSync(join(tmpdir(), 'switchboard-cli-'))

interface Result { code: number | null, out: string, err: string }
const cli = (args: string[], dataDir = join(scratch, 'sb')) => new Promise<Result>(resolve => {
  execFile(process.execPath, [cliFile, ...args, '--data-dir', dataDir], { cwd: scratch, timeout: 20_000, env: { ...process.env, CI: 'true', API_TOKEN: undefined, ADMIN_TOKEN: undefined, GATEWAY_PORT: undefined } },
    (err, out, errText) => resolve({ code: err ? (err as { code?: number }).code ?? null : 0, out, err: errText }))
})
// A start these tests expect to be refused is stopped should it run after all (without the checks,
// a bad --timeout still started one in the background).
t.teardown(async () => {
  for (const dir of ['bad-values', 'port-in-use']) await cli(['stop'], join(scratch, dir))
  rmSync(scratch, { recursive: true, force: true })
})
const noStack = (t: Test, r: Result) => t.notMatch(r.err, /^\s+at /m, 'no stack trace')

/** A data folder that says a sandbox runs (this test's own process, so its pid is alive) at a URL where nothing answers. */
function runningAt (name: string): string {
  const dir = join(scratch, name)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'state.json'), JSON.stringify({ pid: process.pid, url: 'http://127.0.0.1:9', urls: {}, startedAt: new Date().toISOString() }))
  return dir
}

t.test('an unknown option or a missing value is named, with where to look, and exit code 2', async t => {
  const unknown = await cli(['start', '--prot', '3000'])
  t.equal(unknown.code, 2)
  t.match(unknown.err, /^switchboard: unknown option --prot\. npx switchboard --help lists the options\.$/m)
  noStack(t, unknown)

  const missing = await cli(['start', '--seed', '-1'])
  t.equal(missing.code, 2)
  t.match(missing.err, /^switchboard: --seed needs a value/m)
  noStack(t, missing)

  const command = await cli(['frobnicate'])
  t.equal(command.code, 2)
  t.match(command.err, /^switchboard: unknown command "frobnicate"/m)
  t.match(command.err, /Usage: switchboard <command>/)
})

t.test('bad values are refused before anything starts', async t => {
  const dataDir = join(scratch, 'bad-values')
  for (const [args, message] of [
    [['start', '--port', 'abc'], /--port must be a whole number from 0 to 65535, got "abc"/],
    [['start', '--port', '99999'], /--port must be a whole number from 0 to 65535, got "99999"/],
    [['start', '--seed', '1.5'], /--seed must be a whole number, got "1\.5"/],
    [['start', '--timeout', 'abc'], /--timeout must be a number of seconds above 0, got "abc"/]
  ] as const) {
    const r = await cli([...args], dataDir)
    t.equal(r.code, 2, `${args.join(' ')}: exit code 2`)
    t.match(r.err, message)
    noStack(t, r)
  }
  t.notOk(existsSync(join(dataDir, 'switchboard.log')), 'no sandbox was started to find out')
})

t.test('wait --timeout abc is refused, not a wait without end', async t => {
  const r = await cli(['wait', '--timeout', 'abc'], runningAt('waiting'))
  t.equal(r.code, 2)
  t.match(r.err, /--timeout must be a number of seconds above 0, got "abc"/)
})

t.test('start while one runs says how to use it, stop it or start another', async t => {
  const r = await cli(['start'], runningAt('running'))
  t.equal(r.code, 1)
  t.match(r.err, /already running \(pid \d+\) at http:\/\/127\.0\.0\.1:9/)
  t.match(r.err, /npx switchboard stop/)
  t.match(r.err, /--data-dir/)
})

t.test('a gateway port in use: start names it and the way out, and shows only this start\'s log', async t => {
  const taken = createServer()
  await new Promise<void>(resolve => taken.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => taken.close(() => resolve())))
  const { port } = taken.address() as AddressInfo
  const dataDir = join(scratch, 'port-in-use')
  mkdirSync(dataDir)
  writeFileSync(join(dataDir, 'switchboard.log'), 'a line an earlier run wrote\n')

  const r = await cli(['start', '--port', String(port)], dataDir)
  t.equal(r.code, 1)
  t.match(r.err, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`))
  t.match(r.err, /--port 0 picks a free one/)
  t.notMatch(r.err, /GATEWAY_PORT|stack\.json/, 'in the CLI\'s words, not the environment\'s')
  t.notMatch(r.err, /an earlier run wrote/, 'the log of an earlier run is not shown as this one\'s')
  noStack(t, r)
})

t.test('outside CI too, the generated tokens stay out of the sandbox\'s log; `env` prints them', async t => {
  const dataDir = join(scratch, 'log-tokens')
  const local = (args: string[]) => new Promise<Result>(resolve => {
    execFile(process.execPath, [cliFile, ...args, '--data-dir', dataDir], { cwd: scratch, timeout: 60_000, env: { ...process.env, CI: undefined, API_TOKEN: undefined, ADMIN_TOKEN: undefined, GATEWAY_PORT: undefined } },
      (err, out, errText) => resolve({ code: err ? (err as { code?: number }).code ?? null : 0, out, err: errText }))
  })
  const started = await local(['start', '--port', '0'])
  t.teardown(() => local(['stop']))
  t.equal(started.code, 0, started.err)
  const env = Object.fromEntries((await local(['env'])).out.trim().split('\n').map(l => l.split(/=(.*)/s).slice(0, 2)))
  t.match(env.SWITCHBOARD_ADMIN_TOKEN, /^sb_admin_/)
  const log = (await import('node:fs')).readFileSync(join(dataDir, 'switchboard.log'), 'utf8')
  t.match(log, /Admin token {2}\(generated into .*tokens\.json; npx switchboard env prints it\)/, 'the log says where the token is')
  t.notOk(log.includes(env.SWITCHBOARD_ADMIN_TOKEN!) || log.includes(env.SWITCHBOARD_API_TOKEN!), 'and holds neither token')
})
