import { createHash, randomUUID } from 'node:crypto'
import type { Clock } from '@switchboard/service-kit/clock'
import type { SendGridEvent } from '../sendgrid-webhooks.ts'
import { deriveSigningKey, type SigningKey } from './event-webhook.ts'

/**
 * The account's Event Webhooks, as SendGrid's Webhooks API (tsg_webhooks_v3) describes them: up
 * to `max_allowed` of them, each with its URL, its event selection, an optional friendly name and
 * OAuth settings, and its own signing key. The oldest is the "legacy" one (created_date null): the
 * single-webhook routes operate on it, and it signs with the key kept in the data folder, so a
 * receiver set up before several webhooks existed keeps verifying.
 */
export const EVENT_FLAGS = ['group_resubscribe', 'delivered', 'group_unsubscribe', 'spam_report', 'bounce', 'deferred', 'unsubscribe', 'processed', 'open', 'click', 'dropped'] as const
export type EventFlag = typeof EVENT_FLAGS[number]

/** The spec's example plan allows five. */
export const MAX_WEBHOOKS = 5

/** The event type each flag selects (the event's `event` field). */
const FLAG_OF_EVENT: Record<string, EventFlag> = {
  processed: 'processed',
  delivered: 'delivered',
  deferred: 'deferred',
  bounce: 'bounce', // bounces and blocks alike: `type` tells them apart
  dropped: 'dropped',
  open: 'open',
  click: 'click',
  spamreport: 'spam_report',
  unsubscribe: 'unsubscribe',
  group_unsubscribe: 'group_unsubscribe',
  group_resubscribe: 'group_resubscribe'
}

export interface EventWebhook {
  id: string
  enabled: boolean
  /** undefined on the legacy webhook until a URL is set: the emulator's default receiver then. */
  url: string | undefined
  events: Record<EventFlag, boolean>
  friendly_name: string | null
  oauth_client_id: string | null
  /** Kept to send to the token URL; never returned (the spec's responses have no such field). */
  oauth_client_secret: string | null
  oauth_token_url: string | null
  signed: boolean
  key: SigningKey
  created_date: string | null
  updated_date: string
  /** Creation order: the oldest is the legacy one. */
  seq: number
}

/** A webhook as stored (webhook-settings persistence): no key, and no OAuth client secret. */
export type StoredWebhook = Omit<EventWebhook, 'key' | 'oauth_client_secret'> & { legacyKey: boolean }

/** Where webhooks are kept beyond memory (persist.ts); each change handed over as it happens. */
export interface WebhookPersistence {
  saved: (hook: EventWebhook) => void
  /**
   * Makes `edit` on the stored copy of `hook` (never over another instance's change) and answers
   * the webhook as held afterwards; undefined when it is not stored (then it is edited as held).
   */
  change?: (hook: EventWebhook, edit: (h: EventWebhook) => void) => Promise<EventWebhook | undefined>
  removed: (hook: EventWebhook) => void
  newSeq: () => number
}

export type WebhookChanges = Partial<Pick<EventWebhook, 'enabled' | 'url' | 'friendly_name' | 'oauth_client_id' | 'oauth_client_secret' | 'oauth_token_url'>> & Partial<Record<EventFlag, boolean>>

export type SettingsError = { kind: 'invalid_url', url: string } | { kind: 'url_taken', url: string, id: string } | { kind: 'max_reached' }

const allEvents = (): Record<EventFlag, boolean> => Object.fromEntries(EVENT_FLAGS.map(f => [f, true])) as Record<EventFlag, boolean>
const noEvents = (): Record<EventFlag, boolean> => Object.fromEntries(EVENT_FLAGS.map(f => [f, false])) as Record<EventFlag, boolean>

export function validUrl (url: string): boolean {
  try {
    const u = new URL(url)
    return u.protocol === 'http:' || u.protocol === 'https:'
  } catch {
    return false
  }
}

export class WebhookSettings {
  readonly #clock: Clock
  readonly #legacyKey: SigningKey
  readonly #defaultUrl: () => string | undefined
  #hooks: EventWebhook[] = []
  #persistence: WebhookPersistence | undefined

