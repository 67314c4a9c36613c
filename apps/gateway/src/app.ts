import helmet from '@fastify/helmet'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { closeSharedInfrastructure, createBaseApp, openSharedInfrastructure, type App, type SharedInfrastructure } from '@switchboard/service-kit/service-app'
import { AuthFailureLimiter } from '@switchboard/service-kit/auth-failures'
import { SERVICE_NAMES, type ServiceName } from '@switchboard/service-kit/services'
import { adminPage, CSP_DIRECTIVES } from './admin/index.ts'
import type { GatewayEnv } from './config.ts'
import { requireBearer } from './plugins/auth.ts'
import rateLimit from './plugins/rate-limit.ts'
import upstreams from './plugins/upstreams.ts'
import { adminActivityRoutes } from './routes/admin-activity.ts'
import { adminSettingsRoutes } from './routes/admin-settings.ts'
import { healthRoutes } from './routes/health.ts'
import { SERVICE_ROUTES } from './routes/index.ts'
import type { Tokens } from './tokens.ts'

export interface GatewayOptions {
  env: GatewayEnv
  /** The API and admin tokens; the internal one comes from here or from `shared`. */
  tokens: Pick<Tokens, 'apiToken' | 'adminToken'> & Partial<Pick<Tokens, 'internalToken'>>
  logger?: boolean | object
  /** Which services to front; default every service that has routes. */
  services?: ServiceName[]
  /** The stack's (or a test's) activity log and runtime settings; otherwise opened from env. */
  shared?: SharedInfrastructure
}

const pathOf = (url: string) => url.split('?')[0] ?? ''

/** The public HTTP API: auth, validation with the shared schemas, forwarding, docs. */
export async function buildApp (opts: GatewayOptions): Promise<App> {
  const { env, tokens } = opts
  const app = createBaseApp('GATEWAY', opts.logger, env)

  const services = (opts.services ?? SERVICE_NAMES).filter(s => SERVICE_ROUTES[s])
  await app.register(swagger, {
    openapi: {
      info: { title: 'Switchboard', version: '1.0.0', description: 'One API for email (SendGrid), WhatsApp (AiSensy), payments (Instamojo), voice (Bolna.ai) and Zoom, in mock or live mode.' },
      components: { securitySchemes: { apiToken: { type: 'http', scheme: 'bearer' }, adminToken: { type: 'http', scheme: 'bearer' } } }
    }
  })
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
  // Failed attempts are counted per address across both tokens: guessing one is guessing.
  const failures = new AuthFailureLimiter({ max: env.AUTH_FAILURE_LIMIT, windowMs: env.AUTH_FAILURE_WINDOW_MS })
  const adminAuth = requireBearer(() => [tokens.adminToken], failures)
  const apiAuth = requireBearer(() => [tokens.apiToken, tokens.adminToken], failures)
  app.addHook('onRequest', async (request, reply) => {
    // The matched route, not the raw URL: the router decodes %-escapes, so /api/%61dmin/... reaches
    // an admin route while its raw URL does not start with /api/admin.
    const path = request.routeOptions.url ?? pathOf(request.url)
    if (path.startsWith('/api/admin')) return adminAuth(request, reply)
    if (path.startsWith('/api/automation')) return apiAuth(request, reply)
    if (path === '/api/zoom' || path.startsWith('/api/zoom/')) return apiAuth(request, reply)
  })

  const shared = opts.shared ?? await openSharedInfrastructure(env, app.log)
  if (!opts.shared) app.addHook('onClose', async () => { await closeSharedInfrastructure(shared) })
  await app.register(upstreams, {
    timeoutMs: env.UPSTREAM_TIMEOUT_MS,
    internalToken: tokens.internalToken ?? shared.tokens.internalToken,
    upstreams: { email: env.EMAIL_SERVICE_URL, whatsapp: env.WHATSAPP_SERVICE_URL, payments: env.PAYMENTS_SERVICE_URL, voice: env.VOICE_SERVICE_URL, zoom: env.ZOOM_SERVICE_URL }
  })
  await app.register(healthRoutes, { services })
  await app.register(adminSettingsRoutes, { services, runtime: shared.runtime, activityLog: shared.activityLog })
  await app.register(adminActivityRoutes, { services, activityLog: shared.activityLog })
  for (const s of services) await app.register(SERVICE_ROUTES[s]!)
  return app
}
