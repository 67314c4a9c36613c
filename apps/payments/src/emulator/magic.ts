/**
 * Magic amounts: the paise of a payment request's amount force an outcome whatever the success
 * rate, like Stripe's test cards. Documented in the README.
 *
 * - `….11` (e.g. 11.11, 2500.11): the link is always created and every payment on it succeeds.
 * - `….13` (e.g. 13.13): every payment on it fails ("declined by the bank"), from the checkout
 *   page's Pay button too.
 * - `….19` (e.g. 19.19): creating the link fails as a random failure would (Instamojo's 500).
 */
export type AmountFate = 'always_succeeds' | 'payment_fails' | 'create_fails'

export const MAGIC_AMOUNTS: Record<string, { fate: AmountFate, meaning: string }> = {
  11: { fate: 'always_succeeds', meaning: 'link always created, payments always succeed' },
  13: { fate: 'payment_fails', meaning: 'payments always fail (declined by the bank)' },
  19: { fate: 'create_fails', meaning: 'creating the link fails like a random failure (500)' }
}

/** The fate an amount ("2500.13") forces, if any. */
export function amountFate (amount: string): AmountFate | undefined {
  const paise = /\.(\d{2})$/.exec(amount)?.[1]
  return paise ? MAGIC_AMOUNTS[paise]?.fate : undefined
}
