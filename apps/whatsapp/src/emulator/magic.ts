/**
 * Magic destinations: force an outcome whatever the success rate, like Stripe's test cards.
 * Matched after normalisation, so 9000000001, 09000000001, 919000000001 and +91 90000 00001 are the
 * same number. Documented in the README.
 */
export type Fate = 'invalid' | 'stays_sent' | 'fails_after_send' | 'read' | 'delivered_unread' | 'error' | 'no_credits' | 'no_plan' | 'replies'

export const MAGIC_NUMBERS: Record<string, { fate: Fate, outcome: string }> = {
  '+919000000001': { fate: 'invalid', outcome: 'refused: 400 {"message":"Invalid Number"}' },
  '+919000000002': { fate: 'stays_sent', outcome: 'accepted, then sent; never delivered' },
  '+919000000003': { fate: 'fails_after_send', outcome: 'accepted, sent, then failed (131026 Message undeliverable)' },
  '+919000000004': { fate: 'read', outcome: 'accepted, sent, delivered, then always read' },
  '+919000000005': { fate: 'delivered_unread', outcome: 'accepted, sent, delivered; never read' },
  '+919000000006': { fate: 'error', outcome: 'the request fails as a random failure would (503 {})' },
  '+919000000007': { fate: 'no_credits', outcome: 'refused: 402 Insufficient WhatsApp Conversation Credits (WCC)!' },
  '+919000000008': { fate: 'no_plan', outcome: 'refused: 400 No Plan active on assistant!' },
  '+919000000009': { fate: 'replies', outcome: 'accepted, sent, delivered, read; then the contact replies "Yes, please go ahead." (an inbound message)' }
}

export function magicFate (e164: string): Fate | undefined {
  return MAGIC_NUMBERS[e164]?.fate
}
