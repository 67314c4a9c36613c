/** The folder of the stack's compile cache (compile-cache.js). */
export function compileCacheDir (): string
/** Turns the cache on for this process, its worker threads and its child processes. */
export function enableStackCompileCache (): void
