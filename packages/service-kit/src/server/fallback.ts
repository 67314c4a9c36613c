import type { Mode } from '@switchboard/schemas/common'
import { ProviderError } from '../outbound/provider-client.ts'

export interface Routed<T> {
  result: T
  /** Where the call actually went. */
  mode: Mode
  /** True when live mode failed and the emulator answered instead. */
  fallback: boolean
}

/**
 * The spec's "fallback option": in live mode with fallback on, a call the real provider fails to
 * serve (timeout, 5xx, unreachable, rate limited) is sent to the emulator instead, and the caller
 * marks its rows as fallback. A provider's refusal (4xx) is an answer, not an outage, and is never
 * retried elsewhere. Payments and Zoom never use this (SERVICES[name].neverFallsBack says why).
 */
export async function withFallback<T> (mode: Mode, fallbackOn: boolean, call: (mode: Mode) => Promise<T>, onFallback?: (err: ProviderError) => void): Promise<Routed<T>> {
  try {
    return { result: await call(mode), mode, fallback: false }
  } catch (err) {
    if (mode !== 'live' || !fallbackOn || !(err instanceof ProviderError) || !err.retryable) throw err
    onFallback?.(err)
    return { result: await call('mock'), mode: 'mock', fallback: true }
  }
}
