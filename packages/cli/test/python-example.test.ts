import t from 'tap'
import { execFile, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startSwitchboard } from '../src/index.ts'

/**
 * The README's Python example as a team runs it beside the package: with no options, after
 * `npx switchboard env` has put the URL and tokens in the environment (the CI recipe), or from the
 * folder where `npx switchboard start` wrote its data folder.
 */
const script = resolve(import.meta.dirname, '../../../examples/python/test_mock_services.py')
const hasPython = spawnSync('python3', ['--version']).status === 0
t.setTimeout(300_000)

const python = (cwd: string, env: Record<string, string>) => new Promise<{ code: number, out: string, err: string }>(resolve => {
  // Only what is given: no API_TOKEN, SWITCHBOARD_* or data folder of the machine's own.
  execFile('python3', [script], { cwd, env: { PATH: process.env.PATH!, ...env }, timeout: 180_000 },
    (err, out, errText) => resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, out, err: errText }))
})

t.test('test_mock_services.py finds the stack without options', { skip: hasPython ? false : 'no python3 on this machine' }, async t => {
  const sb = await startSwitchboard({ seed: 5 })
  const project = mkdtempSync(join(tmpdir(), 'switchboard-python-'))
  t.teardown(async () => { await sb.close(); rmSync(project, { recursive: true, force: true }) })

  const fromEnv = await python(project, { SWITCHBOARD_URL: sb.url, SWITCHBOARD_API_TOKEN: sb.apiToken, SWITCHBOARD_ADMIN_TOKEN: sb.adminToken })
  t.equal(fromEnv.code, 0, `the names \`npx switchboard env\` prints: ${fromEnv.err}`)
  t.match(fromEnv.out, /^python: \d+ passed, 0 failed$/m)

  await sb.reset()
  // What `npx switchboard start` leaves in the project: .switchboard/tokens.json and state.json.
  mkdirSync(join(project, '.switchboard'))
  writeFileSync(join(project, '.switchboard/tokens.json'), JSON.stringify({ apiToken: sb.apiToken, adminToken: sb.adminToken }))
  writeFileSync(join(project, '.switchboard/state.json'), JSON.stringify({ pid: process.pid, url: sb.url, urls: sb.urls }))
  const fromFolder = await python(project, {})
  t.equal(fromFolder.code, 0, `the data folder npx switchboard start wrote: ${fromFolder.err}`)
  t.match(fromFolder.out, `Switchboard from Python against ${sb.url}`)
  t.match(fromFolder.out, /^python: \d+ passed, 0 failed$/m)

  // What `./switchboard start` leaves in a clone: .data/tokens.json and stack.json, on any ports.
  await sb.reset()
  rmSync(join(project, '.switchboard'), { recursive: true })
  mkdirSync(join(project, '.data'))
  writeFileSync(join(project, '.data/tokens.json'), JSON.stringify({ apiToken: sb.apiToken, adminToken: sb.adminToken }))
  writeFileSync(join(project, '.data/stack.json'), JSON.stringify({ pid: process.pid, urls: sb.urls }))
  const fromClone = await python(project, {})
  t.equal(fromClone.code, 0, `the data folder ./switchboard start wrote: ${fromClone.err}`)
  t.match(fromClone.out, `Switchboard from Python against ${sb.url}`, 'the URL from its stack.json')
})
