import type { CallStatus } from '@switchboard/schemas/voice'
import { MAX_RETRY_INTERVAL_MINUTES } from './errors.ts'
import type { Ending, Execution } from './execution.ts'

/**
 * Bolna's auto-retry (`retry_config` on POST /call and POST /batches; bolna.ai/docs/auto-retry): a
 * call that ends with one of `retry_on_statuses` (or reaches voicemail, with `retry_on_voicemail`)
 * is placed again after `retry_intervals_minutes[n]`, at most `max_retries` times. The docs show the
 * retry as the same execution: its webhook carries `status: "scheduled"`, `retry_count`,
 * `retry_config`, `retry_history` (`{attempt, status, at}` per failed attempt) and `scheduled_at`.
 */
export interface RetryPolicy {
  maxRetries: number
  onStatuses: CallStatus[]
  onVoicemail: boolean
  intervalsMinutes: number[]
}

/** What an execution placed with auto-retry carries (only then: other executions are unchanged). */
export interface RetryFields {
  retry_count: number
  retry_config: { enabled: true, max_retries: number, retry_on_statuses: CallStatus[], retry_on_voicemail: boolean, retry_intervals_minutes: number[] }
  retry_history: Array<{ attempt: number, status: string, at: string }>
}

const DEFAULTS: RetryPolicy = { maxRetries: 3, onStatuses: ['no-answer', 'busy', 'failed'], onVoicemail: false, intervalsMinutes: [30, 60, 120] }

// pydantic's lax reading, as retryConfigProblems (errors.ts) validated it.
const laxBool = (x: unknown) => x === true || x === 1 || (typeof x === 'string' && /^(true|yes|on|t|y|1)$/i.test(x))
const laxInt = (x: unknown) => typeof x === 'string' ? Number(x.trim()) : Number(x)

/**
 * The policy of a `retry_config` that passed retryConfigProblems, with Bolna's defaults for what it
 * leaves out; undefined unless it is enabled. A batch's config arrives as a JSON string.
 */
export function readRetryPolicy (config: unknown): RetryPolicy | undefined {
  if (typeof config === 'string') {
    try { config = JSON.parse(config) } catch { return undefined }
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) return undefined
  const c = config as Record<string, unknown>
  if (!laxBool(c.enabled)) return undefined
  const intervals = Array.isArray(c.retry_intervals_minutes) ? c.retry_intervals_minutes.map(laxInt).filter(n => Number.isInteger(n) && n >= 0 && n <= MAX_RETRY_INTERVAL_MINUTES) : []
  const max = laxInt(c.max_retries)
  return {
    maxRetries: Number.isInteger(max) && max >= 1 && max <= 3 ? max : DEFAULTS.maxRetries,
    onStatuses: Array.isArray(c.retry_on_statuses) ? c.retry_on_statuses as CallStatus[] : DEFAULTS.onStatuses,
    onVoicemail: c.retry_on_voicemail === undefined ? DEFAULTS.onVoicemail : laxBool(c.retry_on_voicemail),
    intervalsMinutes: intervals.length ? intervals : DEFAULTS.intervalsMinutes
  }
}

/** The fields a new execution placed with this policy starts with. */
export function retryFields (policy: RetryPolicy): RetryFields {
  return {
    retry_count: 0,
    retry_config: {
      enabled: true,
      max_retries: policy.maxRetries,
      retry_on_statuses: policy.onStatuses,
      retry_on_voicemail: policy.onVoicemail,
      retry_intervals_minutes: policy.intervalsMinutes
    },
    retry_history: []
  }
}

/**
 * The wait before the next attempt of a call that just ended with `status` (its `ending` tells a
 * voicemail from an answered call), or undefined when it is not retried. With fewer intervals than
 * retries the last one is used again (unverified: the docs only show as many as retries).
 */
export function retryDelayMs (policy: RetryPolicy, execution: Execution & Partial<RetryFields>, status: CallStatus, ending: Ending): number | undefined {
  const count = execution.retry_count ?? 0
  if (count >= policy.maxRetries) return undefined
  const voicemail = ending === 'voicemail' && status === 'completed'
  if (!(voicemail ? policy.onVoicemail : policy.onStatuses.includes(status))) return undefined
  const minutes = policy.intervalsMinutes[Math.min(count, policy.intervalsMinutes.length - 1)]!
  return minutes * 60_000
}
