import { cp, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createPgliteBackend, DEFAULT_MIGRATIONS_DIR } from '../src/index.ts'
import { templateFile } from '../src/backends/pglite-template.ts'

async function tempDir (t: { teardown: (fn: () => unknown) => void }, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

const appliedAt = async (backend: Awaited<ReturnType<typeof createPgliteBackend>>) =>
  (await backend.query('SELECT version, applied_at::text AS at FROM schema_migrations ORDER BY version')).rows

t.test('a fresh data folder starts from the template the first fresh start kept, empty and migrated', async t => {
  const templateDir = await tempDir(t, 'pglite-templates-')
  const first = await createPgliteBackend({ dataDir: join(await tempDir(t, 'pglite-a-'), 'db'), templateDir })
  const file = templateFile(templateDir, DEFAULT_MIGRATIONS_DIR)
  t.equal((await stat(file)).mode & 0o777, 0o600, 'the template is readable by its owner only')
  t.equal((await stat(templateDir)).mode & 0o777, 0o700)
  await first.insert('email_logs', [{ id: '6f1c7a3e-0000-4000-8000-000000000001', mode: 'mock', to_email: 'a@example.com', status: 'sent' }])
  const migratedFirst = await appliedAt(first)
  await first.close()

  for (const dataDir of [join(await tempDir(t, 'pglite-b-'), 'db'), 'memory://']) {
    const second = await createPgliteBackend({ dataDir, templateDir })
    t.same(await appliedAt(second), migratedFirst, `${dataDir}: its migrations are the template's (same applied_at), not applied again`)
    t.same(await second.select('email_logs'), [], `${dataDir}: none of the first folder's rows`)
    await second.close()
  }
})

t.test('changed migrations never load an old template; a broken one is replaced', async t => {
  const templateDir = await tempDir(t, 'pglite-templates-')
  const migrationsDir = await tempDir(t, 'migrations-')
  await cp(DEFAULT_MIGRATIONS_DIR, migrationsDir, { recursive: true })
  const before = templateFile(templateDir, migrationsDir)
  await writeFile(join(migrationsDir, '29991231000000_create_extra.sql'), 'CREATE TABLE extra (id int);')
  const after = templateFile(templateDir, migrationsDir)
  t.not(after, before, 'another migration, another template')

  await mkdir(templateDir, { recursive: true })
  await writeFile(after, 'not a tarball')
  const fromBroken = await createPgliteBackend({ dataDir: 'memory://', templateDir, migrationsDir })
  t.same((await fromBroken.query('SELECT count(*)::int AS n FROM extra')).rows, [{ n: 0 }], 'a broken template: created instead, every migration applied')
  const migrated = await appliedAt(fromBroken)
  await fromBroken.close()

  const next = await createPgliteBackend({ dataDir: 'memory://', templateDir, migrationsDir })
  t.same(await appliedAt(next), migrated, 'the broken template was replaced by a good one')
  await next.close()
})
