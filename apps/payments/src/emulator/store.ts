import { createHash } from 'node:crypto'
import { nextSeq, type EmulatorState } from '@switchboard/activity-log'
import { BoundedMap } from '@switchboard/service-kit/bounded-map'
import { isoNow, systemClock, type Clock } from '@switchboard/service-kit/clock'
import { randomBelow, randomHex } from '@switchboard/service-kit/ids'
import { fromPaise } from '../amount.ts'

/** What the emulator keeps about one payment request. Amounts in integer paise. */
export interface RequestRecord {
  id: string
  amountPaise: number
  purpose: string
  buyer_name: string | null
  email: string | null
  phone: string | null
  send_email: boolean
  send_sms: boolean
  redirect_url: string | null
  webhook: string | null
  allow_repeated_payments: boolean
  expires_at: string | null
  created_at: string
  modified_at: string
  completed: boolean
  paymentIds: string[]
  longurl: string
  shorturl: string
  /** Read at least once since creation: the short URL and the email/SMS statuses are "filled later". */
  settled: boolean
  /** Switched off with POST /v2/payment_requests/{id}/disable/ (until /enable/): it takes no payment. */
  disabled?: boolean
  /** The currency its payments are in; absent: INR (every payment request is in rupees). */
  currency?: OrderCurrency
  /** Made to back a gateway order (POST /v2/gateway/orders/): its id. Not listed as a payment request. */
  orderId?: string
}

/** The currencies a gateway order takes (the C# SDK's PaymentOrder.CurrencyArray). */
export const ORDER_CURRENCIES = ['INR', 'USD'] as const
export type OrderCurrency = typeof ORDER_CURRENCIES[number]

/**
 * A v2 gateway order (POST /v2/gateway/orders/, or …/payment-request/ for an existing payment
 * request). It is paid through the payment request behind it (`requestId`): its status and its
 * payments are read from that request's payments (those from `firstPayment` on: a payment
 * request an order was made for may have been paid before), so an order never changes after its
 * creation and payments, webhooks, refunds and the clock work on it as on any payment request.
 */
export interface OrderRecord {
  id: string
  /** The caller's own id, unique in the account; null for an order made for a payment request. */
  transaction_id: string | null
  requestId: string
  firstPayment: number
  currency: OrderCurrency
  amountPaise: number
  name: string | null
  email: string | null
  phone: string | null
  description: string | null
  redirect_url: string | null
  webhook_url: string | null
  created_at: string
}

export type Instrument = 'UPI' | 'CARD' | 'NETBANKING' | 'WALLET'
export const INSTRUMENTS: Record<Instrument, string> = {
  // billing_instrument labels (unverified): shaped like the dashboard's wording.
  UPI: 'UPI',
  CARD: 'Domestic Credit Card (Visa)',
  NETBANKING: 'Net Banking (HDFC Bank)',
  WALLET: 'Wallet (Paytm)'
}

export interface PaymentRecord {
  id: string
  requestId: string
  status: 'Credit' | 'Failed'
  amountPaise: number
  feesPaise: number
  instrument_type: Instrument
  failure: { reason: string, message: string } | null
  buyer_name: string | null
  email: string | null
  phone: string | null
  created_at: string
  /**
   * What its refunds took back so far, in paise, counted on its stored copy (see refund()) so that
   * two instances refunding it at once never give back more than was paid. Absent on a payment
   * stored before this was kept: then its refunds held are summed.
   */
  refundedPaise?: number
}

/** What refund() answers: the paise refunded, or what is left of the payment when that could not be. */
export type RefundTaken = { refunded: number } | { remaining: number }

/** The refund types Instamojo takes (Java SDK's Refund.VALID_REFUND_TYPES; providers.md §3). */
export const REFUND_TYPES = ['RFD', 'TNR', 'QFL', 'QNR', 'EWN', 'TAN', 'PTH'] as const

/** One refund (POST /v2/payments/{id}/refund/). Amounts in integer paise. */
export interface RefundRecord {
  id: string
  paymentId: string
  type: typeof REFUND_TYPES[number]
  body: string
  refundPaise: number
  /** The payment's amount: the Java SDK's total_amount. */
  totalPaise: number
  /** The caller's own reference for the refund (the Node SDK sends one); kept, not answered. */
  transaction_id: string | null
  created_at: string
}

