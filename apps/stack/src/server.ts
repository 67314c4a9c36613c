/**
 * `./switchboard start`: turns on Node's compile cache, then starts the stack (start.ts).
 *
 * A team starts a stack per test worker, so start time counts. Compiling the servers' TypeScript
 * (type stripping, then V8) is a large part of it; with the cache, a start after the first reads
 * both from disk. In seven interleaved pairs on this project's (noisy) machine, the median start to
 * /ready went from 3.8 to 3.2 s on a fresh data folder and stayed at 3.0 s on an existing one (its
 * best runs 2.3-2.5 s against 2.75-2.95).
 *
 * The cache is the user's own (beside the database templates in ~/.cache/switchboard, not in a
 * shared /tmp another user could write to) unless NODE_COMPILE_CACHE names a folder; it is keyed by
 * each file's contents, so an edited file is compiled again; NODE_DISABLE_COMPILE_CACHE=1 turns it
 * off. It must be on before the modules load, hence this entry of its own.
 */
import { enableCompileCache } from 'node:module'
import { homedir } from 'node:os'
import { join } from 'node:path'

const directory = process.env.NODE_COMPILE_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'switchboard', 'node-compile-cache')
const cache = enableCompileCache(directory)
// The embedded database's thread compiles its own modules: it inherits the folder through the environment.
if (cache.directory) process.env.NODE_COMPILE_CACHE = cache.directory

await import('./start.ts')
