/**
 * Money as exact decimals: an amount is a string like "2500.00" on every wire and in the database,
 * and integer paise in between. No floating point anywhere.
 */

/** Instamojo's limits for a payment request, in rupees (providers.md §3: min 9, max 200000). */
export const MIN_AMOUNT = '9.00'
export const MAX_AMOUNT = '200000.00'

const DECIMAL = /^(\d{1,9})(?:\.(\d{1,2}))?$/

/** "2500" / "2500.5" / "2500.50" → 250050 paise; undefined when not a plain non-negative decimal. */
export function toPaise (amount: string): number | undefined {
  const m = DECIMAL.exec(amount.trim())
  if (!m) return undefined
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'))
}

/** 250050 → "2500.50" */
export function fromPaise (paise: number): string {
  const whole = Math.floor(paise / 100)
  const rest = paise % 100
  return `${whole}.${String(rest).padStart(2, '0')}`
}

/** Normalises to two decimals ("2500" → "2500.00"); undefined when not a decimal. */
export function normaliseAmount (amount: string): string | undefined {
  const p = toPaise(amount)
  return p === undefined ? undefined : fromPaise(p)
}

/** Why an amount cannot be used for a payment request, or undefined when it can. */
export function amountProblem (amount: string): string | undefined {
  const p = toPaise(amount)
  if (p === undefined) return `amount must be a decimal with at most two places, like "2500.00" (got ${JSON.stringify(amount)})`
  if (p < toPaise(MIN_AMOUNT)!) return `amount must be at least ${MIN_AMOUNT} (Instamojo's minimum), got ${fromPaise(p)}`
  if (p > toPaise(MAX_AMOUNT)!) return `amount must be at most ${MAX_AMOUNT} (Instamojo's maximum), got ${fromPaise(p)}`
  return undefined
}
