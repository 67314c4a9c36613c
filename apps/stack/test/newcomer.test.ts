/**
 * A newcomer's first hour, scripted: a fresh clone of this commit, `node apps/stack/src/server.js`
 * there on free ports (port 0 for every server) with the embedded database, the first send through
 * the gateway with the token the banner printed, and that send seen in the admin page's Activity
 * tab in Chromium. On the way: stack.json in the data folder agrees with the banner, a second stack
 * on the same data folder is refused naming the first, a second stack on a taken port is refused
 * naming the port's variable, and a SIGTERM shuts down cleanly (lock and stack.json gone).
 *
 * node_modules are not installed in the clone: each package's links are copied as they are
 * (relative: the workspace links resolve inside the clone) and the root's store is linked, so
 * the clone runs its own source with this checkout's dependencies, offline and in a second.
 */
import t from 'tap'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { chromium } from 'playwright-core'
import { createTestDatabase } from '@switchboard/activity-log/testing'
import { SERVICE_NAMES } from '@switchboard/service-kit/services'
import { send } from './helper.ts'

const ROOT = resolve(import.meta.dirname, '../../..')
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const START_MS = 90_000

t.setTimeout(300_000)

/** A clone of HEAD with node_modules linked from this checkout. */
function freshClone (dir: string): string {
  const clone = join(dir, 'switchboard')
  const head = execFileSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim()
  execFileSync('git', ['clone', '--quiet', '--shared', ROOT, clone])
  execFileSync('git', ['-C', clone, 'checkout', '--quiet', '--detach', head])
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir')
  const packages = ['apps', 'packages'].flatMap(group => readdirSync(join(ROOT, group)).map(name => join(group, name))).concat('bench')
  for (const pkg of packages) {
    const modules = join(ROOT, pkg, 'node_modules')
    if (existsSync(modules) && existsSync(join(clone, pkg))) cpSync(modules, join(clone, pkg, 'node_modules'), { recursive: true, verbatimSymlinks: true })
  }
  return clone
}

/** The environment a newcomer's shell has: none of this test runner's Switchboard settings. */
function newcomerEnv (extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(DATABASE_URL|SUPABASE_|API_TOKEN|ADMIN_TOKEN|SWITCHBOARD_|LOG_|TAP|NODE_OPTIONS)/.test(k) || /_(PORT|SERVICE_URL)$/.test(k)) continue
    env[k] = v
  }
  return { ...env, ...extra }
}

interface Started { child: ChildProcess, out: () => string, err: () => string, exited: Promise<number | null> }

const start = (cwd: string, env: Record<string, string>): Started => run(cwd, ['apps/stack/src/server.js'], env)

function run (cwd: string, args: string[], env: Record<string, string>): Started {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (c: Buffer) => { out += c })
  child.stderr!.on('data', (c: Buffer) => { err += c })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  return { child, out: () => out, err: () => err, exited }
}

/** Resolves with the output once it matches, rejects if the process exits first or time runs out. */
function waitFor (s: Started, pattern: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error(`no ${pattern} within ${ms} ms; stdout:\n${s.out()}\nstderr:\n${s.err()}`)) }, ms)
    const check = () => { if (pattern.test(s.out())) { cleanup(); resolve(s.out()) } }
    const gone = (code: number | null) => { cleanup(); reject(new Error(`exited with ${code} before ${pattern}; stdout:\n${s.out()}\nstderr:\n${s.err()}`)) }
    const cleanup = () => { clearTimeout(timer); s.child.stdout!.off('data', check); s.child.off('exit', gone) }
    s.child.stdout!.on('data', check)
    s.child.once('exit', gone)
    check()
  })
}

const line = (banner: string, label: string) => new RegExp(`^ {2}${label} +(\\S+)`, 'm').exec(banner)?.[1]