/** ISO-8601 in UTC with microseconds and Z, as Instamojo writes timestamps. */
export function isoMicro (d?: Date): string {
  // toISOString is always YYYY-MM-DDTHH:mm:ss.sssZ for the years an emulator sees.
  return `${(d === undefined ? isoNow() : d.toISOString()).slice(0, 23)}${String(randomBelow(1000)).padStart(3, '0')}Z`
}

/** 32 lowercase hex, like 92e58bd771414d05a5e443b0a85f8b43. */
export const newRequestId = () => randomHex(16)

/**
 * MOJO + 16 characters shaped like the recorded MOJO5a06005J21512197: year digit, month letter
 * (a = January), day, three digits, an upper-case letter, eight digits. (Structure inferred from
 * the one recorded id; unverified.)
 */
export function newPaymentId (d = new Date()): string {
  const digits = (n: number) => {
    let s = ''
    for (let i = 0; i < n; i++) s += randomBelow(10)
    return s
  }
  const month = String.fromCharCode(97 + d.getUTCMonth())
  const day = String(d.getUTCDate()).padStart(2, '0')
  const letter = String.fromCharCode(65 + randomBelow(26))
  return `MOJO${d.getUTCFullYear() % 10}${month}${day}${digits(3)}${letter}${digits(8)}`
}

/**
 * R + month and day + three upper-case letters + five digits, shaped like the one refund id the
 * reference's SDK tests record (R0312ONS85032; structure inferred, unverified).
 */
