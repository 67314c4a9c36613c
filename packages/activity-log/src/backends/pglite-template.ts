/**
 * A pre-initialised embedded database: PGlite's initdb (run in WASM) is most of a fresh start. The
 * first start that creates a database with a given set of migrations keeps it, empty and migrated,
 * as a template in the user's cache folder; every later fresh data folder (a new checkout, a test
 * worker's stack) starts from it instead. The key covers PGlite's version and every migration's name
 * and content, so a changed migration never loads an old template.
 *
 * Two kinds, each made by the first start that needs it: a data folder is copied from a closed
 * database's folder (`<key>.pgdata`: a file copy and an ordinary open, 0.4–0.9 s, against 1.5 s
 * for PGlite to unpack the same database from its tarball and about 5 s to create it), and an
 * in-memory database (`memory://`, which has no folder to copy into) is loaded from a tarball
 * (`<key>.tar.gz`). Only the newest few templates are kept.
 */
import { createHash } from 'node:crypto'
import { chmodSync, constants, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)

function pgliteVersion (): string {
  try {
    const entry = require.resolve('@electric-sql/pglite')
    // The entry is <package>/dist/index.js; its package.json is one folder up from dist.
    return (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

/** Where templates are kept unless SWITCHBOARD_PGLITE_TEMPLATE_DIR says otherwise ('off' turns them off). */
export function defaultTemplateDir (): string | undefined {
  const configured = process.env.SWITCHBOARD_PGLITE_TEMPLATE_DIR
  if (configured === 'off') return undefined
  if (configured) return configured
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'switchboard', 'pglite-templates')
}

function templateKey (migrationsDir: string): string {
  const hash = createHash('sha256').update(`pglite ${pgliteVersion()}\n`)
  for (const file of readdirSync(migrationsDir).filter(f => f.endsWith('.sql')).sort()) {
    hash.update(`${file}\n`).update(readFileSync(join(migrationsDir, file))).update('\n')
  }
  return hash.digest('hex').slice(0, 32)
}

/** The tarball an in-memory database is loaded from. */
export function templateFile (templateDir: string, migrationsDir: string): string {
  return join(templateDir, `${templateKey(migrationsDir)}.tar.gz`)
}

/** The closed database folder a fresh data folder is copied from. */
export function templateFolder (templateDir: string, migrationsDir: string): string {
  return join(templateDir, `${templateKey(migrationsDir)}.pgdata`)
}

/** A folder that holds no database yet (memory:// always starts empty). */
export function isFresh (dataDir: string): boolean {
  return dataDir.startsWith('memory://') || !existsSync(join(dataDir, 'PG_VERSION'))
}

export function readTemplate (file: string): Blob | undefined {
  try {
    return new Blob([readFileSync(file)])
  } catch {
    return undefined
  }
}

/** Written aside and renamed into place, owner-only, so a reader never sees half a file. */
export function writeTemplate (file: string, bytes: Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  const partial = `${file}.${process.pid}.partial`
  writeFileSync(partial, bytes, { mode: 0o600 })
  renameSync(partial, file)
  pruneTemplates(dirname(file), file)
}

/**
 * Copies a closed, migrated database folder into the template folder: aside, then renamed into
 * place, so a reader never copies half of one. Another process's template made at the same moment
 * wins the rename; this copy is then dropped.
 */
export function writeTemplateFolder (folder: string, fromDataDir: string): void {
  mkdirSync(dirname(folder), { recursive: true, mode: 0o700 })
  const partial = `${folder}.${process.pid}.partial`
  try {
    cpSync(fromDataDir, partial, { recursive: true, mode: constants.COPYFILE_FICLONE })
    // Owner only, like the data folder it was made from should be, whatever PGlite left.
    ownerOnly(partial)
    renameSync(partial, folder)
  } finally {
    rmSync(partial, { recursive: true, force: true })
  }
  pruneTemplates(dirname(folder), folder)
}

/**
 * Fills a fresh data folder from a template folder; false when there is none. A copy cut short
 * (the template pruned by another process meanwhile) throws: the caller empties the folder and
 * creates the database instead.
 */
export function copyTemplateFolder (folder: string, dataDir: string): boolean {
  const version = join(folder, 'PG_VERSION')
  if (!existsSync(version)) return false
  // A template kept before templates were made owner-only still has PGlite's 0666 files.
  try { ownerOnly(folder) } catch { /* best effort: its folder is 0700 */ }
  // PG_VERSION last: a start killed mid-copy leaves a folder that still reads as fresh (isFresh),
  // so the next start copies again instead of opening half a database. Copy-on-write where the
  // filesystem has it, a plain copy elsewhere. Entry by entry rather than with cpSync's filter:
  // a filter sends Node down its JavaScript copy, 0.8-1 s for the template's 1,100 files, against
  // 0.1 s for its native one (Node 24; a fresh start's largest part).
  for (const entry of readdirSync(folder)) {
    if (entry !== 'PG_VERSION') cpSync(join(folder, entry), join(dataDir, entry), { recursive: true, mode: constants.COPYFILE_FICLONE })
  }
  cpSync(version, join(dataDir, 'PG_VERSION'), { mode: constants.COPYFILE_FICLONE })
  return true
}

/**
 * Makes a database folder and everything in it owner-only (folders 0700, files 0600). PGlite
 * writes the files of a database it creates, or unpacks, as 0666 and its folders as 0755, and a
 * copy keeps those modes: the folder's own 0700 was the only thing between them and every user of
 * a shared machine (world-writable table files, in a folder anyone could be given access to).
 */
export function ownerOnly (folder: string): void {
  chmodSync(folder, 0o700)
  for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
    if (entry.isSymbolicLink()) continue
    try {
      chmodSync(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o700 : 0o600)
    } catch (err) {
      // Another user's file (a volume mounted with other owners) is not ours to change, and a
      // file the open database removed meanwhile is gone: neither is a reason to refuse a start.
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'EPERM' && code !== 'ENOENT') throw err
    }
  }
}

/** PostgreSQL's own names in a data folder: what a copy from a template can have left there. */
const DATABASE_ENTRY = /^(PG_VERSION|base|global|pg_[\w.]+|postgresql(\.auto)?\.conf|postmaster\.\w+)$/

/**
 * Removes what a start from a template cut short (killed, or the template pruned meanwhile) left
 * in a fresh data folder. Only PostgreSQL's own files: anything else in the folder is not ours.
 */
export function removeDatabaseFiles (dataDir: string): void {
  for (const entry of readdirSync(dataDir)) if (DATABASE_ENTRY.test(entry)) rmSync(join(dataDir, entry), { recursive: true, force: true })
}

/**
 * Each changed migration set makes new templates (about 5 MB as a tarball, 40 MB as a folder): the
 * cache keeps the newest few, enough for a few checkouts on different branches, and drops the rest.
 */
const TEMPLATES_KEPT = 4

function pruneTemplates (templateDir: string, justWritten: string): void {
  try {
    const entries = readdirSync(templateDir)
      .filter(name => /^[0-9a-f]{32}\.(tar\.gz|pgdata)$/.test(name))
      .map(name => ({ path: join(templateDir, name), mtime: statSync(join(templateDir, name)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime)
    for (const { path } of entries.slice(TEMPLATES_KEPT)) if (path !== justWritten) rmSync(path, { recursive: true, force: true })
  } catch { /* a cache: a template another process removed first is fine */ }
}