  constructor (opts: { clock: Clock, legacyKey: SigningKey, defaultUrl: () => string | undefined }) {
    this.#clock = opts.clock
    this.#legacyKey = opts.legacyKey
    this.#defaultUrl = opts.defaultUrl
    this.reset()
  }

  /** From now on every change is handed to `persistence`. */
  persistTo (persistence: WebhookPersistence): void {
    this.#persistence = persistence
  }

  /**
   * Back to one legacy webhook: enabled, signed, posting to the default receiver. Its id follows
   * from the account's key, so instances sharing that key that reset (or start on a new database)
   * together make the same one.
   */
  reset (): void {
    const id = createHash('sha256').update(`legacy:${this.#legacyKey.publicKeyBase64}`).digest('hex')
    const uuid = `${id.slice(0, 8)}-${id.slice(8, 12)}-4${id.slice(13, 16)}-a${id.slice(17, 20)}-${id.slice(20, 32)}`
    this.#hooks = [{ ...this.#newHook({ url: undefined, created_date: null, signed: true, key: this.#legacyKey }), id: uuid, seq: 1 }]
  }

  /** The default legacy webhook, stored (a new database, or after a reset). */
  persistDefault (): void {
    for (const h of this.#hooks) this.#persistence?.saved(h)
  }

  /** A webhook as stored, for the database. */
  static toStored (hook: EventWebhook, legacyKey: boolean): StoredWebhook {
    const { key: _key, oauth_client_secret: _secret, ...rest } = hook
    return { ...rest, events: { ...hook.events }, legacyKey }
  }

  isLegacyKey (hook: EventWebhook): boolean {
    return hook.key === this.#legacyKey
  }

  /** A stored webhook back as one (its key derived again, its OAuth secret unknown). */
  fromStored (doc: StoredWebhook): EventWebhook {
    const { legacyKey, ...rest } = doc
    return { ...rest, events: { ...allEvents(), ...doc.events }, oauth_client_secret: null, key: legacyKey ? this.#legacyKey : deriveSigningKey(this.#legacyKey, doc.id) }
  }

  /** The stored webhooks replace these (at start). */
  restore (docs: StoredWebhook[]): void {
    this.#hooks = docs.map(d => this.fromStored(d)).sort((a, b) => a.seq - b.seq)
  }

  /** A webhook another instance created or changed (sync): in its place by creation order. */
  applyStored (doc: StoredWebhook): EventWebhook {
    const hook = this.fromStored(doc)
    this.#hooks = [...this.#hooks.filter(h => h.id !== hook.id), hook].sort((a, b) => a.seq - b.seq)
    return hook
  }

  /** A webhook another instance deleted (sync). */
  forget (id: string): void {
    this.#hooks = this.#hooks.filter(h => h.id !== id)
  }

  /** Whole seconds, as the docs' examples give the dates ("2023-01-01T12:00:00Z"). */
  #now (): string {
    return new Date(this.#clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z')
  }

  #newHook (fields: Pick<EventWebhook, 'url' | 'created_date' | 'signed' | 'key'> & { id?: string }): EventWebhook {
    return { id: randomUUID(), enabled: true, events: allEvents(), friendly_name: null, oauth_client_id: null, oauth_client_secret: null, oauth_token_url: null, updated_date: this.#now(), seq: this.#persistence?.newSeq() ?? this.#hooks.length + 1, ...fields }
  }

  all (): readonly EventWebhook[] {
    return this.#hooks
  }

  get (id: string): EventWebhook | undefined {
    return this.#hooks.find(h => h.id === id)
  }

  /** The oldest webhook, which the single-webhook (legacy) routes read and change. */
  oldest (): EventWebhook | undefined {
    return this.#hooks[0]
  }

  /** Where a webhook posts: its URL, or the default receiver for a legacy one without. */
  urlOf (hook: EventWebhook): string | undefined {
    return hook.url ?? (hook.created_date === null ? this.#defaultUrl() : undefined)
  }

  #check (changes: WebhookChanges, self?: EventWebhook): SettingsError | undefined {
    if (changes.url === undefined) return undefined
    if (!validUrl(changes.url)) return { kind: 'invalid_url', url: changes.url }
    const taken = this.#hooks.find(h => h !== self && this.urlOf(h) === changes.url)
    if (taken) return { kind: 'url_taken', url: changes.url, id: taken.id }
    return undefined
  }

  create (changes: WebhookChanges & { url: string }): EventWebhook | SettingsError {
    if (this.#hooks.length >= MAX_WEBHOOKS) return { kind: 'max_reached' }
    const error = this.#check(changes)
    if (error) return error
    // A new webhook starts unsigned, as on SendGrid: signing is switched on per webhook, with a
    // key of its own (derived from the account's key and its id: deriveSigningKey).
    const id = randomUUID()
    const hook = this.#newHook({ id, url: changes.url, created_date: this.#now(), signed: false, key: deriveSigningKey(this.#legacyKey, id) })
    // The events are opt-in: tsg_webhooks_v3 has creation "select which events you want to
    // receive" and words every flag "set this property to `true` to receive …", with no default,
    // so a flag left out of the create body is not selected. (Updates stay partial: a PATCH
    // changes only the flags it names.) `enabled` is worded alike but left on when omitted: a
    // webhook created with a URL is meant to post, and SendGrid's default here is not recorded.
    hook.events = noEvents()
    this.#apply(hook, changes)
    this.#hooks.push(hook)
    this.#persistence?.saved(hook)
    return hook
  }

  async update (hook: EventWebhook, changes: WebhookChanges): Promise<EventWebhook | SettingsError> {
    const error = this.#check(changes, hook)
    if (error) return error
    return await this.#change(hook, h => { this.#apply(h, changes); h.updated_date = this.#now() })
  }

  /** The legacy PATCH on an account with no webhook left makes a new legacy one. */
  ensureLegacy (): EventWebhook {
    if (!this.#hooks[0]) {
      this.#hooks.push(this.#newHook({ url: undefined, created_date: null, signed: true, key: this.#legacyKey }))
      this.#persistence?.saved(this.#hooks[0]!)
    }
    return this.#hooks[0]!
  }

  async setSigned (hook: EventWebhook, signed: boolean): Promise<EventWebhook> {
    return await this.#change(hook, h => { h.signed = signed; h.updated_date = this.#now() })
  }

  /**
   * A change to a webhook, on its stored copy when there is one: the copy held here may be up to a
   * sync old, and writing it whole put another instance's change (a rename, signing switched on)
   * back to what it was. The webhook as it is afterwards is answered (and held).
   */
  async #change (hook: EventWebhook, edit: (h: EventWebhook) => void): Promise<EventWebhook> {
    const changed = await this.#persistence?.change?.(hook, edit)
    if (changed) return changed
    edit(hook)
    this.#persistence?.saved(hook)
    return hook
  }

  delete (id: string): boolean {
    const hook = this.get(id)
    if (!hook) return false
    this.#hooks = this.#hooks.filter(h => h !== hook)
    this.#persistence?.removed(hook)
    return true
  }

  #apply (hook: EventWebhook, changes: WebhookChanges): void {
    for (const flag of EVENT_FLAGS) if (changes[flag] !== undefined) hook.events[flag] = changes[flag]
    if (changes.enabled !== undefined) hook.enabled = changes.enabled
    if (changes.url !== undefined) hook.url = changes.url
    if (changes.friendly_name !== undefined) hook.friendly_name = changes.friendly_name
    if (changes.oauth_client_id !== undefined) hook.oauth_client_id = changes.oauth_client_id
    if (changes.oauth_client_secret !== undefined) hook.oauth_client_secret = changes.oauth_client_secret
    if (changes.oauth_token_url !== undefined) hook.oauth_token_url = changes.oauth_token_url
  }
}

/** Whether a webhook's event selection includes this event (unknown types are always sent). */
export function selects (hook: EventWebhook, event: SendGridEvent): boolean {
  const flag = FLAG_OF_EVENT[event.event]
  return flag === undefined || hook.events[flag]
}
