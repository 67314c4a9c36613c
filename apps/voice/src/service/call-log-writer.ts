import type { ActivityLog, Row } from '@switchboard/activity-log'
import { earlierStatuses, rankOf } from './status.ts'

/**
 * Every call_logs write of the voice service goes through here, on its way to the activity log.
 *
 * Bolna posts one webhook per status change (about six per call) and each was one UPDATE; the
 * activity log writes updates one statement at a time, so under load its queue grew without end.
 * Writes are kept here until the end of the current turn of the event loop (setImmediate), then
 * handed to the activity log together:
 *
 * - status updates of different calls with the same status and the same values become one
 *   statement (`WHERE id IN (…) AND status IN (earlier statuses)`), which is what the separate
 *   statements would have done;
 * - while the activity log is behind (BACKLOG operations waiting), writes stay here a little
 *   longer, and later writes to the same call fold into the one already waiting: a row not yet
 *   inserted takes its updates in memory, exactly as the database would apply them; two status
 *   updates of one call become one, to the higher status (see update());
 * - a status update that provably changes nothing is not written (see update()).
 *
 * Rows never move backwards: every status update keeps its `status IN (earlier statuses)` guard.
 * The service's own reads call flush() first, and the service flushes on close.
 */
export interface CallLogWriterOptions {
  activityLog: ActivityLog
  /** Activity log operations waiting above which writes are held and folded. Default 64. */
  backlog?: number
  /** How often held writes look again whether the activity log has caught up. Default 10 ms. */
  recheckMs?: number
  /** Most rows named in one grouped statement. Default 100 (Supabase sends them in a URL). */
  maxGroup?: number
  /** Calls remembered for skipping no-op updates (most recent first kept). Default 50,000. */
  remember?: number
}

type Key = 'id' | 'execution_id'

interface Pending {
  key: Key
  value: string
  /** A new row not yet handed to the activity log; later writes to it are applied to it here. */
  insert?: Row
  /** A patch applied whatever the row's status (the answer to POST /call), before `status`. */
  set?: Row
  /** The highest status posted for the row, and its patch (applied only from earlier statuses). */
  status?: string
  patch?: Row
}

/** What this process knows a call's row holds once everything it queued is written. */
interface Known { rank: number, executionId: string | undefined }

const now = () => new Date().toISOString()

