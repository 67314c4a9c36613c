import { nextSeq, type EmulatorState } from '@switchboard/activity-log'
import type { BatchStatus, Held, ScheduledPersistence, ScheduledSends } from './scheduled-sends.ts'
import type { MailStats, Metrics } from './stats.ts'
import { WebhookSettings, type EventWebhook, type StoredWebhook, type WebhookPersistence } from './webhook-settings.ts'

const STATS = 'stats'
const BATCH = 'batch'
const HELD = 'held'
const WEBHOOK = 'webhook'
/** A marker: this database's webhook settings were set up (so no webhooks at all means all deleted). */
const ACCOUNT = 'account'

/** Most rows kept per kind (oldest first), checked every minute. */
export const SENDGRID_RETENTION = { stats: 10_000, batch: 100_000, held: 100_000 }

interface StoredStats { day: string, metrics: Metrics }
interface StoredBatch { status: BatchStatus | null }

/**
 * The SendGrid emulator's state in the database (table sendgrid_emulator_state, through the shared
 * EmulatorState):
 * - stats: one row per UTC day and instance (its writer id), so instances never overwrite each
 *   other's counts; GET /v3/stats adds up every row of the days asked for;
 * - batches: each batch id with its cancel/pause status;
 * - held: each scheduled send waiting for its send_at, released by whichever instance claims it;
 * - webhooks: the Event Webhook settings, without keys (derived again from the data folder's key)
 *   or OAuth client secrets.
 * Every instance holds all of it in memory; what other instances change arrives through sync(),
 * every second, and a batch or webhook not held yet is read from the database on first use.
 */
export class SendGridPersistence implements ScheduledPersistence, WebhookPersistence {
  readonly #db: EmulatorState
  readonly #seqs = new Map<string, number>()
  #timer: NodeJS.Timeout | undefined
  #busy: Promise<void> | undefined
  #settings: WebhookSettings | undefined

  constructor (db: EmulatorState) {
    this.#db = db
  }

  get state (): EmulatorState { return this.#db }

  newSeq (): number { return nextSeq() }

  // ---- stats -----------------------------------------------------------------------------------

  /** This instance's counters of a day (a row of its own: `day/writer`). */
  statsChanged (day: string, metrics: Metrics): void {
    const id = `${day}/${this.#db.writer}`
    let seq = this.#seqs.get(id)
    if (seq === undefined) this.#seqs.set(id, seq = nextSeq())
    this.#db.put(STATS, id, { day, metrics }, { seq })
  }

  // ---- batches and held sends --------------------------------------------------------------------

  batch (id: string, status: BatchStatus | null): void {
    let seq = this.#seqs.get(`b/${id}`)
    if (seq === undefined) this.#seqs.set(`b/${id}`, seq = nextSeq())
    this.#db.put(BATCH, id, { status }, { seq })
  }

  async lookup (batchId: string): Promise<BatchStatus | null | undefined> {
    return (await this.#db.get<StoredBatch>(BATCH, batchId))?.doc.status
  }

  held (h: Held): void {
    this.#db.put(HELD, h.id, h, { seq: nextSeq(), dueAt: h.sendAtMs })
  }

  claim (h: Held): Promise<boolean> {
    return this.#db.claim(HELD, h.id, 0, 1, null)
  }

  done (h: Held): void {
    this.#db.remove(HELD, h.id, nextSeq())
  }

  // ---- webhooks ----------------------------------------------------------------------------------

  saved (hook: EventWebhook): void {
    this.#db.put(WEBHOOK, hook.id, WebhookSettings.toStored(hook, this.#settings?.isLegacyKey(hook) ?? false), { seq: hook.seq })
  }

  async change (hook: EventWebhook, edit: (h: EventWebhook) => void): Promise<EventWebhook | undefined> {
    const settings = this.#settings
    if (!settings) return undefined
    // The OAuth client secret is never stored: it travels from the copy held to the one edited.
    let secret = hook.oauth_client_secret
    const stored = await this.#db.change<StoredWebhook>(WEBHOOK, hook.id, doc => {
      const copy = settings.fromStored(doc)
      copy.oauth_client_secret = hook.oauth_client_secret
      edit(copy)
      secret = copy.oauth_client_secret
      return WebhookSettings.toStored(copy, doc.legacyKey)
    })
    if (!stored) return undefined
    const held = settings.applyStored(stored.doc)
    held.oauth_client_secret = secret
    return held
  }