export function newRefundId (d = new Date()): string {
  let letters = ''
  for (let i = 0; i < 3; i++) letters += String.fromCharCode(65 + randomBelow(26))
  let digits = ''
  for (let i = 0; i < 5; i++) digits += randomBelow(10)
  return `R${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}${letters}${digits}`
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
/**
 * A short link's slug: five letters and digits, as Instamojo's are; `length` more where a guessed one
 * must not open a buyer's checkout page (EMULATOR_AUTH=issued: 916 million five-character slugs are
 * found by trying, at the emulator's pace, in minutes).
 */
export function newShortSlug (length = 5): string {
  let slug = ''
  for (let i = 0; i < length; i++) slug += ALNUM[randomBelow(ALNUM.length)]
  return slug
}

/** Most payment requests (and payments) kept, in memory and in the database. */
export const DEFAULT_MAX_RECORDS = 50_000

/** The kinds of record the emulator keeps in instamojo_emulator_state. */
const REQUEST = 'request'
const PAYMENT = 'payment'
const REFUND = 'refund'
const SLUG = 'slug'
const TOKEN = 'token'
const ORDER = 'order'
/** A gateway order's transaction_id, keyed by itself: { orderId } (finds an order not held here). */
const ORDER_TID = 'order_tid'

/** A stored access token is keyed by its SHA-256: the database never holds a usable token. */
const tokenKey = (token: string) => createHash('sha256').update(token).digest('base64url')

/**
 * The emulator's state: in memory for speed, bounded (past `max` entries the oldest payment
 * requests and payments are forgotten, so a long demo or a benchmark cannot grow memory without
 * limit), and, given an EmulatorState, kept in the database too (written behind the answer; a
 * record this instance does not hold is read from there; other instances' changes arrive by sync).
 */
export class InstamojoStore {
  /** A request forgotten takes its payments and its short URL's slug with it. */
  readonly requests: BoundedMap<string, RequestRecord>
  readonly payments: BoundedMap<string, PaymentRecord>
  readonly refunds: BoundedMap<string, RefundRecord>
  /** Gateway orders; one forgotten takes its transaction_id's entry with it. */
  readonly orders: BoundedMap<string, OrderRecord>
  /** transaction_id → order id, for the orders held. */
  readonly orderTids = new Map<string, string>()
  readonly shortSlugs = new Map<string, string>()
  readonly #db: EmulatorState | undefined
  /** Creation order of each record held, as stored (the seq column). */
  readonly #seqs = new Map<string, number>()
  #syncTimer: NodeJS.Timeout | undefined
  #syncing: Promise<void> | undefined

  readonly #clock: Clock

  constructor (max = DEFAULT_MAX_RECORDS, db?: EmulatorState, clock: Clock = systemClock) {
    this.requests = new BoundedMap(max, (id, gone) => {
      this.#seqs.delete(id)
      for (const p of gone.paymentIds) { this.payments.delete(p); this.#seqs.delete(p) }
      const slug = gone.shorturl.split('/').pop()
      if (slug) this.shortSlugs.delete(slug)
    })
    this.payments = new BoundedMap(max, id => { this.#seqs.delete(id) })
    this.refunds = new BoundedMap(max, id => { this.#seqs.delete(id) })
    this.orders = new BoundedMap(max, (id, gone) => {
      this.#seqs.delete(id)
      if (gone.transaction_id !== null && this.orderTids.get(gone.transaction_id) === id) this.orderTids.delete(gone.transaction_id)
    })
    this.#db = db
    this.#clock = clock
  }

  /** Loads the stored requests and payments, then follows other instances' changes every syncMs. */
  async restore (syncMs = 1000): Promise<number> {
    const db = this.#db
    if (!db) return 0
    await db.markSync()
    const requests = await db.load<RequestRecord>(REQUEST)
    for (const r of requests) this.#hold(r.doc, r.seq)
    for (const p of await db.load<PaymentRecord>(PAYMENT)) this.#holdPayment(p.doc, p.seq)
    for (const r of await db.load<RefundRecord>(REFUND)) this.#holdRefund(r.doc, r.seq)
    for (const o of await db.load<OrderRecord>(ORDER)) this.#holdOrder(o.doc, o.seq)
    this.#syncTimer = setInterval(() => { void this.sync().catch(() => {}) }, syncMs)
    this.#syncTimer.unref()
    db.startRetention(60_000)
    return requests.length
  }

  /** Applies what other instances stored since the last sync (one at a time). */
  sync (): Promise<void> {
    this.#syncing ??= (async () => {
      if (!this.#db) return
      await this.#db.sync(({ cleared, records }) => {
        if (cleared) this.#forgetAll()
        for (const r of records) {
          if (r.kind === REQUEST) this.#hold(r.doc as RequestRecord, r.seq)
          else if (r.kind === PAYMENT) this.#holdPayment(r.doc as PaymentRecord, r.seq)
          else if (r.kind === REFUND) this.#holdRefund(r.doc as RefundRecord, r.seq)
          else if (r.kind === ORDER) this.#holdOrder(r.doc as OrderRecord, r.seq)
        }
      })
    })().finally(() => { this.#syncing = undefined })
    return this.#syncing
  }

  /** A payment request: this instance's, else the database's (created through another instance). */
  async findRequest (id: string): Promise<RequestRecord | undefined> {
    const held = this.requests.get(id)
    if (held || !this.#db) return held
    return await this.#db.get<RequestRecord, RequestRecord>(REQUEST, id, stored => this.#hold(stored.doc, stored.seq))
  }

  async findPayment (id: string): Promise<PaymentRecord | undefined> {
    const held = this.payments.get(id)
    if (held || !this.#db) return held
    return await this.#db.get<PaymentRecord, PaymentRecord>(PAYMENT, id, stored => this.#holdPayment(stored.doc, stored.seq))
  }

  async findRefund (id: string): Promise<RefundRecord | undefined> {
    const held = this.refunds.get(id)
    if (held || !this.#db) return held
    return await this.#db.get<RefundRecord, RefundRecord>(REFUND, id, stored => this.#holdRefund(stored.doc, stored.seq))
  }

  /** A gateway order: this instance's, else the database's (made through another instance). */
  async findOrder (id: string): Promise<OrderRecord | undefined> {
    const held = this.orders.get(id)
    if (held || !this.#db) return held
    return await this.#db.get<OrderRecord, OrderRecord>(ORDER, id, stored => this.#holdOrder(stored.doc, stored.seq))
  }

  /**
   * The gateway order with this transaction_id, held or stored. Two instances given the same new
   * transaction_id in the same moment may both take it: the database has no unique index for it
   * (EmulatorState writes behind the answer); on one instance a duplicate is always refused.
   */
  async findOrderByTransactionId (transactionId: string): Promise<OrderRecord | undefined> {
    const id = this.orderTids.get(transactionId) ?? (await this.#db?.get<{ orderId: string }>(ORDER_TID, transactionId))?.doc.orderId
    return id === undefined ? undefined : await this.findOrder(id)
  }

  addOrder (o: OrderRecord): void {
    const seq = nextSeq()
    this.#holdOrder(o, seq)
    this.#db?.put(ORDER, o.id, o, { seq })
    if (o.transaction_id !== null) this.#db?.put(ORDER_TID, o.transaction_id, { orderId: o.id }, { seq })
  }

  #holdOrder (o: OrderRecord, seq: number): OrderRecord {
    const held = this.orders.get(o.id)
    if (held) return held
    this.#seqs.set(o.id, seq)
    this.orders.set(o.id, o)
    if (o.transaction_id !== null) this.orderTids.set(o.transaction_id, o.id)
    return o
  }

  /**
   * Takes a refund of `askedPaise` (the rest of the payment when undefined) on the payment's stored
   * copy, where another instance may have refunded it a moment ago: answers the paise refunded, or
   * what is left when it cannot be (0: refunded in full), or undefined when there is no such payment.
   * `record` stores the refund itself once it is taken.
   */
  async refund (paymentId: string, askedPaise: number | undefined, record: (refundPaise: number) => void): Promise<RefundTaken | undefined> {
    let refunded = 0
    let remaining = 0
    const take = (p: PaymentRecord): boolean => {
      const before = p.refundedPaise ?? this.refundedPaise(p.id)
      remaining = Math.max(p.amountPaise - before, 0)
      refunded = askedPaise ?? remaining
      if (remaining <= 0 || refunded > remaining) return false
      p.refundedPaise = before + refunded
      return true
    }
    if (!this.#db) {
      const held = this.payments.get(paymentId)
      if (!held) return undefined
      if (!take(held)) return { remaining }
      record(refunded)
      return { refunded }
    }
    const stored = await this.#db.change<PaymentRecord>(PAYMENT, paymentId, p => take(p) ? p : undefined)
    if (!stored) return undefined
    const held = this.payments.get(paymentId)
    if (held) Object.assign(held, stored.doc)
    else this.#holdPayment(stored.doc, stored.seq)
    if (!stored.changed) return { remaining }
    record(refunded)
    return { refunded }
  }

  /** What has been refunded of a payment so far, in paise (the refunds held). */
  refundedPaise (paymentId: string): number {
    let sum = 0
    for (const r of this.refunds.values()) if (r.paymentId === paymentId) sum += r.refundPaise
    return sum
  }

  /** The request behind a short URL's slug. */
  async findSlug (slug: string): Promise<RequestRecord | undefined> {
    const id = this.shortSlugs.get(slug) ?? (await this.#db?.get<{ requestId: string }>(SLUG, slug))?.doc.requestId
    return id === undefined ? undefined : this.findRequest(id)
  }

  /**
   * Changes a request (paid, read for the first time, disabled) on the database's copy, so that
   * instances changing it by turns never undo each other's change (see EmulatorState.change):
   * `change` edits the request as stored and answers whether it changed anything. The request as
   * it is afterwards is held here (the copy already held is updated in place) and answered, with
   * whether this call changed it; undefined when there is no such request.
   */
  async changeRequest (id: string, change: (r: RequestRecord) => boolean): Promise<{ request: RequestRecord, changed: boolean } | undefined> {
    if (!this.#db) {
      const held = this.requests.get(id)
      return held ? { request: held, changed: change(held) } : undefined
    }
    const stored = await this.#db.change<RequestRecord>(REQUEST, id, r => change(r) ? r : undefined)
    return stored ? { request: this.#hold(stored.doc, stored.seq), changed: stored.changed } : undefined
  }

  /** An issued access token (the database keeps only its hash). */
  /**
   * Stored before the token is answered: a client behind a load balancer uses it on the next
   * instance at once. (With the database away it is kept here, and works on this instance.)
   */
  async addToken (token: string, expiresAt: number): Promise<void> {
    this.#db?.put(TOKEN, tokenKey(token), { expiresAt }, { seq: nextSeq() })
    await this.#db?.flush(2_000).catch(() => undefined)
  }

  /** When a token issued by any instance expires (epoch ms); undefined for one never issued. */
  async tokenExpiry (token: string): Promise<number | undefined> {
    return (await this.#db?.get<{ expiresAt: number }>(TOKEN, tokenKey(token)))?.doc.expiresAt
  }

  /** Forgets every request, payment and token, here and in the database (the emulator's reset). */
  async clear (): Promise<number> {
    const here = this.requests.size
    this.#forgetAll()
    const stored = await this.#db?.clear()
    return Math.max(here, stored ?? 0)
  }

  async close (): Promise<void> {
    clearInterval(this.#syncTimer)
    await this.#syncing?.catch(() => {})
    await this.#db?.close()
  }

  #forgetAll (): void {
    this.requests.clear()
    this.payments.clear()
    this.refunds.clear()
    this.orders.clear()
    this.orderTids.clear()
    this.shortSlugs.clear()
    this.#seqs.clear()
  }

  /** Holds a stored request (a newer copy replaces the one held, in place). */
  #hold (r: RequestRecord, seq: number): RequestRecord {
    const held = this.requests.get(r.id)
    if (held) return Object.assign(held, r)
    this.#seqs.set(r.id, seq)
    this.#remember(r, r.shorturl.split('/').pop() ?? '')
    return r
  }

  #holdPayment (p: PaymentRecord, seq: number): PaymentRecord {
    const held = this.payments.get(p.id)
    if (held) return held
    this.#seqs.set(p.id, seq)
    this.payments.set(p.id, p)
    return p
  }

  #holdRefund (r: RefundRecord, seq: number): RefundRecord {
    const held = this.refunds.get(r.id)
    if (held) return held
    this.#seqs.set(r.id, seq)
    this.refunds.set(r.id, r)
    return r
  }

  addRefund (r: RefundRecord): void {
    const seq = nextSeq()
    this.#seqs.set(r.id, seq)
    this.refunds.set(r.id, r)
    this.#db?.put(REFUND, r.id, r, { seq })
  }

  addRequest (r: RequestRecord, slug: string): void {
    const seq = nextSeq()
    this.#seqs.set(r.id, seq)
    this.#remember(r, slug)
    this.#db?.put(REQUEST, r.id, r, { seq })
    this.#db?.put(SLUG, slug, { requestId: r.id }, { seq })
  }

  #remember (r: RequestRecord, slug: string): void {
    this.shortSlugs.set(slug, r.id)
    this.requests.set(r.id, r)
  }

  addPayment (p: PaymentRecord): void {
    const seq = nextSeq()
    this.#seqs.set(p.id, seq)
    this.payments.set(p.id, p)
    this.#db?.put(PAYMENT, p.id, p, { seq })
  }

  /** Pending → Sent → Completed, or Expired once expires_at has passed unpaid (unverified). */
  statusOf (r: RequestRecord): string {
    if (r.completed) return 'Completed'
    if (r.expires_at && Date.parse(r.expires_at) < this.#clock.now()) return 'Expired'
    if ((r.send_email || r.send_sms) && r.settled) return 'Sent'
    return 'Pending'
  }
}

/** The v2 payment-request object (providers.md §3), URLs built on the emulator's own base. */
export function v2Request (store: InstamojoStore, r: RequestRecord, base: string, userId: string) {
  const delivery = (asked: boolean) => asked ? (r.settled ? 'Sent' : 'Pending') : null
  return {
    id: r.id,
    user: `${base}/v2/users/${userId}/`,
    phone: r.phone,
    email: r.email,
    buyer_name: r.buyer_name,
    amount: fromPaise(r.amountPaise),
    purpose: r.purpose,
    status: store.statusOf(r),
    payments: r.paymentIds.map(p => `${base}/v2/payments/${p}/`),
    send_sms: r.send_sms,
    send_email: r.send_email,
    sms_status: delivery(r.send_sms),
    email_status: delivery(r.send_email),
    shorturl: r.settled ? r.shorturl : null,
    longurl: r.longurl,
    redirect_url: r.redirect_url,
    webhook: r.webhook,
    scheduled_at: r.created_at,
    expires_at: r.expires_at,
    allow_repeated_payments: r.allow_repeated_payments,
    mark_fulfilled: true,
    created_at: r.created_at,
    modified_at: r.modified_at,
    resource_uri: `${base}/v2/payment_requests/${r.id}/`
  }
}

/** The v1.1 payment_request object (fields from the Ruby SDK's sample). */
export function v1Request (store: InstamojoStore, r: RequestRecord) {
  const delivery = (asked: boolean) => asked ? (r.settled ? 'Sent' : 'Pending') : null
  return {
    id: r.id,
    phone: r.phone,
    email: r.email,
    buyer_name: r.buyer_name,
    amount: fromPaise(r.amountPaise),
    purpose: r.purpose,
    status: store.statusOf(r),
    send_sms: r.send_sms,
    send_email: r.send_email,
    sms_status: delivery(r.send_sms),
    email_status: delivery(r.send_email),
    shorturl: r.settled ? r.shorturl : null,
    longurl: r.longurl,
    redirect_url: r.redirect_url,
    webhook: r.webhook,
    created_at: r.created_at,
    modified_at: r.modified_at,
    allow_repeated_payments: r.allow_repeated_payments
  }
}

/** The v2 payment object: `status` is a boolean (true success, false failed). */
export function v2Payment (store: InstamojoStore, p: PaymentRecord, base: string) {
  const r = store.requests.get(p.requestId)
  return {
    id: p.id,
    title: r?.purpose ?? '',
    payment_type: 'Payment Request', // (unverified) label
    status: p.status === 'Credit',
    currency: r?.currency ?? 'INR',
    amount: fromPaise(p.amountPaise),
    name: p.buyer_name,
    email: p.email,
    phone: p.phone,
    bank_reference_number: p.status === 'Credit' ? p.id.slice(-10) : null,
    created_at: p.created_at,
    updated_at: p.created_at,
    tax_invoice_id: '',
    instrument_type: p.instrument_type,
    billing_instrument: INSTRUMENTS[p.instrument_type],
    failure: p.failure,
    payout: null,
    fees: fromPaise(p.feesPaise),
    total_taxes: '0.00',
    payment_request: `${base}/v2/payment_requests/${p.requestId}/`,
    order_info: null,
    resource_uri: `${base}/v2/payments/${p.id}/`
  }
}

/**
 * The v2 refund object, with the fields the Java SDK's Refund model reads (id, payment_id, status,
 * type, body, refund_amount, total_amount, created_at). Amounts as strings like every v2 amount.
 * The emulator refunds at once: `status` "Refunded" (unverified wording; Instamojo may first show
 * the refund pending while the bank processes it).
 */
export function v2Refund (r: RefundRecord) {
  return {
    id: r.id,
    payment_id: r.paymentId,
    status: 'Refunded',
    type: r.type,
    body: r.body,
    refund_amount: fromPaise(r.refundPaise),
    total_amount: fromPaise(r.totalPaise),
    created_at: r.created_at
  }
}

/** The v1.1 payment object: `status` is "Credit" or "Failed". */
export function v1Payment (p: PaymentRecord) {
  return {
    payment_id: p.id,
    quantity: 1,
    status: p.status,
    link_slug: null,
    link_title: null,
    buyer_name: p.buyer_name,
    buyer_phone: p.phone,
    buyer_email: p.email,
    currency: 'INR',
    unit_price: fromPaise(p.amountPaise),
    amount: fromPaise(p.amountPaise),
    fees: fromPaise(p.feesPaise),
    shipping_address: null,
    shipping_city: null,
    shipping_state: null,
    shipping_zip: null,
    shipping_country: null,
    discount_code: null,
    discount_amount_off: null,
    variants: [],
    custom_fields: {},
    affiliate_id: null,
    affiliate_commission: '0.00',
    created_at: p.created_at,
    instrument_type: p.instrument_type,
    billing_instrument: INSTRUMENTS[p.instrument_type],
    tax_invoice_id: '',
    failure: p.failure,
    payout: null,
    payment_request: p.requestId
  }
}

/**
 * Instamojo's fee in the emulator: 1.9 % of the amount, rounded to the paisa, which reproduces the
 * reference's constructed webhook (2500.00 → 47.50). Real pricing depends on the plan (unverified).
 */
export const feesFor = (amountPaise: number) => Math.round(amountPaise * 19 / 1000)
