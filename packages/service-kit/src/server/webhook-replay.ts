import { createHash } from 'node:crypto'
import { batcher, type ActivityLog } from '@switchboard/activity-log'

/** A receipt is kept at most this long (30 days), whatever window a receiver is configured with. */
const MAX_WINDOW_SECONDS = 30 * 86_400

/**
 * A key as it is stored: itself, or past 200 characters its digest. A key is what the signed post
 * carried (SendGrid's sg_event_id, which a send's custom_args can set), and the receipts' primary
 * key takes about 2.7 KB: a longer one failed the claim of every post batched with it.
 */
const MAX_KEY = 200
const storedKey = (key: string) => key.length <= MAX_KEY ? key : `sha256:${createHash('sha256').update(key).digest('base64url')}`

interface ClaimRequest { provider: string, keys: string[], ttlSeconds: number }
type Claimer = (request: ClaimRequest) => Promise<Set<string>>
const claimers = new WeakMap<ActivityLog, Claimer>()

/**
 * Which of `keys` (a provider's event identities) have not been applied within the last
 * `windowSeconds`, claiming them in the same step: the caller applies only those, so a replayed
 * webhook (a captured, correctly signed post sent again while its signature is still fresh) is
 * dropped. The claims live in the database (webhook_receipts, through one SQL function every
 * backend calls), so every instance of a service sees the same ones.
 *
 * Posts that arrive together are claimed together: one call to the database per batch (a Zoom
 * meeting's each event is a post of its own), each post getting only the keys it asked for.
 */
export async function claimWebhookEvents (log: ActivityLog, provider: string, keys: string[], windowSeconds: number): Promise<Set<string>> {
  if (keys.length === 0) return new Set()
  let claim = claimers.get(log)
  if (claim === undefined) {
    claim = batcher(requests => claimTogether(log, requests))
    claimers.set(log, claim)
  }
  return claim({ provider, keys, ttlSeconds: Math.min(Math.ceil(windowSeconds), MAX_WINDOW_SECONDS) })
}

async function claimTogether (log: ActivityLog, requests: ClaimRequest[]): Promise<Array<Set<string>>> {
  const groups = new Map<string, ClaimRequest[]>()
  for (const r of requests) {
    const group = `${r.provider}\u0000${r.ttlSeconds}`
    groups.set(group, [...(groups.get(group) ?? []), r])
  }
  const won = new Map<ClaimRequest, Set<string>>()
  await Promise.all([...groups.values()].map(async group => {
    const { provider, ttlSeconds } = group[0]!
    const keys = [...new Set(group.flatMap(r => r.keys.map(storedKey)))]
    const claimed = new Set(await log.rpc<string[] | null>('claim_webhook_receipts', { p_provider: provider, p_keys: keys, p_ttl_seconds: ttlSeconds }, { flush: false }) ?? [])
    // The same key in two posts of one batch (a replay racing its original): the first post has it.
    for (const r of group) {
      const mine = new Set<string>()
      for (const key of r.keys) if (claimed.delete(storedKey(key))) mine.add(key)
      won.set(r, mine)
    }
  }))
  return requests.map(r => won.get(r)!)
}