  removed (hook: EventWebhook): void {
    this.#db.remove(WEBHOOK, hook.id, hook.seq)
  }

  /** A webhook this instance does not hold (created through another instance), from the database. */
  async findWebhook (id: string): Promise<EventWebhook | undefined> {
    const r = await this.#db.get<StoredWebhook>(WEBHOOK, id)
    return r && this.#settings ? this.#settings.applyStored(r.doc) : undefined
  }

  // ---- start, sync, reset ------------------------------------------------------------------------

  /**
   * Loads what is stored: other rows of stats, batches, held sends and the webhooks (on a new
   * database, this instance's default legacy webhook is stored instead).
   */
  async restore (stats: MailStats, scheduled: ScheduledSends, settings: WebhookSettings): Promise<void> {
    this.#settings = settings
    settings.persistTo(this)
    await this.#db.markSync()
    for (const r of await this.#db.load<StoredStats>(STATS)) stats.setOther(r.id, r.doc.day, r.doc.metrics)
    for (const r of await this.#db.load<StoredBatch>(BATCH)) scheduled.applyBatch(r.id, r.doc.status)
    for (const r of await this.#db.load<Held>(HELD)) if (r.step === 0) scheduled.applyHeld(r.doc)
    const hooks = await this.#db.load<StoredWebhook>(WEBHOOK)
    if (hooks.length > 0 || await this.#db.get(ACCOUNT, ACCOUNT)) settings.restore(hooks.map(r => r.doc))
    else this.setUp(settings)
  }

  /** The account's settings as a new one has them (a new database, or after a reset), stored. */
  setUp (settings: WebhookSettings): void {
    settings.persistDefault()
    this.#db.put(ACCOUNT, ACCOUNT, { setUp: true }, { seq: 0 })
  }

  /** Every intervalMs, what other instances changed; `cleared` when one of them reset the emulator. */
  start (opts: { intervalMs: number, stats: MailStats, scheduled: ScheduledSends, settings: WebhookSettings, cleared: () => void, onError: (err: unknown) => void }): void {
    const tick = async () => {
      await this.#db.sync(({ cleared, records }) => {
        if (cleared) opts.cleared()
        for (const r of records) {
          if (r.kind === STATS && !r.deleted) {
            const doc = r.doc as StoredStats
            opts.stats.setOther(r.id, doc.day, doc.metrics)
          } else if (r.kind === BATCH && !r.deleted) {
            opts.scheduled.applyBatch(r.id, (r.doc as StoredBatch).status)
          } else if (r.kind === HELD) {
            if (r.deleted || r.step !== 0) opts.scheduled.forgetHeld(r.id)
            else opts.scheduled.applyHeld(r.doc as Held)
          } else if (r.kind === WEBHOOK) {
            if (r.deleted) opts.settings.forget(r.id)
            else opts.settings.applyStored(r.doc as StoredWebhook)
          }
        }
      })
    }
    const run = () => { this.#busy ??= tick().catch(opts.onError).finally(() => { this.#busy = undefined }) }
    this.#timer = setInterval(run, opts.intervalMs)
    this.#timer.unref()
    this.#db.startRetention(60_000)
  }

  async clear (): Promise<number> {
    this.#seqs.clear()
    return await this.#db.clear()
  }

  async close (): Promise<void> {
    clearInterval(this.#timer)
    await this.#busy
    await this.#db.close()
  }
}
