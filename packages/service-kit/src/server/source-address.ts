import { BlockList, isIP } from 'node:net'
import { ConfigError } from './env.ts'

/**
 * Where a webhook post came from, for receivers that authenticate a provider by its address as
 * well as (or instead of) a secret: Bolna documents the address it posts from; AiSensy's
 * allow-list is optional. The voice and WhatsApp receivers share these.
 */

/** "::ffff:127.0.0.1" and "127.0.0.1" are the same peer. */
export function normalizeIp (ip: string | undefined): string {
  const s = (ip ?? '').trim().replace(/^\[|\]$/g, '')
  return s.toLowerCase().startsWith('::ffff:') && isIP(s.slice(7)) === 4 ? s.slice(7) : s.toLowerCase()
}

/**
 * A matcher for a list of addresses and CIDR ranges ("13.203.39.153", "172.16.0.0/12", "::1").
 * Throws on an entry that is neither, naming it (the config check calls this at start).
 */
export function addressMatcher (entries: string[]): (ip: string) => boolean {
  const list = new BlockList()
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/')
    const a = normalizeIp(address)
    const family = isIP(a)
    const bits = prefix === undefined ? undefined : Number(prefix)
    if (!family || (bits !== undefined && (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)))) {
      throw new Error(`"${entry}" is not an IP address or a CIDR range`)
    }
    const type = family === 4 ? 'ipv4' : 'ipv6'
    if (bits === undefined) list.addAddress(a, type)
    else list.addSubnet(a, bits, type)
  }
  return (ip: string) => {
    const a = normalizeIp(ip)
    const family = isIP(a)
    return family !== 0 && list.check(a, family === 4 ? 'ipv4' : 'ipv6')
  }
}

/**
 * A comma-separated list of addresses and CIDR ranges from the environment variable `variable`,
 * checked at start: a typo stops the server with the variable's name rather than trusting, or
 * refusing, the wrong peers later.
 */
export function addressList (value: string, variable: string): string[] {
  const entries = value.split(',').map(s => s.trim()).filter(Boolean)
  for (const entry of entries) {
    try {
      addressMatcher([entry])
    } catch {
      throw new ConfigError(`Invalid configuration: ${variable} must list IP addresses or CIDR ranges separated by commas (e.g. "203.0.113.7,10.0.0.0/8"), got "${entry}".`)
    }
  }
  return entries
}

/**
 * The address a post really came from. X-Forwarded-For is believed only when the peer is a
 * trusted proxy, and then read from the right: each trusted proxy appends the address it saw, so
 * the first address from the right that is not a trusted proxy is the client. Anyone else's
 * X-Forwarded-For is ignored, so it cannot be used to claim a provider's address.
 */
export function sourceAddress (peer: string | undefined, forwardedFor: string | string[] | undefined, isTrustedProxy: (ip: string) => boolean): string {
  let address = normalizeIp(peer)
  if (!isTrustedProxy(address) || forwardedFor === undefined) return address
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map(normalizeIp).filter(Boolean)
  while (hops.length && isTrustedProxy(address)) address = hops.pop()!
  return address
}
