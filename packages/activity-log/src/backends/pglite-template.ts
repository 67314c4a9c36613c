/**
 * A pre-initialised embedded database: PGlite's initdb (run in WASM) is most of a fresh start, five
 * times longer than loading the same database from a tarball. The first start that creates a
 * database with a given set of migrations keeps it, empty and migrated, as a template in the user's
 * cache folder; every later fresh data folder (a new checkout, a test worker's stack) is loaded from
 * it instead of created. The key covers PGlite's version and every migration's name and content, so
 * a changed migration never loads an old template.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
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

export function templateFile (templateDir: string, migrationsDir: string): string {
  const hash = createHash('sha256').update(`pglite ${pgliteVersion()}\n`)
  for (const file of readdirSync(migrationsDir).filter(f => f.endsWith('.sql')).sort()) {
    hash.update(`${file}\n`).update(readFileSync(join(migrationsDir, file))).update('\n')
  }
  return join(templateDir, `${hash.digest('hex').slice(0, 32)}.tar.gz`)
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
}
