import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const cli = resolve(import.meta.dirname, '../src/cli.ts')

t.test('without tokens, the CLI names the tokens file it looked for and what to do', async t => {
  const scratch = mkdtempSync(join(tmpdir(), 'dataset-cli-'))
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }))
  const folder = join(scratch, 'elsewhere')
  const r = await new Promise<{ code: number | null, err: string }>(resolve => {
    execFile(process.execPath, [cli, 'demo'], { cwd: scratch, env: { ...process.env, SWITCHBOARD_DATA_DIR: folder, API_TOKEN: undefined, ADMIN_TOKEN: undefined } },
      (err, _out, errText) => resolve({ code: err ? (err as { code?: number }).code ?? null : 0, err: errText }))
  })
  t.equal(r.code, 2)
  t.match(r.err, new RegExp(`No tokens: ${join(folder, 'tokens.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not there \\(SWITCHBOARD_DATA_DIR\\)`))
  t.match(r.err, /set API_TOKEN and ADMIN_TOKEN/)
})
