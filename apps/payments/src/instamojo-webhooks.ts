import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Instamojo's payment webhook on the wire: the one home of this knowledge, imported by the
 * emulator (which signs and posts it) and by the service (which verifies and reads it). Neither
 * imports the other.
 *
 * A post is form-encoded (application/x-www-form-urlencoded), each field once, with a `mac` field.
 * The MAC (providers.md §3, "Webhook"): drop the `mac` field, order the remaining values by key
 * (keys compared in lower case, as Instamojo's own Python sample does with
 * `sorted(data, key=str.lower)`), join them with `|`, and HMAC-SHA1 the message with the account's
 * private salt; the MAC is the lowercase hex digest. Values are the URL-decoded strings.
 */

/** The message the MAC covers: every value but `mac`'s, ordered by lower-cased key, joined by `|`. */
export function macMessage (fields: Readonly<Record<string, string>>): string {
  return Object.keys(fields)
    .filter(k => k !== 'mac')
    .sort((a, b) => {
      const la = a.toLowerCase()
      const lb = b.toLowerCase()
      return la < lb ? -1 : la > lb ? 1 : 0
    })
    .map(k => fields[k])
    .join('|')
}

/** HMAC-SHA1 of a message with the salt, lowercase hex (40 characters). */
export function hmacSha1Hex (salt: string, message: string): string {
  return createHmac('sha1', salt).update(message, 'utf8').digest('hex')
}

/** The `mac` Instamojo sends with these webhook fields. */
export function computeMac (fields: Readonly<Record<string, string>>, salt: string): string {
  return hmacSha1Hex(salt, macMessage(fields))
}

/** True when `fields.mac` is the MAC of the other fields under the salt; compared in constant time. */
export function verifyMac (fields: Readonly<Record<string, string>>, salt: string): boolean {
  const given = fields.mac
  if (typeof given !== 'string' || !/^[0-9a-fA-F]{40}$/.test(given) || !salt) return false
  const expected = Buffer.from(computeMac(fields, salt), 'hex')
  return timingSafeEqual(expected, Buffer.from(given.toLowerCase(), 'hex'))
}

/** The fields of a payment webhook, as the emulator sends them (Instamojo's names). */
export interface PaymentWebhookFields {
  amount: string
  buyer: string
  buyer_name: string
  buyer_phone: string
  currency: string
  fees: string
  longurl: string
  payment_id: string
  payment_request_id: string
  purpose: string
  shorturl: string
  status: string
}

// ---- sending (the emulator) ----------------------------------------------------------------------

export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded'

/** The headers of a webhook post. */
export const WEBHOOK_POST_HEADERS: Readonly<Record<string, string>> = { 'content-type': FORM_CONTENT_TYPE, 'user-agent': 'Instamojo-Webhook/1.0 (Switchboard emulator)' }

/** The form-encoded body of a webhook: the fields, then `mac` over them under the salt. */
export function webhookBody (fields: PaymentWebhookFields, salt: string): string {
  const values: Record<string, string> = { ...fields }
  return `${new URLSearchParams(values).toString()}&mac=${computeMac(values, salt)}`
}

// ---- receiving (the service) ---------------------------------------------------------------------

/** Whether a post's content type is the form encoding Instamojo posts. */
export const isFormEncoded = (contentType: string | undefined): boolean => String(contentType ?? '').startsWith(FORM_CONTENT_TYPE)

/**
 * The fields of a received post, each URL-decoded (what the MAC covers); `repeated` names a field
 * sent twice, which Instamojo never does.
 */
export function parseWebhookForm (rawBody: Buffer): { fields: Record<string, string> } | { repeated: string } {
  const fields: Record<string, string> = {}
  for (const [k, v] of new URLSearchParams(rawBody.toString('utf8'))) {
    if (k in fields) return { repeated: k }
    fields[k] = v
  }
  return { fields }
}
