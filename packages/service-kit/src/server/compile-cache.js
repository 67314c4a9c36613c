/**
 * Node's module compile cache for the stack's processes. A team starts a stack per test worker, so
 * start time counts, and compiling the servers' TypeScript (type stripping, then V8) and their
 * dependencies is a large part of it; with the cache, a start after the first reads both from disk
 * (bench/README.md has the measurements).
 *
 * JavaScript, with its types in compile-cache.d.ts, because it loads before the cache is on: a
 * TypeScript module here made Node load its own type stripper (a 3.7 MB bundle and a WebAssembly
 * compiler) at every start, 20–40 MiB of the idle stack's memory, when every other module came
 * already stripped from the cache. Only node: built-ins, for the same reason.
 *
 * The cache is the user's own, beside the database templates in ~/.cache/switchboard (not in a
 * shared /tmp another user could write to), unless NODE_COMPILE_CACHE names a folder. It is keyed by
 * each file's contents, so an edited file is compiled again; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
 */
import { mkdirSync } from 'node:fs'
import { enableCompileCache } from 'node:module'
import { homedir } from 'node:os'
import { join } from 'node:path'

export function compileCacheDir () {
  return process.env.NODE_COMPILE_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'switchboard', 'node-compile-cache')
}

/**
 * Turns the cache on for this process (call it before the modules to cache load) and, through the
 * environment, for its worker threads (the embedded database's) and child processes.
 */
export function enableStackCompileCache () {
  const dir = compileCacheDir()
  // Owner only, as the database templates beside it: Node makes the folders it needs 0755, and on a
  // fresh machine that made ~/.cache/switchboard itself readable by every user.
  try { mkdirSync(dir, { recursive: true, mode: 0o700 }) } catch { /* Node reports a folder it cannot use */ }
  const cache = enableCompileCache(dir)
  if (cache.directory) process.env.NODE_COMPILE_CACHE = cache.directory
}
