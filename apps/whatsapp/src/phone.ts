/**
 * Phone numbers as AiSensy takes them: E.164 with a country code, India (+91) assumed when none can
 * be resolved (providers.md §2: "if no country can be resolved it defaults to India"). A pure
 * function shared by the service (what it logs and sends) and the emulator (what it accepts).
 */

export const DEFAULT_COUNTRY_CODE = '91'

export type PhoneResult =
  | { ok: true, e164: string }
  | { ok: false, reason: string }

// Separators people type: spaces (also non-breaking), dashes, dots, slashes, parentheses.
const SEPARATORS = /[\s\u00a0\-./()]/g

/**
 * Normalises a phone number to E.164 (`+919876543210`).
 * - `+<country><number>` and `00<country><number>`: taken as international.
 * - 10 digits: an Indian mobile number, `+91` is added.
 * - `0` + 10 digits: the Indian trunk prefix is dropped, `+91` is added.
 * - `91` + 10 digits: an Indian number written without the `+`.
 * - 11 to 15 other digits: taken as already carrying a country code (AiSensy's `917428526285` form).
 * Indian numbers must be 10 digits starting with 6, 7, 8 or 9 (mobile numbers: WhatsApp runs on
 * mobiles); other countries must give 8 to 15 digits in all, as E.164 allows.
 */
export function normalizePhone (input: string, defaultCountryCode = DEFAULT_COUNTRY_CODE): PhoneResult {
  if (typeof input !== 'string') return { ok: false, reason: 'not a string' }
  const compact = input.trim().replace(SEPARATORS, '')
  if (compact === '') return { ok: false, reason: 'empty' }
  let digits: string
  if (compact.startsWith('+')) {
    digits = compact.slice(1)
    if (!/^\d+$/.test(digits)) return { ok: false, reason: 'only digits may follow the +' }
  } else if (!/^\d+$/.test(compact)) {
    return { ok: false, reason: 'only digits, spaces, dashes, dots and parentheses are allowed' }
  } else if (compact.startsWith('00')) {
    digits = compact.slice(2)
  } else if (compact.length === 10) {
    digits = defaultCountryCode + compact
  } else if (compact.length === 11 && compact.startsWith('0')) {
    digits = defaultCountryCode + compact.slice(1)
  } else if (compact.length >= 11 && compact.length <= 15) {
    digits = compact
  } else {
    return { ok: false, reason: `${compact.length} digits is neither a 10-digit number nor one with a country code` }
  }
  if (digits.startsWith('0')) return { ok: false, reason: 'a country code never starts with 0' }
  if (digits.startsWith('91')) {
    const national = digits.slice(2)
    if (national.length !== 10) return { ok: false, reason: `an Indian number has 10 digits after +91, this one has ${national.length}` }
    if (!/^[6-9]/.test(national)) return { ok: false, reason: 'an Indian mobile number starts with 6, 7, 8 or 9' }
  } else if (digits.length < 8 || digits.length > 15) {
    return { ok: false, reason: `E.164 numbers have 8 to 15 digits, this one has ${digits.length}` }
  }
  return { ok: true, e164: `+${digits}` }
}
