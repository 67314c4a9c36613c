import { isIP } from 'node:net'

/**
 * Where an emulator may post webhooks: loopback always (the sandbox's own receivers), anything
 * else only when listed in WEBHOOK_ALLOWED_HOSTS ("hooks.example.com,10.0.0.5:8080"; an entry
 * without a port allows every port of that host). Otherwise anyone who can set a webhook URL could
 * make the emulator post to (or, through Zoom's URL validation, probe) any host and port the
 * machine can reach.
 */
export function parseHostList (value: string): string[] {
  return value.split(',').map(entry => entry.trim().toLowerCase()).filter(Boolean)
}

const LOOPBACK_NAMES = new Set(['localhost', '::1'])

function isLoopback (hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (LOOPBACK_NAMES.has(host) || host.endsWith('.localhost')) return true
  if (isIP(host) === 4) return host.startsWith('127.')
  return host.startsWith('::ffff:127.') || host === '::ffff:7f00:1'
}

/** Why the emulator will not post to `url`, or undefined when it may. */
export function webhookTargetRefusal (url: string, allowedHosts: string[]): string | undefined {
  let parsed: URL
  try { parsed = new URL(url) } catch { return `${url} is not a URL` }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `${parsed.protocol} is not http or https`
  if (isLoopback(parsed.hostname)) return undefined
  const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80')
  if (allowedHosts.includes(host) || allowedHosts.includes(`${host}:${port}`)) return undefined
  return `${parsed.host} is not loopback and not in WEBHOOK_ALLOWED_HOSTS`
}