export function createCallLogWriter (opts: CallLogWriterOptions) {
  const { activityLog } = opts
  const backlog = opts.backlog ?? 64
  const recheckMs = opts.recheckMs ?? 10
  const maxGroup = opts.maxGroup ?? 100
  const remember = opts.remember ?? 50_000

  let pending = new Map<string, Pending>()
  let scheduled = false
  let timer: NodeJS.Timeout | undefined
  let closed = false
  const known = new Map<string, Known>()
  const stats = { statements: 0, skipped: 0, folded: 0 }

  const keyOf = (key: Key, value: string) => (key === 'id' ? 'i' : 'e') + value
  function entry (key: Key, value: string): Pending {
    const k = keyOf(key, value)
    let p = pending.get(k)
    if (!p) pending.set(k, p = { key, value })
    return p
  }
  function remembered (id: string, k: Known): void {
    known.set(id, k)
    if (known.size > remember) known.delete(known.keys().next().value!)
  }

  function schedule (): void {
    if (scheduled) return
    scheduled = true
    setImmediate(run)
  }

  function run (): void {
    timer = undefined
    if (!closed && activityLog.pending >= backlog) {
      // The activity log is behind: keep folding here, look again shortly.
      timer = setTimeout(run, recheckMs)
      return
    }
    scheduled = false
    flush()
  }

  /** Hands everything waiting here to the activity log now (before a read, on close). */
  function flush (): void {
    if (pending.size === 0) return
    const batch = pending
    pending = new Map()
    // Inserts first (one multi-row statement), then the unconditional patches (they set the
    // execution id an update by execution id may look for), then the status updates, grouped.
    for (const p of batch.values()) {
      if (p.insert) activityLog.record('call_logs', p.insert)
    }
    for (const p of batch.values()) {
      if (p.set) {
        activityLog.recordUpdate('call_logs', { [p.key]: p.value }, p.set)
        stats.statements++
      }
    }
    const at = now()
    const groups = new Map<string, { key: Key, status: string, patch: Row, values: string[] }>()
    for (const p of batch.values()) {
      if (p.status === undefined || p.patch === undefined) continue
      // updated_at is the time of writing, the same for the whole group.
      const patch = { ...p.patch, updated_at: at }
      const signature = `${p.key}\u0000${p.status}\u0000${JSON.stringify(patch)}`
      const group = groups.get(signature)
      if (group && group.values.length < maxGroup) group.values.push(p.value)
      else {
        if (group) write(group)
        groups.set(signature, { key: p.key, status: p.status, patch, values: [p.value] })
      }
    }
    for (const group of groups.values()) write(group)
  }

  function write (g: { key: Key, status: string, patch: Row, values: string[] }): void {
    const from = earlierStatuses(g.status)!
    activityLog.recordUpdate('call_logs', { [g.key]: g.values.length === 1 ? g.values[0]! : { in: g.values }, status: { in: from } }, g.patch)
    stats.statements++
  }

  return {
    /** A new call row (with its id), written before anything else about the call. */
    insert (row: Row): void {
      const id = String(row.id)
      entry('id', id).insert = { ...row }
      remembered(id, { rank: rankOf(String(row.status)) ?? 0, executionId: typeof row.execution_id === 'string' ? row.execution_id : undefined })
      schedule()
    },

    /** A patch for the row with this id, whatever its status (Bolna's answer, or its refusal). */
    set (id: string, patch: Row): void {
      const p = entry('id', id)
      if (p.insert) {
        Object.assign(p.insert, patch)
        stats.folded++
      } else {
        p.set = p.set ? { ...p.set, ...patch } : { ...patch }
      }
      const k = known.get(id)
      if (k) {
        if (typeof patch.execution_id === 'string') k.executionId = patch.execution_id
        if (typeof patch.status === 'string') k.rank = rankOf(patch.status) ?? k.rank
      }
      schedule()
    },

    /**
     * Moves the row (by id, or by execution id) to `status` with `patch`, only from an earlier
     * status. Returns false when nothing was written because nothing could change:
     *
     * - the row was inserted by this process and an earlier write of this process already took
     *   it to this status or a later one. Proof: that row's insert was queued before any of its
     *   updates (the activity log writes in order), so it existed when the earlier write ran; a
     *   status update leaves a row at its status or later, and no write ever moves one back; so
     *   this update's `status IN (earlier statuses)` cannot match.
     *
     * Two updates of the same row that meet here before being written become one statement to the
     * higher status, with the lower one's values under the higher one's (Bolna's execution object
     * only accumulates, so the higher one carries them anyway); a lower status after a higher one
     * is dropped, as its guard would refuse it once the higher one is written.
     */
    update (key: Key, value: string, status: string, patch: Row): boolean {
      const rank = rankOf(status)
      const from = earlierStatuses(status)
      if (rank === undefined || !from) return false
      let body = patch
      const k = key === 'id' ? known.get(value) : undefined
      if (k) {
        if (rank <= k.rank) {
          stats.skipped++
          return false
        }
        k.rank = rank
        // The execution id is already on its way (set() queued it): the row needs no copy of it,
        // and updates without it can share one statement.
        if (k.executionId !== undefined && patch.execution_id === k.executionId) {
          const { execution_id: _alreadySet, ...rest } = patch
          body = rest
        }
      }
      const p = entry(key, value)
      if (p.insert) {
        // Not written yet: apply it here, as the database would.
        if ((from as readonly string[]).includes(String(p.insert.status))) Object.assign(p.insert, body)
        stats.folded++
      } else if (p.status === undefined) {
        p.status = status
        p.patch = body
      } else if (rank > rankOf(p.status)!) {
        p.patch = { ...p.patch, ...body }
        p.status = status
        stats.folded++
      } else {
        stats.folded++
      }
      schedule()
      return true
    },

    flush,

    /** Writes still held here (not yet handed to the activity log). */
    get pending (): number {
      return pending.size
    },

    /** Statements issued, updates skipped as no-ops, writes folded into another (for tests). */
    get stats () {
      return { ...stats }
    },

    close (): void {
      closed = true
      clearTimeout(timer)
      timer = undefined
      scheduled = false
      flush()
    }
  }
}

export type CallLogWriter = ReturnType<typeof createCallLogWriter>
