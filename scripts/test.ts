import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { startPostgres } from './postgres-server.ts'
import { runSmoke } from './smoke.ts'

/**
 * `./switchboard test`: a real PostgreSQL for the run, then through turbo the linter (eslint.config.js,
 * done before any test starts writing files), the workspace's one type check and every package's
 * tests, then the smoke test against the embedded stack
 * started the way `./switchboard start` starts it. Ends with one plain "N passed, N failed" line summed from every tap run and the
 * smoke checks, and exits non-zero when anything failed.
 */
const extraArgs = process.argv.slice(2)
const pg = process.env.TEST_DATABASE_URL ? undefined : await startPostgres()
const env = { ...process.env, TEST_DATABASE_URL: process.env.TEST_DATABASE_URL ?? pg!.url, FORCE_COLOR: '0' }
console.log(`PostgreSQL for the tests: ${env.TEST_DATABASE_URL}`)

const totals = { pass: 0, fail: 0, skip: 0, todo: 0 }
// Every failing test's line, repeated after the totals: a log read from its end (CI keeps only a
// part of it) still names what failed.
const failures: string[] = []
const started = Date.now()
const code = await new Promise<number>((resolve) => {
  const child = spawn('turbo', ['run', 'lint', 'typecheck', 'test', '--output-logs=full', '--log-order=grouped', '--concurrency=2', '--continue', ...extraArgs], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  let buffered = ''
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk)
    buffered += chunk.toString()
    const lines = buffered.split('\n')
    buffered = lines.pop() ?? ''
    for (const line of lines) {
      // turbo's prefix "@switchboard/whatsapp:test: ", then tap's "    not ok 2 - name # time=…"
      const failed = /^(\S+?):\w+:\s*(not ok \d+ - .*?)(?: # time=[\d.]+m?s)?\s*$/.exec(line)
      if (failed) failures.push(`${failed[1]}: ${failed[2]}`)
      // tap's closing line: "# { total: 12, pass: 11, fail: 1, skip: 0 }"
      const m = /# \{ total: \d+(.*)\}\s*$/.exec(line)
      if (!m) continue
      for (const [, key, n] of m[1]!.matchAll(/(pass|fail|skip|todo): (\d+)/g)) totals[key as keyof typeof totals] += Number(n)
    }
  })
  child.on('close', (c) => resolve(c ?? 1))
})
await pg?.stop()

const smoke = extraArgs.length ? undefined : await smokeEmbeddedStack()
if (smoke) { totals.pass += smoke.pass; totals.fail += smoke.fail }

const seconds = Math.round((Date.now() - started) / 1000)
console.log(`\ntests finished in ${seconds} s${code !== 0 ? ' (a type check or a test failed: see above)' : ''}`)
if (failures.length) console.log(`what failed (a file's line follows its tests'):\n${failures.map(f => `  ${f}`).join('\n')}`)
console.log(`${totals.pass} passed, ${totals.fail} failed${totals.skip ? `, ${totals.skip} skipped` : ''}`)
process.exit(code !== 0 ? code : totals.fail > 0 ? 1 : 0)

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    }).on('error', reject)
  })
}

/**
 * The README's Python example (examples/python/test_mock_services.py, standard library only) against
 * the same stack, with the machine's python3: proof that a team's Python tests can drive every
 * service through the gateway. Its closing line "python: N passed, N failed" is added to the totals.
 */
async function runPythonExample (baseUrl: string, tokens: { API_TOKEN: string, ADMIN_TOKEN: string }): Promise<{ pass: number, fail: number }> {
  console.log('\nPython example: examples/python/test_mock_services.py against the same stack')
  const script = join(import.meta.dirname, '../examples/python/test_mock_services.py')
  const child = spawn('python3', [script, '--base-url', baseUrl, '--api-token', tokens.API_TOKEN, '--admin-token', tokens.ADMIN_TOKEN], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { process.stdout.write(chunk); output += chunk.toString() })
  const code = await new Promise<number | null>(resolve => {
    child.once('error', err => { console.error(`Python example could not start: ${err.message} (is python3 installed?)`); resolve(null) })
    child.once('close', resolve)
  })
  const m = /^python: (\d+) passed, (\d+) failed$/m.exec(output)
  if (!m) return { pass: 0, fail: 1 }
  const counts = { pass: Number(m[1]), fail: Number(m[2]) }
  // A crash after its report (exit code other than its verdict) still fails the run.
  if (code !== (counts.fail > 0 ? 1 : 0)) counts.fail++
  return counts
}

/** The embedded stack (PGlite, mock mode, spec latencies) in its own process, smoke-tested, then stopped with SIGTERM. */
async function smokeEmbeddedStack (): Promise<{ pass: number, fail: number }> {
  console.log('\nsmoke test: starting the embedded stack as ./switchboard start does')
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-smoke-'))
  const names = ['GATEWAY', 'EMAIL', 'WHATSAPP', 'PAYMENTS', 'VOICE', 'ZOOM']
  const ports = Object.fromEntries(await Promise.all(names.map(async n => [n, await freePort()] as const)))
  const tokens = { API_TOKEN: 'smoke-api-token-0123456789', ADMIN_TOKEN: 'smoke-admin-token-0123456789' }
  const stackEnv: Record<string, string> = { ...process.env as Record<string, string>, ...tokens, SWITCHBOARD_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }
  delete stackEnv.DATABASE_URL
  for (const n of names) {
    stackEnv[`${n}_PORT`] = String(ports[n])
    if (n !== 'GATEWAY') stackEnv[`${n}_SERVICE_URL`] = `http://127.0.0.1:${ports[n]}`
  }
  const stack = spawn(process.execPath, [join(import.meta.dirname, '../apps/stack/src/server.js')], { env: stackEnv, stdio: ['ignore', 'ignore', 'inherit'] })
  const exited = new Promise<number | null>(resolve => stack.once('exit', code => resolve(code)))
  const base = `http://127.0.0.1:${ports.GATEWAY}`
  let result = { pass: 0, fail: 1 }
  try {
    const until = Date.now() + 60_000
    for (;;) {
      const status = await request(`${base}/ready`).then(async r => { await r.body.dump(); return r.statusCode }).catch(() => 0)
      if (status === 200) break
      if (Date.now() > until) throw new Error('the embedded stack did not become ready within 60 s')
      await new Promise(resolve => setTimeout(resolve, 250))
    }
    const report = await runSmoke({ baseUrl: base, apiToken: tokens.API_TOKEN, adminToken: tokens.ADMIN_TOKEN })
    const checks = Object.values(report.services).flatMap(s => s.checks)
    result = { pass: checks.filter(c => c.ok).length, fail: checks.filter(c => !c.ok).length }
    const python = await runPythonExample(base, tokens)
    result.pass += python.pass
    result.fail += python.fail
  } catch (err) {
    console.error(`smoke test could not run: ${(err as Error).message}`)
  } finally {
    stack.kill('SIGTERM')
    const timer = setTimeout(() => stack.kill('SIGKILL'), 20_000)
    const exitCode = await exited
    clearTimeout(timer)
    if (exitCode === 0) {
      console.log('smoke test: the stack shut down cleanly on SIGTERM')
      result.pass++
    } else {
      console.error(`smoke test: the stack exited with ${exitCode} on SIGTERM (expected a clean 0)`)
      result.fail++
    }
    rmSync(dataDir, { recursive: true, force: true })
  }
  return result
}
