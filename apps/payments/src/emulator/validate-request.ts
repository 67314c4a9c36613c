import { toPaise } from '../amount.ts'
import { ORDER_CURRENCIES, REFUND_TYPES, type OrderCurrency } from './store.ts'

/**
 * Instamojo's payment-request validation. Errors are Django REST framework field maps
 * ({"amount": ["Ensure this value is greater than or equal to 9."]}); the min/max wording is the
 * one the reference records, the others follow DRF's stock messages (unverified).
 */
export type FieldErrors = Record<string, string[]>

export interface NewRequest {
  amountPaise: number
  purpose: string
  buyer_name: string | null
  email: string | null
  phone: string | null
  redirect_url: string | null
  webhook: string | null
  send_email: boolean
  send_sms: boolean
  allow_repeated_payments: boolean
  expires_at: string | null
}

const EMAIL = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/
/** Purpose is limited to 30 characters on Instamojo's payment-request form (unverified for the API). */
export const PURPOSE_MAX = 30

/** Form bodies give strings (arrays when a key repeats: the last one wins, as Django's QueryDict.get does). */
function scalar (v: unknown): unknown {
  return Array.isArray(v) ? v[v.length - 1] : v
}

function str (v: unknown): string | undefined {
  v = scalar(v)
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string') return v.trim()
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return undefined
}

function bool (v: unknown, def: boolean, field: string, out: FieldErrors): boolean {
  v = scalar(v)
  if (v === undefined || v === null || v === '') return def
  if (typeof v === 'boolean') return v
  const s = String(v).toLowerCase()
  if (['true', '1', 'yes', 'on'].includes(s)) return true
  if (['false', '0', 'no', 'off'].includes(s)) return false
  out[field] = ['Must be a valid boolean.']
  return def
}

/** "+919999999999" from the forms people type: 10 digits, 91 + 10 digits, +91 …, spaces or dashes. */
export function normalisePhone (raw: string): string | undefined {
  const s = raw.replace(/[\s()-]/g, '')
  if (/^[6-9]\d{9}$/.test(s)) return `+91${s}`
  if (/^0[6-9]\d{9}$/.test(s)) return `+91${s.slice(1)}`
  if (/^91[6-9]\d{9}$/.test(s)) return `+${s}`
  if (/^\+91[6-9]\d{9}$/.test(s)) return s
  if (/^\+[1-9]\d{7,14}$/.test(s)) return s
  return undefined
}

function url (v: string | undefined, field: string, out: FieldErrors): string | null {
  if (!v) return null
  try {
    const u = new URL(v)
    if (u.protocol === 'http:' || u.protocol === 'https:') return v
  } catch { /* below */ }
  out[field] = ['Enter a valid URL.']
  return null
}

/** The string fields of a payment request (DRF CharField, URLField, EmailField). */
const STRING_FIELDS = ['purpose', 'buyer_name', 'email', 'phone', 'redirect_url', 'webhook'] as const
const BOOLEAN_FIELDS = ['send_email', 'send_sms', 'allow_repeated_payments'] as const
const REQUIRED = new Set(['amount', 'purpose'])
const DATETIME_FORMAT = 'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].'

/** Which fields of a JSON body are of which DRF type (jsonTypeErrors); a payment request's unless told. */
interface JsonFields {
  required: ReadonlySet<string>
  amounts: readonly string[]
  strings: readonly string[]
  booleans?: readonly string[]
  datetimes?: readonly string[]
}
const REQUEST_JSON: JsonFields = { required: REQUIRED, amounts: ['amount'], strings: STRING_FIELDS, booleans: BOOLEAN_FIELDS, datetimes: ['expires_at'] }

/**
 * A JSON body's values typed as DRF types them, before anything reads them as text: a form body
 * holds only strings (a repeated key a list of them), but in JSON `[1]` is a list and `{"a":1}`
 * an object, which DRF refuses outright rather than reading a value out of them. DecimalField:
 * "A valid number is required." for anything but a number or a string (a bool too); CharField:
 * "Not a valid string." for anything but a string or a number; BooleanField: "Must be a valid
 * boolean."; DateTimeField: its format message. null is "This field may not be null." on the
 * required fields; on the optional ones it is taken as left out (SDKs send null for unset
 * fields; whether Instamojo's serializer allows null there is not recorded). Returns the errors
 * and the body without the fields they name.
 */
