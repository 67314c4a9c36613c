/**
 * `./switchboard start`: turns on Node's compile cache (service-kit's compile-cache.ts), then
 * starts the stack (start.ts). The cache must be on before the stack's modules load, hence this
 * entry of its own.
 */
import { enableStackCompileCache } from '@switchboard/service-kit/compile-cache'

enableStackCompileCache()
await import('./start.ts')
