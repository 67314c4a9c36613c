import { spawn } from 'node:child_process'
import { startPostgres } from './postgres-server.ts'

/**
 * `./switchboard test`: a real PostgreSQL for the run, then every package's type check and tests
 * through turbo. Ends with one plain "N passed, N failed" line summed from every tap run, and
 * exits non-zero when anything failed.
 */
const extraArgs = process.argv.slice(2)
const pg = process.env.TEST_DATABASE_URL ? undefined : await startPostgres()
const env = { ...process.env, TEST_DATABASE_URL: process.env.TEST_DATABASE_URL ?? pg!.url, FORCE_COLOR: '0' }
console.log(`PostgreSQL for the tests: ${env.TEST_DATABASE_URL}`)

const totals = { pass: 0, fail: 0, skip: 0, todo: 0 }
const started = Date.now()
const code = await new Promise<number>((resolve) => {
  const child = spawn('turbo', ['run', 'typecheck', 'test', '--output-logs=full', '--log-order=grouped', '--concurrency=2', ...extraArgs], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  let buffered = ''
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk)
    buffered += chunk.toString()
    const lines = buffered.split('\n')
    buffered = lines.pop() ?? ''
    for (const line of lines) {
      // tap's closing line: "# { total: 12, pass: 11, fail: 1, skip: 0 }"
      const m = /# \{ total: \d+(.*)\}\s*$/.exec(line)
      if (!m) continue
      for (const [, key, n] of m[1]!.matchAll(/(pass|fail|skip|todo): (\d+)/g)) totals[key as keyof typeof totals] += Number(n)
    }
  })
  child.on('close', (c) => resolve(c ?? 1))
})
await pg?.stop()
const seconds = Math.round((Date.now() - started) / 1000)
console.log(`\ntests finished in ${seconds} s${code !== 0 ? ' (a type check or a test failed: see above)' : ''}`)
console.log(`${totals.pass} passed, ${totals.fail} failed${totals.skip ? `, ${totals.skip} skipped` : ''}`)
process.exit(code !== 0 ? code : totals.fail > 0 ? 1 : 0)