function jsonTypeErrors (b: Record<string, unknown>, fields: JsonFields = REQUEST_JSON): { errors: FieldErrors, rest: Record<string, unknown> } {
  const errors: FieldErrors = {}
  const rest: Record<string, unknown> = { ...b }
  const refuse = (field: string, message: string) => { errors[field] = [message]; delete rest[field] }
  const isText = (v: unknown) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))
  const check = (field: string, ok: (v: unknown) => boolean, message: string) => {
    if (!(field in b)) return
    const v = b[field]
    if (v === null) {
      if (fields.required.has(field)) refuse(field, 'This field may not be null.')
      else delete rest[field]
    } else if (!ok(v)) {
      refuse(field, message)
    }
  }
  for (const f of fields.amounts) check(f, isText, 'A valid number is required.')
  for (const f of fields.strings) check(f, isText, 'Not a valid string.')
  for (const f of fields.booleans ?? []) check(f, v => typeof v === 'boolean' || isText(v), 'Must be a valid boolean.')
  for (const f of fields.datetimes ?? []) check(f, v => typeof v === 'string', DATETIME_FORMAT)
  return { errors, rest }
}

/** An amount from 9 to 200000 with at most two decimals, in paise (0 when refused: `out.amount` says why). */
function checkAmount (amount: string | undefined, out: FieldErrors): number {
  let amountPaise = 0
  if (!amount) out.amount = ['This field is required.']
  else if (!/^\d+(\.\d+)?$/.test(amount)) out.amount = ['A valid number is required.']
  else if (!/^\d+(\.\d{1,2})?$/.test(amount)) out.amount = ['Ensure that there are no more than 2 decimal places.']
  else if (amount.split('.')[0]!.length > 9) out.amount = ['Ensure that there are no more than 12 digits in total.']
  else {
    amountPaise = toPaise(amount)!
    if (amountPaise < 900) out.amount = ['Ensure this value is greater than or equal to 9.']
    else if (amountPaise > 20_000_000) out.amount = ['Ensure this value is less than or equal to 200000.']
  }
  return amountPaise
}

type Validated<T> = { errors: FieldErrors } | { errors: undefined, value: T }

export function validateNewRequest (body: unknown, nowMs = Date.now(), opts: { json?: boolean } = {}): Validated<NewRequest> {
  const raw = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>
  const typed = opts.json ? jsonTypeErrors(raw) : { errors: {}, rest: raw }
  const b = typed.rest
  const out: FieldErrors = {}

  const amountPaise = checkAmount(str(b.amount), out)

  const purpose = str(b.purpose)
  if (!purpose) out.purpose = ['This field is required.']
  else if (purpose.length > PURPOSE_MAX) out.purpose = [`Ensure this field has no more than ${PURPOSE_MAX} characters.`]

  const buyerName = str(b.buyer_name) || null
  if (buyerName && buyerName.length > 100) out.buyer_name = ['Ensure this field has no more than 100 characters.']

  const email = str(b.email) || null
  if (email && (email.length > 254 || !EMAIL.test(email))) out.email = ['Enter a valid email address.']

  const rawPhone = str(b.phone) || null
  let phone: string | null = null
  if (rawPhone) {
    phone = normalisePhone(rawPhone) ?? null
    if (!phone) out.phone = ['Enter a valid phone number.']
  }

  const redirectUrl = url(str(b.redirect_url), 'redirect_url', out)
  const webhook = url(str(b.webhook), 'webhook', out)
  const sendEmail = bool(b.send_email, false, 'send_email', out)
  const sendSms = bool(b.send_sms, false, 'send_sms', out)
  // The docs' text says repeated payments default to true; their label says false (reference, gap 2).
  const allowRepeated = bool(b.allow_repeated_payments, true, 'allow_repeated_payments', out)
  if (sendEmail && !email && !out.email) out.email = ['Email is required if send_email is true.']
  if (sendSms && !rawPhone && !out.phone) out.phone = ['Phone number is required if send_sms is true.']

  const expiresRaw = str(b.expires_at) || null
  let expiresAt: string | null = null
  if (expiresRaw) {
    const t = Date.parse(expiresRaw)
    if (Number.isNaN(t)) out.expires_at = [DATETIME_FORMAT]
    else if (t <= nowMs) out.expires_at = ['Expiry time should be in future.']
    else expiresAt = new Date(t).toISOString().replace('Z', '000Z')
  }

  // A field of the wrong JSON type has its type error only (not "This field is required.", which
  // the checks above say of a field they did not get).
  Object.assign(out, typed.errors)
  if (Object.keys(out).length) return { errors: out }
  return {
    errors: undefined,
    value: { amountPaise, purpose: purpose!, buyer_name: buyerName, email, phone, redirect_url: redirectUrl, webhook, send_email: sendEmail, send_sms: sendSms, allow_repeated_payments: allowRepeated, expires_at: expiresAt }
  }
}

