/**
 * Magic recipients: the local part of the address (before any +tag, any domain) forces an
 * outcome whatever the success rate, like Stripe's test cards. Documented in the README.
 */
export type Fate = 'deliver' | 'bounce' | 'drop' | 'defer' | 'open' | 'spam' | 'reject' | 'fail'

export const MAGIC_RECIPIENTS: Record<Fate, string> = {
  deliver: 'always delivered',
  bounce: 'accepted, then a bounce event',
  drop: 'accepted, then a dropped event',
  defer: 'accepted, deferred once, then delivered',
  open: 'delivered, then opened and clicked',
  spam: 'delivered, then reported as spam',
  reject: 'the request is refused: 400 "Does not contain a valid address."',
  fail: 'fails as a random failure would: alone in its request, the request fails (503); among several recipients, it bounces'
}

export function magicFate (email: string): Fate | undefined {
  const at = email.indexOf('@')
  let local = at < 0 ? email : email.slice(0, at)
  const plus = local.indexOf('+')
  if (plus >= 0) local = local.slice(0, plus)
  local = local.toLowerCase()
  // Own keys only: "constructor@example.com" is an ordinary recipient, not a fate.
  return Object.hasOwn(MAGIC_RECIPIENTS, local) ? local as Fate : undefined
}