t.test('clone, start on free ports, first send, see it in the admin page', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-newcomer-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const clone = freshClone(dir)
  const ports = Object.fromEntries([...SERVICE_NAMES, 'gateway'].map(name => [`${name.toUpperCase()}_PORT`, '0']))

  // --- start: the banner names every URL, the admin page and the tokens ---------------------------
  const stack = start(clone, newcomerEnv(ports))
  t.teardown(() => { if (stack.child.exitCode === null) stack.child.kill('SIGKILL') })
  const banner = await waitFor(stack, /Try: {2}curl/, START_MS)
  const gateway = line(banner, 'Gateway')!
  const adminPage = line(banner, 'Admin page')!
  t.match(gateway, /^http:\/\/127\.0\.0\.1:\d+$/, 'the gateway URL is printed')
  t.not(new URL(gateway).port, '3000', 'on the port it was given, not the default')
  t.equal(adminPage, `${gateway}/admin`, 'the banner names the admin page')
  // Output that is not a terminal (this pipe, a log file) gets the generated tokens masked, with
  // where the whole ones are: a log line never carries them.
  const tokensFile = join(clone, '.data', 'tokens.json')
  const { apiToken, adminToken } = JSON.parse(readFileSync(tokensFile, 'utf8')) as { apiToken: string, adminToken: string }
  t.match(apiToken, /^sb_api_/, 'a generated API token')
  t.match(line(banner, 'API token'), /^sb\*{4}.{4}$/, 'shown masked')
  t.match(banner, `(whole in ${tokensFile})`, 'with the file that holds it')
  t.notOk(banner.includes(apiToken) || banner.includes(adminToken), 'neither token is in the output')

  const stackFile = JSON.parse(readFileSync(join(clone, '.data', 'stack.json'), 'utf8'))
  t.equal(stackFile.pid, stack.child.pid, 'stack.json names the process')
  t.equal(stackFile.urls.gateway, gateway, 'and the URLs the banner printed')
  t.equal(stackFile.admin_page, adminPage)
  for (const name of SERVICE_NAMES) t.equal(line(banner, name), stackFile.urls[name], `${name}: banner and stack.json agree`)

  // --- the first send, with the printed token ---------------------------------------------------
  const sent = await send({ method: 'POST', url: `${gateway}/api/automation/trigger/email`, headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ to_email: 'deliver@example.com', subject: 'My first send', content: '<p>Hello</p>' }) })
  t.equal(sent.status, 202, 'the first send is accepted')
  const id = sent.body.id as string
  t.match(id, /^[0-9a-f-]{36}$/)
  const unauthorized = await send({ method: 'GET', url: `${gateway}/api/admin/journal` })
  t.match(unauthorized.body.message, /admin token.*start banner.*tokens\.json.*ADMIN_TOKEN/, 'a 401 says which token and where it is')

  // --- the smoke test finds this stack (its stack.json), not whatever listens on port 3000 ------------
  const smoke = run(clone, ['scripts/smoke.ts'], newcomerEnv({}))
  const smokeStarted = await waitFor(smoke, /smoke test against \S+/, 20_000)
  smoke.child.kill('SIGKILL')
  t.match(smokeStarted, `smoke test against ${gateway}`, 'smoke runs against the stack of the data folder, on its own ports')

  // --- a second stack on the same data folder is refused, naming the first ------------------------
  const second = start(clone, newcomerEnv(ports))
  t.equal(await second.exited, 78, 'a second stack on the same .data exits')
  t.match(second.err(), new RegExp(`in use by process ${stack.child.pid}\\b.*kill ${stack.child.pid}`), 'naming the process that holds it')

  // --- a second stack on a taken port is refused, naming the port's variable ----------------------
  const emailPort = new URL(stackFile.urls.email).port
  const otherData = join(dir, 'other-data')
  const databaseUrl: Record<string, string> = process.env.TEST_DATABASE_URL ? { DATABASE_URL: await createTestDatabase(t) } : {}
  const clash = start(clone, newcomerEnv({ ...ports, EMAIL_PORT: emailPort, SWITCHBOARD_DATA_DIR: otherData, ...databaseUrl }))
  t.equal(await clash.exited, 1, 'a taken port exits 1')
  t.match(clash.err(), new RegExp(`^Port ${emailPort} \\(EMAIL_PORT\\) .*already in use.*EMAIL_PORT=0 picks any free port`, 'm'), 'saying which port, which variable, and what to do')
  t.notOk(existsSync(join(otherData, 'pglite.lock')), 'and leaves no lock behind')

  // --- the admin page in Chromium: the send is in Activity ----------------------------------------
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  page.setDefaultTimeout(20_000)
  await page.goto(adminPage)
  await page.getByLabel('Admin token').fill(adminToken)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('#app').waitFor({ state: 'visible' })
  await page.getByRole('tab', { name: 'Activity' }).click()
  const row = page.locator(`#journal tr[data-key="email/${id}"]`)
  await row.waitFor({ state: 'visible' })
  t.match(await row.innerText(), /deliver@example\.com/, 'the first send is in Activity')

  // --- Ctrl-C: a clean stop -----------------------------------------------------------------------
  stack.child.kill('SIGTERM')
  t.equal(await stack.exited, 0, 'SIGTERM stops the stack cleanly')
  t.match(stack.out(), /shutting down \(SIGTERM\)/, 'and says so')
  t.notOk(existsSync(join(clone, '.data', 'pglite.lock')), 'the data folder is unlocked')
  t.notOk(existsSync(join(clone, '.data', 'stack.json')), 'stack.json is gone with the stack')
})

t.test('the command line answers --help and a mistyped command with what it takes, not a stack trace', async t => {
  const help = run(ROOT, ['apps/stack/src/server.js', '--help'], newcomerEnv({}))
  t.equal(await help.exited, 0, 'start --help exits 0')
  t.match(help.out(), /^Usage: \.\/switchboard start \[--dataset demo\|FILE\]/, 'with the usage')
  const bad = run(ROOT, ['apps/stack/src/server.js', '--datset', 'demo'], newcomerEnv({}))
  t.equal(await bad.exited, 2, 'an unknown option exits 2')
  t.match(bad.err(), /Unknown option '--datset'[\s\S]*Usage:/, 'naming the option, then the usage')
  t.notMatch(bad.err(), /at .*\.ts:\d+/, 'no stack trace')
  for (const script of ['scripts/smoke.ts', 'packages/datasets/src/cli.ts']) {
    const h = run(ROOT, [script, '--help'], newcomerEnv({}))
    t.equal(await h.exited, 0, `${script} --help exits 0`)
    t.match(h.out(), /^Usage: \.\/switchboard (smoke|dataset)/)
  }
  const typo = spawn('bash', [join(ROOT, 'switchboard'), 'strat'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  typo.stderr.on('data', (c: Buffer) => { err += c })
  t.equal(await new Promise(resolve => typo.once('exit', resolve)), 2, 'a mistyped command exits 2')
  t.match(err, /unknown command 'strat'[\s\S]*\.\/switchboard start/, 'saying so, with the commands')
})