/** A refund's fields, checked as DRF would (providers.md §3: transaction_id, type, body, refund_amount). */
export interface NewRefund {
  type: typeof REFUND_TYPES[number]
  body: string
  /** undefined: the whole amount not yet refunded. */
  refundPaise: number | undefined
  transaction_id: string | null
}

export function validateRefund (body: unknown, opts: { json?: boolean } = {}): Validated<NewRefund> {
  const b = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>
  const out: FieldErrors = {}
  const isText = (v: unknown) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))
  // A JSON list or object is refused as DRF refuses it (see jsonTypeErrors); a form's repeated key is its last value.
  const text = (field: string, message: string): string | undefined => {
    const v = b[field]
    if (opts.json && v !== undefined && v !== null && !isText(v)) { out[field] = [message]; return undefined }
    return str(v)
  }

  const type = text('type', 'Not a valid string.')
  if (!out.type) {
    if (!type) out.type = ['This field is required.']
    else if (!(REFUND_TYPES as readonly string[]).includes(type)) out.type = [`"${type}" is not a valid choice.`]
  }
  const reason = text('body', 'Not a valid string.')
  if (!out.body && !reason) out.body = ['This field is required.']
  const transactionId = text('transaction_id', 'Not a valid string.') || null

  // Optional: left out, the refund is of the whole amount still refundable (the v1.1 docs' "defaults
  // to the amount paid"; the same assumed for v2, unverified).
  let refundPaise: number | undefined
  const amount = text('refund_amount', 'A valid number is required.')
  if (!out.refund_amount && amount) {
    if (!/^\d+(\.\d+)?$/.test(amount)) out.refund_amount = ['A valid number is required.']
    else if (!/^\d+(\.\d{1,2})?$/.test(amount)) out.refund_amount = ['Ensure that there are no more than 2 decimal places.']
    else if ((refundPaise = toPaise(amount)) === undefined) out.refund_amount = ['Ensure that there are no more than 12 digits in total.']
    else if (refundPaise < 1) out.refund_amount = ['Ensure this value is greater than or equal to 0.01.']
  }

  if (Object.keys(out).length) return { errors: out }
  return { errors: undefined, value: { type: type as NewRefund['type'], body: reason!, refundPaise, transaction_id: transactionId } }
}

/**
 * A gateway order's fields (POST /v2/gateway/orders/), with the limits the official C# SDK's
 * PaymentOrder.validate() checks before sending one: name ≤ 100 characters, email ≤ 75 and
 * email-shaped, phone 10 digits, amount ≥ 9, transaction_id of [A-Za-z0-9_-] ≤ 64, redirect_url a
 * URL, currency INR or USD, description ≤ 255; webhook_url a URL when given (the SDK's
 * InvalidOrderResponse reads a webhook_url error). The messages are DRF's stock ones, as for a
 * payment request (unverified: Instamojo's serializer for orders is not published).
 */
export interface NewOrder {
  name: string
  email: string
  phone: string
  amountPaise: number
  transaction_id: string
  redirect_url: string
  currency: OrderCurrency
  description: string | null
  webhook_url: string | null
}

const ORDER_REQUIRED = new Set(['name', 'email', 'phone', 'amount', 'transaction_id', 'redirect_url'])
const ORDER_JSON: JsonFields = { required: ORDER_REQUIRED, amounts: ['amount'], strings: ['name', 'email', 'phone', 'transaction_id', 'redirect_url', 'currency', 'description', 'webhook_url'] }
const TRANSACTION_ID = /^[A-Za-z0-9_-]+$/
const tooLong = (max: number) => [`Ensure this field has no more than ${max} characters.`]

