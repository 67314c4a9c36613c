import type { ActivityLog } from '@switchboard/activity-log'

/** A receipt is kept at most this long (30 days), whatever window a receiver is configured with. */
const MAX_WINDOW_SECONDS = 30 * 86_400

/**
 * Which of `keys` (a provider's event identities) have not been applied within the last
 * `windowSeconds`, claiming them in the same step: the caller applies only those, so a replayed
 * webhook (a captured, correctly signed post sent again while its signature is still fresh) is
 * dropped. The claims live in the database (webhook_receipts, through one SQL function every
 * backend calls), so every instance of a service sees the same ones.
 */
export async function claimWebhookEvents (log: ActivityLog, provider: string, keys: string[], windowSeconds: number): Promise<Set<string>> {
  if (keys.length === 0) return new Set()
  const claimed = await log.rpc<string[] | null>('claim_webhook_receipts', { p_provider: provider, p_keys: keys, p_ttl_seconds: Math.min(Math.ceil(windowSeconds), MAX_WINDOW_SECONDS) }, { flush: false })
  return new Set(claimed ?? [])
}
