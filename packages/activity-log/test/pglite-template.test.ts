import { chmod, cp, lstat, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createPgliteBackend, DEFAULT_MIGRATIONS_DIR } from '../src/index.ts'
import { templateFile, templateFolder } from '../src/backends/pglite-template.ts'

async function tempDir (t: { teardown: (fn: () => unknown) => void }, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

const exists = (path: string) => stat(path).then(() => true, () => false)

/** Every entry under `folder` that anyone but its owner could read, write or enter. */
async function openToOthers (folder: string): Promise<string[]> {
  const open: string[] = []
  for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name)
    const mode = (await lstat(path)).mode & 0o777
    if (!entry.isSymbolicLink() && mode !== (entry.isDirectory() ? 0o700 : 0o600)) open.push(`${mode.toString(8)} ${path}`)
  }
  return open
}

const appliedAt = async (backend: Awaited<ReturnType<typeof createPgliteBackend>>) =>
  (await backend.query('SELECT version, applied_at::text AS at FROM schema_migrations ORDER BY version')).rows

t.test('a fresh data folder is copied from the folder the first fresh start kept, empty and migrated; memory:// loads a tarball', async t => {
  const templateDir = await tempDir(t, 'pglite-templates-')
  const first = await createPgliteBackend({ dataDir: join(await tempDir(t, 'pglite-a-'), 'db'), templateDir })
  const folder = templateFolder(templateDir, DEFAULT_MIGRATIONS_DIR)
  t.equal((await stat(join(folder, 'PG_VERSION'))).isFile(), true, 'a folder start keeps a database folder')
  t.equal((await stat(templateDir)).mode & 0o777, 0o700, 'readable by its owner only')
  t.equal((await stat(folder)).mode & 0o777, 0o700)
  t.equal(await exists(templateFile(templateDir, DEFAULT_MIGRATIONS_DIR)), false, 'and no tarball: memory:// makes its own')
  t.same(await openToOthers(folder), [], 'every file in the template 0600, every folder 0700 (PGlite leaves them 0666 and 0755)')
  await first.insert('email_logs', [{ id: '6f1c7a3e-0000-4000-8000-000000000001', mode: 'mock', to_email: 'a@example.com', status: 'sent' }])
  const migratedFirst = await appliedAt(first)
  t.same((await first.select('email_logs')).length, 1, 'the first start reopened its database after keeping the template')
  await first.close()

  // A template kept by an older version (files 0666, as PGlite leaves them) is made owner-only when used.
  await chmod(join(folder, 'global'), 0o755)
  await chmod(join(folder, 'PG_VERSION'), 0o666)

  // A start killed mid-copy leaves files but no PG_VERSION (copied last): the folder is still fresh.
  const secondDir = join(await tempDir(t, 'pglite-b-'), 'db')
  await cp(folder, secondDir, { recursive: true, filter: source => !source.endsWith('PG_VERSION') })
  await writeFile(join(secondDir, 'base', 'left-behind'), 'x')
  await writeFile(join(secondDir, 'notes.txt'), 'not the database\'s')
  const second = await createPgliteBackend({ dataDir: secondDir, templateDir })
  t.same(await appliedAt(second), migratedFirst, 'its migrations are the template\'s (same applied_at), not applied again')
  t.same(await second.select('email_logs'), [], 'none of the first folder\'s rows')
  t.same(await openToOthers(secondDir), [], 'and in a data folder copied from it')
  t.same(await openToOthers(folder), [], 'and an older template, loose, is made owner-only when it is used')
  t.equal(await exists(join(secondDir, 'base', 'left-behind')), false, 'what a cut-short copy left was cleared first')
  t.equal(await exists(join(secondDir, 'notes.txt')), true, 'only the database\'s own files')
  await second.close()

  const inMemory = await createPgliteBackend({ dataDir: 'memory://', templateDir })
  t.ok(await exists(templateFile(templateDir, DEFAULT_MIGRATIONS_DIR)), 'memory:// kept a tarball')
  t.equal((await stat(templateFile(templateDir, DEFAULT_MIGRATIONS_DIR))).mode & 0o777, 0o600)
  const migratedInMemory = await appliedAt(inMemory)
  await inMemory.close()
  const again = await createPgliteBackend({ dataDir: 'memory://', templateDir })
  t.same(await appliedAt(again), migratedInMemory, 'the next memory:// start loads it')
  await again.close()
})

t.test('a folder template that cannot be opened: the data folder is emptied and the database created', async t => {
  const templateDir = await tempDir(t, 'pglite-templates-')
  const folder = templateFolder(templateDir, DEFAULT_MIGRATIONS_DIR)
  await mkdir(folder, { recursive: true })
  await writeFile(join(folder, 'PG_VERSION'), '17\n')
  await writeFile(join(folder, 'postgresql.conf'), 'this is not a setting\n')
  const dataDir = join(await tempDir(t, 'pglite-c-'), 'db')
  await mkdir(dataDir, { recursive: true })
  const backend = await createPgliteBackend({ dataDir, templateDir })
  t.same((await backend.query('SELECT count(*)::int AS n FROM email_logs')).rows, [{ n: 0 }], 'created, every migration applied')
  await backend.close()
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
