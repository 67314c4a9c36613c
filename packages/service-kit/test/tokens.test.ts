import t from 'tap'
import { statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { resolveTokens } from '../src/server/tokens.ts'

t.test('tokens.json: generated owner-only, and an existing one readable by others is made owner-only, its tokens kept', async t => {
  const dir = t.testdir()
  const fresh = resolveTokens({ SWITCHBOARD_DATA_DIR: dir })
  t.equal(statSync(fresh.file!).mode & 0o777, 0o600, 'generated: 0600')

  const copied = t.testdir()
  const file = join(copied, 'tokens.json')
  writeFileSync(file, JSON.stringify({ apiToken: 'sb_api_kept', adminToken: 'sb_admin_kept', internalToken: 'sb_internal_kept' }), { mode: 0o644 })
  t.equal(statSync(file).mode & 0o777, 0o644)
  const kept = resolveTokens({ SWITCHBOARD_DATA_DIR: copied })
  t.match(kept, { apiToken: 'sb_api_kept', adminToken: 'sb_admin_kept', internalToken: 'sb_internal_kept' })
  t.equal(statSync(file).mode & 0o777, 0o600, 'an existing file readable by others: now 0600 (before: left 0644)')
})
