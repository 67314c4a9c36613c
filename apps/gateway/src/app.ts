import type { RouteOptions } from 'fastify'
import helmet from '@fastify/helmet'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { Type } from '@sinclair/typebox'
import { idempotency } from '@switchboard/service-kit/idempotency'
import { closeSharedInfrastructure, createBaseApp, openSharedInfrastructure, type App, type SharedInfrastructure } from '@switchboard/service-kit/service-app'
import { AuthFailureLimiter } from '@switchboard/service-kit/auth-failures'
import { SERVICE_NAMES, SERVICES, type ServiceName } from '@switchboard/service-kit/services'
import { addressList, addressMatcher } from '@switchboard/service-kit/source-address'
import { adminPage, CSP_DIRECTIVES } from './admin/index.ts'
import { serviceUrlVariable, type GatewayEnv } from './config.ts'
import { swaggerOptions } from './openapi.ts'
import { bearerOf, requireBearer, tokenDigest, tokenFor } from './plugins/auth.ts'
import rateLimit from './plugins/rate-limit.ts'
import upstreams from './plugins/upstreams.ts'
import { adminActivityRoutes } from './routes/admin-activity.ts'
import { adminEventsRoutes } from './routes/admin-events.ts'
import { startEvents } from './events.ts'
import { adminClockRoutes } from './routes/admin-clock.ts'
import { adminScenarioRoutes } from './routes/admin-scenario.ts'
import { adminEmulatorRoutes } from './routes/admin-emulators.ts'
import { adminDatasetRoutes } from './routes/admin-datasets.ts'
import { adminInspectRoutes } from './routes/admin-inspect.ts'
import { adminSettingsRoutes } from './routes/admin-settings.ts'
import { healthRoutes } from './routes/health.ts'
import { SERVICE_ROUTES } from './routes/index.ts'
import type { Tokens } from './tokens.ts'

export interface GatewayOptions {
  env: GatewayEnv
  /** The API and admin tokens; the internal one comes from here or from `shared`. */
  tokens: Pick<Tokens, 'apiToken' | 'adminToken'> & Partial<Pick<Tokens, 'internalToken' | 'file'>>
  logger?: boolean | object
  /** Which services to front; default every service that has routes. */
  services?: ServiceName[]
  /** The stack's (or a test's) activity log and runtime settings; otherwise opened from env. */
  shared?: SharedInfrastructure
}

const pathOf = (url: string) => url.split('?')[0] ?? ''

const NO_QUERY = Type.Object({}, { additionalProperties: false })

/**
 * Every API route refuses a query parameter it does not know, with a 400 naming it, as routes with
 * a closed query schema always did: a typo (`contacts=` for `contact=`) otherwise reads as no
 * filter and answers everyone's rows. A route without a query schema takes no parameter; a schema
 * that does not say otherwise is closed. One default here instead of a line in every route. (Not
 * the webhook routes: what a provider adds to its URL is the provider's business.)
 */
function closedQueryString (route: RouteOptions): void {
  if (!route.url.startsWith('/api/') || route.url.startsWith('/api/webhooks/')) return
  const schema = route.schema ?? {}
  const query = schema.querystring as { additionalProperties?: unknown } | undefined
  if (query === undefined) route.schema = { ...schema, querystring: NO_QUERY }
  // A copy: the schema object is shared with the service that defines the same route.
  else if (query.additionalProperties === undefined) route.schema = { ...schema, querystring: { ...query, additionalProperties: false } }
}
const POLLED = /^\/(api\/admin\/|admin(\/|$)|health$|ready$|docs)/