/**
 * A buyer's phone on an order: any 10 digits, as the C# SDK's ^[0-9]{10}$ takes them (its README's
 * sample is 0123456789), or whatever a payment request's phone takes (+91 forms and the like).
 * Answered as a payment request's: "+91…" for an Indian mobile number, else as given
 * (unverified: what Instamojo answers for an order's phone is not recorded).
 */
function orderPhone (raw: string): string | undefined {
  const normal = normalisePhone(raw)
  if (normal) return normal
  return /^\d{10}$/.test(raw) ? raw : undefined
}

/** The buyer fields an order has: name, email and phone (checked when given). */
function buyerFields (b: Record<string, unknown>, out: FieldErrors, required: boolean): { name: string | null, email: string | null, phone: string | null } {
  const need = (field: string) => { if (required) out[field] = ['This field is required.'] }
  const name = str(b.name) || null
  if (!name) need('name')
  else if (name.length > 100) out.name = tooLong(100)
  const email = str(b.email) || null
  if (!email) need('email')
  else if (email.length > 75) out.email = tooLong(75)
  else if (!EMAIL.test(email)) out.email = ['Enter a valid email address.']
  const rawPhone = str(b.phone) || null
  let phone: string | null = null
  if (!rawPhone) need('phone')
  else if (!(phone = orderPhone(rawPhone) ?? null)) out.phone = ['Enter a valid phone number.']
  return { name, email, phone }
}

export function validateNewOrder (body: unknown, opts: { json?: boolean } = {}): Validated<NewOrder> {
  const raw = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>
  const typed = opts.json ? jsonTypeErrors(raw, ORDER_JSON) : { errors: {}, rest: raw }
  const b = typed.rest
  const out: FieldErrors = {}

  const { name, email, phone } = buyerFields(b, out, true)
  // (unverified) The C# SDK checks only the minimum, 9; the payment request's maximum is assumed.
  const amountPaise = checkAmount(str(b.amount), out)

  const transactionId = str(b.transaction_id)
  if (!transactionId) out.transaction_id = ['This field is required.']
  else if (transactionId.length > 64) out.transaction_id = tooLong(64)
  else if (!TRANSACTION_ID.test(transactionId)) out.transaction_id = ['This value does not match the required pattern.']

  const redirectRaw = str(b.redirect_url)
  const redirectUrl = url(redirectRaw, 'redirect_url', out)
  if (!redirectRaw) out.redirect_url = ['This field is required.']

  // Left out (or blank), INR: the C# SDK's PaymentOrder sets it so by default.
  const currency = str(b.currency) || 'INR'
  if (!(ORDER_CURRENCIES as readonly string[]).includes(currency)) out.currency = [`"${currency}" is not a valid choice.`]

  const description = str(b.description) || null
  if (description && description.length > 255) out.description = tooLong(255)
  const webhookUrl = url(str(b.webhook_url), 'webhook_url', out)

  Object.assign(out, typed.errors)
  if (Object.keys(out).length) return { errors: out }
  return {
    errors: undefined,
    value: {
      name: name!,
      email: email!,
      phone: phone!,
      amountPaise,
      transaction_id: transactionId!,
      redirect_url: redirectUrl!,
      currency: currency as OrderCurrency,
      description,
      webhook_url: webhookUrl
    }
  }
}

/** POST /v2/gateway/orders/payment-request/: the payment request's id, and the buyer's details when given. */
export interface OrderForRequest { id: string, name: string | null, email: string | null, phone: string | null }

export function validateOrderForRequest (body: unknown, opts: { json?: boolean } = {}): Validated<OrderForRequest> {
  const raw = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>
  const typed = opts.json ? jsonTypeErrors(raw, { required: new Set(['id']), amounts: [], strings: ['id', 'name', 'email', 'phone'] }) : { errors: {}, rest: raw }
  const b = typed.rest
  const out: FieldErrors = {}
  const id = str(b.id)
  if (!id) out.id = ['This field is required.']
  // (unverified) The buyer's details are optional here (the sample SDK server sends only the id;
  // the payment request's own are used then), and checked as a new order's when given.
  const buyer = buyerFields(b, out, false)
  Object.assign(out, typed.errors)
  if (Object.keys(out).length) return { errors: out }
  return { errors: undefined, value: { id: id!, ...buyer } }
}
