/**
 * stack.json, like everything in the data folder, is its owner's only: it is written 0600 even over
 * a stale one a killed stack left behind with a looser mode.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeStackFile } from '../src/stack.ts'

t.test('stack.json is owner only, also over a stale one', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-file-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const urls = { gateway: 'http://127.0.0.1:1' }
  const file = writeStackFile(dir, urls, { apiToken: 'a', adminToken: 'b', internalToken: 'c' })
  t.equal(statSync(file).mode & 0o777, 0o600, 'a new stack.json')
  t.equal(JSON.parse(readFileSync(file, 'utf8')).urls.gateway, urls.gateway)
  writeFileSync(file, '{}', { mode: 0o644 })
  writeStackFile(dir, urls, { apiToken: 'a', adminToken: 'b', internalToken: 'c' })
  t.equal(statSync(file).mode & 0o777, 0o600, 'over a stale one')
})
