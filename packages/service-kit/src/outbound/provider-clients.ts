import type { Mode } from '@switchboard/schemas/common'
import type { CredentialsReport } from '../server/credentials.ts'
import { providerNotConfigured } from '../server/errors.ts'
import { pickSimulationHeaders } from '../emulator/simulation.ts'

/**
 * What a provider app needs to call its provider: the client for the current mode, and what each
 * call carries from the request that caused it. Every provider app builds its switch with
 * `modeClients` and its routes hand the service `callContext(request)`, so two apps differ only in
 * provider facts (the client, its mock credentials, the variables live mode needs).
 */

export interface ModeClientsOptions<C> {
  /** The provider as the not-configured error names it ("SendGrid"). */
  provider: string
  /** What live mode needs and what of it is set: the same report the service gives createServiceApp. */
  credentials: () => CredentialsReport
  /** The client for the service's own emulator (called once, at the first mock call). */
  mock: () => C
  /** The client for the provider (called once, at the first live call with nothing missing). */
  live: () => C
  /** The error for a live call while something is missing (default: providerNotConfigured(provider, missing)). */
  notConfigured?: (missing: string[]) => Error
}

/**
 * The mock/live client switch: `clientFor(mode)` gives the emulator's client in mock mode and the
 * provider's in live mode, each created at its first use and kept. A live call while credentials
 * are missing throws (a 503 naming the variables), checked on every live call; mock mode never
 * needs them. Falling back to the emulator is the service's decision, not this switch's.
 */
export function modeClients<C> (opts: ModeClientsOptions<C>): (mode: Mode) => C {
  let mockClient: C | undefined
  let liveClient: C | undefined
  return (mode: Mode): C => {
    if (mode === 'mock') {
      mockClient ??= opts.mock()
      return mockClient
    }
    const { missing } = opts.credentials()
    if (missing.length) throw opts.notConfigured ? opts.notConfigured(missing) : providerNotConfigured(opts.provider, missing)
    liveClient ??= opts.live()
    return liveClient
  }
}

/** What a service call carries from the request that caused it. */
export interface CallContext {
  requestId: string
  /** x-switchboard-* headers to pass to the emulator. */
  simulationHeaders?: Record<string, string>
  /**
   * Set when the request runs under an Idempotency-Key: the id the job it creates takes
   * (job-runner's newJobId), the same when a retry takes over the key of a request that died.
   */
  workId?: string
}

/** The call context of a route's request: its id, its x-switchboard-* headers and its idempotency claim's work id. */
export function callContext (request: { id: string, headers: Record<string, string | string[] | undefined>, idempotency?: { id: string } | null }): CallContext {
  return { requestId: request.id, simulationHeaders: pickSimulationHeaders(request.headers), ...(request.idempotency ? { workId: request.idempotency.id } : {}) }
}
