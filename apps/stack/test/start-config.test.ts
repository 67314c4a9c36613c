/**
 * `./switchboard start` with a bad setting: the README (Configuration) promises "a bad value stops
 * start-up with a message naming the variable". The gateway is built only once the services listen
 * (its service URLs are their real ports), so a setting only the gateway checks fails late; it must
 * still end as every other configuration error does: the message alone on stderr, exit 78, no lock
 * left in the data folder.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { STACK_SERVER, stackEnv } from './helper.ts'

async function run (env: Record<string, string>): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [STACK_SERVER], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c })
  child.stderr.on('data', (c: Buffer) => { stderr += c })
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  clearTimeout(timer)
  return { code, stdout, stderr }
}

for (const [what, overrides, variable] of [
  ['SWITCHBOARD_EVENTS_URL without its secret', { SWITCHBOARD_EVENTS_URL: 'http://127.0.0.1:9/events' }, 'SWITCHBOARD_EVENTS_SECRET'],
  ['an unknown SWITCHBOARD_EVENTS_TYPES', { SWITCHBOARD_EVENTS_URL: 'http://127.0.0.1:9/events', SWITCHBOARD_EVENTS_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', SWITCHBOARD_EVENTS_TYPES: 'payment.done' }, 'SWITCHBOARD_EVENTS_TYPES']
] as const) {
  t.test(`a bad gateway setting (${what}) stops start-up with its message, exit 78`, async t => {
    const env = await stackEnv(t, { ...overrides, LOG_LEVEL: 'info' }, { child: true, database: 'embedded' })
    const { code, stdout, stderr } = await run(env)
    t.equal(code, 78, 'EX_CONFIG, as for any other bad setting')
    t.match(stderr.trimStart(), new RegExp(`^${variable}: `), 'the message, naming the variable, first')
    t.notMatch(stdout + stderr, /unexpected error|"stack":/, 'not a crash report with a stack trace')
    t.notOk(existsSync(join(env.SWITCHBOARD_DATA_DIR!, 'pglite.lock')), 'the data folder is released')
    t.notOk(existsSync(join(env.SWITCHBOARD_DATA_DIR!, 'stack.json')), 'and no stack.json claims a running stack')
  })
}
