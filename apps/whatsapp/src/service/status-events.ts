import { statusUpdateOf, type StatusUpdate } from '../aisensy-webhooks.ts'

// The statuses a status webhook reports. The activity log keeps rows moving forward only.
type WebhookStatus = StatusUpdate['status']
/**
 * A post's statuses apply in ladder order (sent, delivered, read, then failed), so a message ends
 * where the highest of these ranks alone would take it: read and delivered win over failed
 * (failed moves only from submitted or sent), failed over sent (sent then failed is failed).
 */
export const COALESCE_RANK: Record<WebhookStatus, number> = { sent: 0, failed: 1, delivered: 2, read: 3 }

/**
 * The status each message of a post ends at (COALESCE_RANK; of equal ranks the first, as the
 * second would find the row already moved), and how many of the post's events were status
 * updates at all (AiSensy's wire format: aisensy-webhooks.ts).
 */
export function finalStatuses (events: readonly unknown[]): { final: Map<string, StatusUpdate>, used: number } {
  const final = new Map<string, StatusUpdate>()
  let used = 0
  for (const e of events) {
    const update = statusUpdateOf(e)
    if (!update) continue
    used++
    const before = final.get(update.messageId)
    if (before === undefined || COALESCE_RANK[update.status] > COALESCE_RANK[before.status]) final.set(update.messageId, update)
  }
  return { final, used }
}

/** The columns a status sets besides the status itself: a failure's reason and code. */
export const failureColumns = ({ status, error }: StatusUpdate): { error?: string, error_code?: string } =>
  status === 'failed' ? { error: error?.title ?? 'failed', error_code: error?.code ?? 'failed' } : {}
