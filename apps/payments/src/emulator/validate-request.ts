import { toPaise } from '../amount.ts'

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

export function validateNewRequest (body: unknown, nowMs = Date.now()): { errors: FieldErrors } | { errors: undefined, value: NewRequest } {
  const b = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>
  const out: FieldErrors = {}

  const amount = str(b.amount)
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
    if (Number.isNaN(t)) out.expires_at = ['Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].']
    else if (t <= nowMs) out.expires_at = ['Expiry time should be in future.']
    else expiresAt = new Date(t).toISOString().replace('Z', '000Z')
  }

  if (Object.keys(out).length) return { errors: out }
  return {
    errors: undefined,
    value: { amountPaise, purpose: purpose!, buyer_name: buyerName, email, phone, redirect_url: redirectUrl, webhook, send_email: sendEmail, send_sms: sendSms, allow_repeated_payments: allowRepeated, expires_at: expiresAt }
  }
}