/** The public HTTP API: auth, validation with the shared schemas, forwarding, docs. */
export async function buildApp (opts: GatewayOptions): Promise<App> {
  const { env, tokens } = opts
  // What a person sent is logged at info; the admin page's polling and health checks at debug.
  // Behind a reverse proxy every caller would share the proxy's address (one rate-limit bucket, one
  // failed-auth count, the receivers seeing the proxy): the proxies named here are believed instead.
  const proxies = addressList(env.GATEWAY_TRUSTED_PROXIES, 'GATEWAY_TRUSTED_PROXIES')
  const app = createBaseApp('GATEWAY', opts.logger, env, {
    requestLogLevel: request => request.method === 'GET' && POLLED.test(pathOf(request.url)) ? 'debug' : 'info',
    notFoundHint: path => {
      const name = SERVICE_NAMES.find(s => path === SERVICES[s].emulatorPrefix || path.startsWith(`${SERVICES[s].emulatorPrefix}/`))
      if (name === undefined) return undefined
      // Read when a 404 is answered, once the upstreams plugin (below) has set them.
      const base = (app.upstreams as Partial<Record<ServiceName, string>> | undefined)?.[name]
      return `The ${SERVICES[name].provider} emulator is served by the ${name} service${base ? ` at ${base}${SERVICES[name].emulatorPrefix}` : ''}, not by the gateway: point the SDK there (GET /api/admin/emulators lists each one).`
    },
    ...(proxies.length > 0 ? { trustedProxy: addressMatcher(proxies) } : {})
  })

  const services = (opts.services ?? SERVICE_NAMES).filter(s => SERVICE_ROUTES[s])
  // Before any route (and before the OpenAPI document reads them).
  app.addHook('onRoute', closedQueryString)
  await app.register(swagger, swaggerOptions(env.GATEWAY_PORT))
  // One mechanism for every page's security headers: the admin page's strict policy by default;
  // Swagger UI replaces the CSP on its own routes with one that admits its inline script and style
  // by hash. No HSTS: the sandbox is served over plain HTTP on loopback.
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: false
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    // Plain HTTP on loopback: upgrading the page's requests to https would break it; and no framing.
    transformStaticCSP: (header: string) => header.replace(/\s*upgrade-insecure-requests;?/, '').replace("frame-ancestors 'self'", "frame-ancestors 'none'")
  })
  await app.register(adminPage) // the admin page at /admin: a data-free shell, served without a token
  // Before the token check, so guessing tokens is limited too.
  await app.register(rateLimit, { max: env.RATE_LIMIT_MAX, windowMs: env.RATE_LIMIT_WINDOW_MS, tokens: () => [tokens.apiToken, tokens.adminToken] })

  // Auth by path: /api/admin/* needs the admin token, /api/automation/* the API token (or the
  // admin token). Webhook routes are authenticated by their providers' signatures instead.
  const whereIs = (label: string, variable: string) => `It is printed in the start banner ("${label}")` +
    `${tokens.file ? `, kept in ${tokens.file} when generated,` : ''} and set by ${variable} in the environment when you choose your own.`
  // Failed attempts are counted per address across both tokens: guessing one is guessing.
  const failures = new AuthFailureLimiter({ max: env.AUTH_FAILURE_LIMIT, windowMs: env.AUTH_FAILURE_WINDOW_MS })
  const adminAuth = requireBearer(() => [tokens.adminToken], `Admin routes (/api/admin/*) need the admin token. ${whereIs('Admin token', 'ADMIN_TOKEN')}`, failures)
  const apiAuth = requireBearer(() => [tokens.apiToken, tokens.adminToken], `This route needs the API token (the admin token works too). ${whereIs('API token', 'API_TOKEN')}`, failures)
  app.addHook('onRequest', async (request, reply) => {
    // The matched route, not the raw URL: the router decodes %-escapes, so /api/%61dmin/... reaches
    // an admin route while its raw URL does not start with /api/admin.
    const path = request.routeOptions.url ?? pathOf(request.url)
    const token = tokenFor(path)
    if (token === 'admin') return adminAuth(request, reply)
    if (token === 'api') return apiAuth(request, reply)
  })

  const shared = opts.shared ?? await openSharedInfrastructure(env, app.log)
  if (!opts.shared) app.addHook('onClose', async () => { await closeSharedInfrastructure(shared) })
  await app.register(upstreams, {
    timeoutMs: env.UPSTREAM_TIMEOUT_MS,
    internalToken: tokens.internalToken ?? shared.tokens.internalToken,
    upstreams: Object.fromEntries(SERVICE_NAMES.map(name => [name, env[serviceUrlVariable(name)]])) as Record<ServiceName, string>
  })
  await app.register(healthRoutes, { services })
  await app.register(adminSettingsRoutes, { services, runtime: shared.runtime, activityLog: shared.activityLog })
  await app.register(adminActivityRoutes, { services, activityLog: shared.activityLog })
  const events = await startEvents(app, env, shared.activityLog, shared.runtime.clock)
  await app.register(adminEventsRoutes, { activityLog: shared.activityLog, allowedHosts: events.allowedHosts, sender: events.sender })
  await app.register(adminClockRoutes, { services, runtime: shared.runtime })
  await app.register(adminScenarioRoutes, { services, runtime: shared.runtime })
  await app.register(adminDatasetRoutes, { tokens })
  await app.register(adminEmulatorRoutes, { services, auth: env.EMULATOR_AUTH })
  await app.register(adminInspectRoutes, { activityLog: shared.activityLog })
  // Keys are per token: two callers' equal keys never meet (the digest, never the token, is stored).
  await app.register(idempotency, { store: shared.activityLog, codePrefix: 'GATEWAY', callerOf: request => tokenDigest(bearerOf(request)).toString('hex') })
  for (const s of services) await app.register(SERVICE_ROUTES[s]!)
  return app
}
