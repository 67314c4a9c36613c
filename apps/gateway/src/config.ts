import { Type, type Static, type TString } from '@sinclair/typebox'
import { CommonEnvSchema, loadEnv } from '@switchboard/service-kit/env'
import { SERVICES, SERVICE_NAMES, type ServiceName } from '@switchboard/service-kit/services'

/** The variable that says where the gateway reaches a service. */
export const serviceUrlVariable = <N extends ServiceName>(name: N) => `${name.toUpperCase() as Uppercase<N>}_SERVICE_URL` as const

const serviceUrl = (name: string) => Type.String({ description: `Where the gateway reaches the ${name} service; default http://127.0.0.1:<${name.toUpperCase()}_PORT>` })
/** EMAIL_SERVICE_URL, WHATSAPP_SERVICE_URL, …: one per service, in the services' order. */
const SERVICE_URLS = Object.fromEntries(SERVICE_NAMES.map(name => [serviceUrlVariable(name), serviceUrl(name)])) as
  Record<`${Uppercase<ServiceName>}_SERVICE_URL`, TString>

export const GatewayEnvSchema = Type.Composite([CommonEnvSchema, Type.Object({
  GATEWAY_PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  API_TOKEN: Type.Optional(Type.String({ minLength: 16, description: 'Bearer token for /api/automation/*; generated into the data folder when unset' })),
  ...SERVICE_URLS,
  UPSTREAM_TIMEOUT_MS: Type.Integer({ default: 30_000, minimum: 100, description: 'A service slower than this gets a 504' }),
  RATE_LIMIT_MAX: Type.Integer({ default: 6000, minimum: 0, description: 'Requests per RATE_LIMIT_WINDOW_MS per API token (per IP without one) on /api/automation, /api/zoom and /api/webhooks; 0 turns the limit off' }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ default: 60_000, minimum: 1000, description: 'The rate limit window' }),
  GATEWAY_TRUSTED_PROXIES: Type.String({ default: '', description: 'Addresses or CIDR ranges of the reverse proxies in front of the gateway (e.g. 127.0.0.1 for nginx on the same machine): their X-Forwarded-For names the client for rate limits, failed-auth limits and the receivers; empty: nobody\'s' }),
  SWITCHBOARD_EVENTS_URL: Type.Optional(Type.String({ description: 'An endpoint that receives every event (Standard Webhooks), kept in the endpoints table as the "env" endpoint; unset removes it' })),
  SWITCHBOARD_EVENTS_SECRET: Type.Optional(Type.String({ description: 'The whsec_ secret events to SWITCHBOARD_EVENTS_URL are signed with (required with it)' })),
  SWITCHBOARD_EVENTS_TYPES: Type.Optional(Type.String({ description: 'Comma-separated event types for SWITCHBOARD_EVENTS_URL; unset: every type' }))
})])
export type GatewayEnv = Static<typeof GatewayEnvSchema>

/**
 * Each `<SERVICE>_SERVICE_URL` not set explicitly follows `<SERVICE>_PORT` (its default port when
 * that is unset too): a user who moves a service moves the gateway's view of it with it, rather
 * than the gateway quietly forwarding to whatever else listens on the default port.
 */
export function serviceUrlDefaults (env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of SERVICE_NAMES) {
    const NAME = name.toUpperCase()
    if (env[`${NAME}_SERVICE_URL`]) continue
    const port = env[`${NAME}_PORT`] || String(SERVICES[name].port)
    out[`${NAME}_SERVICE_URL`] = `http://127.0.0.1:${port}`
  }
  return out
}

export const loadGatewayEnv = (env: Record<string, string | undefined> = process.env) => loadEnv(GatewayEnvSchema, { ...env, ...serviceUrlDefaults(env) })
