import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Instamojo's webhook MAC (providers.md §3, "Webhook"): drop the `mac` field, order the remaining
 * values by key (keys compared in lower case, as Instamojo's own Python sample does with
 * `sorted(data, key=str.lower)`), join them with `|`, and HMAC-SHA1 the message with the account's
 * private salt; the MAC is the lowercase hex digest. Values are the URL-decoded strings.
 *
 * Pure and dependency-free: the emulator signs with it and the service verifies with it.
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
