import t from 'tap'
import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'

/**
 * The package as a team gets it: built, packed with npm, installed from the tarball into an empty
 * project outside the repository, and run with the machine's own Node (the image's Node 20 when
 * it has one, which strips no types and lacks Node 24's newer APIs). Then the CLI's whole cycle and
 * the README's node:test and Vitest examples against the installed package.
 */
const run = promisify(execFile)
const here = resolve(import.meta.dirname, '..')
const root = resolve(here, '../..')
const userNode = existsSync('/usr/bin/node') ? '/usr/bin/node' : process.execPath
const scratch = mkdtempSync(join(tmpdir(), 'switchboard-package-'))
t.teardown(() => rmSync(scratch, { recursive: true, force: true }))
t.setTimeout(480_000)

const npm = async (args: string[]) => run('npm', args, { cwd: scratch, env: { ...process.env, npm_config_update_notifier: 'false' }, maxBuffer: 16 * 1024 * 1024, timeout: 150_000 })

/**
 * A step of the set-up, bounded: a registry that stalls fails the file with the step's name and
 * what npm printed, not tap's bare "timeout!" for the whole file (seen once on a fresh machine).
 * The install is tried twice: the registry is the one part of this test outside the machine.
 */
async function step<T> (what: string, action: () => Promise<T>, tries = 1): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action()
    } catch (err) {
      const e = err as { killed?: boolean, stderr?: string, message: string }
      const why = e.killed === true ? 'it did not finish in time and was stopped' : e.message
      if (attempt < tries) { t.comment(`${what}: attempt ${attempt} failed (${why}); trying again`); continue }
      throw new Error(`${what}: ${why}${e.stderr ? `\n${e.stderr.slice(-2000)}` : ''}`)
    }
  }
}

t.before(async () => {
  await step('building the package', () => run(process.execPath, [join(here, 'build.ts')], { cwd: here, timeout: 120_000 }))
  await step('packing it with npm', () => run('npm', ['pack', '--silent', '--pack-destination', scratch], { cwd: join(here, 'dist'), timeout: 60_000 }))
  const tarball = readdirSync(scratch).find(f => f.endsWith('.tgz'))!
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'a-teams-app', private: true, type: 'module' }))
  await step('installing the tarball and Vitest from the npm registry',
    () => npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', `./${tarball}`, 'vitest@3.2.7']), 2)
})

const cli = (args: string[]) => run(userNode, [join(scratch, 'node_modules/.bin/switchboard'), ...args, '--data-dir', join(scratch, 'sb')], { cwd: scratch, env: { ...process.env, CI: 'true', API_TOKEN: undefined, ADMIN_TOKEN: undefined }, timeout: 120_000 })
  .then(r => ({ code: 0, out: r.stdout, err: r.stderr }))
  .catch((e: { code: number, stdout: string, stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }))

