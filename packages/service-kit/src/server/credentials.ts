/** What a service needs for live mode, and what of it is set. */
export interface CredentialsReport {
  variables: Array<{ name: string, value: string | undefined }>
  /** What live mode would need and is not set (providers with alternatives decide this themselves). */
  missing: string[]
  /** `missing` in words, when a provider takes either of two sets (default: `missing` joined with "and"). */
  needs?: string
}

/** Every listed variable is required. */
export function requireAll (vars: Record<string, string | undefined>): CredentialsReport {
  const variables = Object.entries(vars).map(([name, value]) => ({ name, value: value || undefined }))
  return { variables, missing: variables.filter(v => !v.value).map(v => v.name) }
}

/**
 * Shows enough of a secret to recognise it and no more: `SG.****abcd`. Short secrets show nothing
 * but their length class, so a 6-character key does not give away two thirds of itself.
 */
export function maskSecret (value: string): string {
  if (value.length < 12) return '****'
  const dot = value.indexOf('.')
  const prefix = dot > 0 && dot <= 4 ? value.slice(0, dot + 1) : value.slice(0, 2)
  return `${prefix}****${value.slice(-4)}`
}
