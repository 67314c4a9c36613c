/**
 * The compile cache is the user's own: on a fresh machine, the folders it creates in the user's
 * cache folder (~/.cache/switchboard, beside the database templates) are 0700.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

t.test('a fresh cache folder is created owner-only', async t => {
  const home = mkdtempSync(join(tmpdir(), 'compile-cache-'))
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  const cache = join(home, 'cache')
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: cache }
  delete env.NODE_COMPILE_CACHE
  delete env.NODE_DISABLE_COMPILE_CACHE
  const module = new URL('../src/server/compile-cache.js', import.meta.url).href
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(module)}); m.enableStackCompileCache()`], { env, encoding: 'utf8' })
  t.equal(run.status, 0, run.stderr)
  for (const dir of [join(cache, 'switchboard'), join(cache, 'switchboard', 'node-compile-cache')]) {
    t.equal(statSync(dir).mode & 0o777, 0o700, `${dir} is 0700`)
  }
})