t.test('npx switchboard: start, wait, status, an email, reset, stop', async t => {
  const version = (await run(userNode, ['--version'])).stdout.trim()
  t.comment(`the installed package runs on ${version}`)

  const started = await cli(['start', '--port', '0'])
  t.equal(started.code, 0, `start exits 0 once it listens: ${started.err}`)
  t.teardown(() => cli(['stop']))
  t.match(started.out, /Gateway {6}http:\/\/127\.0\.0\.1:\d+/)
  t.match(started.out, /API token {4}\(generated into .*tokens\.json; npx switchboard env prints it\)/, 'in CI the generated tokens stay out of the log')
  t.equal((await cli(['start', '--port', '0'])).code, 1, 'a second start from the same data folder is refused')

  t.equal((await cli(['wait'])).code, 0, 'wait returns once /ready answers 200')
  const status = await cli(['status'])
  t.equal(status.code, 0)
  t.match(status.out, /Ready {8}yes/)

  const env = Object.fromEntries((await cli(['env'])).out.trim().split('\n').map(l => l.split(/=(.*)/s).slice(0, 2)))
  const send = await fetch(`${env.SWITCHBOARD_URL}/api/automation/trigger/email`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.SWITCHBOARD_API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ to_email: 'deliver@example.com', subject: 'From the package', content: '<p>Hi</p>' })
  })
  t.equal(send.status, 202, 'the email is accepted through the gateway')
  t.equal((await send.json() as { mode: string }).mode, 'mock')

  const journal = async () => (await (await fetch(`${env.SWITCHBOARD_URL}/api/admin/journal?service=email`, { headers: { authorization: `Bearer ${env.SWITCHBOARD_ADMIN_TOKEN}` } })).json() as { items: Array<{ summary: string }> }).items
  t.same((await journal()).map(r => r.summary), ['From the package'], 'the journal holds it')
  t.equal((await cli(['reset'])).code, 0)
  t.same(await journal(), [], 'reset cleared it')

  // The files the package finds at run time: the example scenarios and the built-in data sets.
  const admin = { authorization: `Bearer ${env.SWITCHBOARD_ADMIN_TOKEN}`, 'content-type': 'application/json' }
  const examples = await fetch(`${env.SWITCHBOARD_URL}/api/admin/scenario/examples`, { headers: admin })
  t.equal(examples.status, 200, 'the example scenarios are listed')
  t.ok(((await examples.json()) as { items: unknown[] }).items.length >= 6)
  const played = await fetch(`${env.SWITCHBOARD_URL}/api/admin/scenario/examples/payment-fails-twice`, { method: 'POST', headers: admin, body: '{}' })
  t.equal(played.status, 200, 'one is played')
  await played.arrayBuffer()
  await (await fetch(`${env.SWITCHBOARD_URL}/api/admin/scenario`, { method: 'DELETE', headers: admin })).arrayBuffer()
  const load = await fetch(`${env.SWITCHBOARD_URL}/api/admin/datasets/demo/load`, { method: 'POST', headers: admin, body: '{}' })
  t.equal(load.status, 202, 'the built-in data set loads')
  await load.arrayBuffer()
  let state: { status: string } | null = null
  for (const until = Date.now() + 90_000; Date.now() < until; await new Promise(resolve => setTimeout(resolve, 200))) {
    state = (await (await fetch(`${env.SWITCHBOARD_URL}/api/admin/datasets`, { headers: admin })).json() as { load: { status: string } | null }).load
    if (state?.status !== 'running') break
  }
  t.equal(state?.status, 'done', 'and finishes')

  const stopped = await cli(['stop'])
  t.equal(stopped.code, 0)
  t.match(stopped.out, /stopped/)
  t.notOk(existsSync(join(scratch, 'sb/state.json')), 'the state file is gone')
  t.equal((await cli(['status'])).code, 3, 'status says not running')
  t.equal(await fetch(`${env.SWITCHBOARD_URL}/health`).then(() => 'answered', () => 'refused'), 'refused', 'nothing listens any more')
})

t.test("the README's node:test example passes against the installed package", async t => {
  copyFileSync(join(root, 'examples/node-test/email.test.mjs'), join(scratch, 'email.test.mjs'))
  const { stdout } = await run(userNode, ['--test', '--test-reporter=tap', 'email.test.mjs'], { cwd: scratch, timeout: 120_000 })
  t.match(stdout, /^# pass 3$/m)
  t.match(stdout, /^# fail 0$/m)
})

t.test("the README's Vitest example passes against the installed package", async t => {
  copyFileSync(join(root, 'examples/vitest/email.test.mjs'), join(scratch, 'vitest-email.test.mjs'))
  const { stdout } = await run(userNode, [join(scratch, 'node_modules/vitest/vitest.mjs'), 'run', 'vitest-email.test.mjs'], { cwd: scratch, env: { ...process.env, CI: 'true', FORCE_COLOR: '0' }, timeout: 120_000 })
  t.match(stdout, /Tests\s+1 passed/)
})
