/**
 * `./switchboard start`: turns on Node's compile cache (service-kit's compile-cache.js), then
 * starts the stack (start.ts). The cache must be on before the stack's modules load, hence this
 * entry of its own, in JavaScript: Node strips a TypeScript entry's types before any cache is on,
 * loading its type stripper for the process's lifetime (see compile-cache.js).
 */
import { enableStackCompileCache } from '@switchboard/service-kit/compile-cache'

enableStackCompileCache()
await import('./start.ts')
