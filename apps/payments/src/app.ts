import type { CredentialsReport } from '@switchboard/service-kit/credentials'
import { appError, ServiceError } from '@switchboard/service-kit/errors'
import { alphanumeric } from '@switchboard/service-kit/emulator-account'
import { loadOrCreateSecret } from '@switchboard/service-kit/hmac'
import { modeClients } from '@switchboard/service-kit/provider-clients'
import { registerSecrets } from '@switchboard/service-kit/redact'
import { createServiceApp, type App, type AppOptions } from '@switchboard/service-kit/service-app'
import { SERVICES } from '@switchboard/service-kit/services'
import { Simulator } from '@switchboard/service-kit/simulation'
import { WebhookSender } from '@switchboard/service-kit/webhook-sender'
import { parseHostList } from '@switchboard/service-kit/webhook-targets'
import { createInstamojoClient } from './client/instamojo-client.ts'
import { EITHER_PAIR, instamojoHost, liveCredentials, paymentsSimulationOverrides, type PaymentsEnv } from './config.ts'
import { describeInstamojo } from './emulator/inspect.ts'
import { instamojoEmulator, MAX_TOKENS, type InstamojoCredential } from './emulator/index.ts'
import { DEFAULT_MAX_RECORDS } from './emulator/store.ts'
import { instamojoWebhookRoutes } from './routes/instamojo-webhook.ts'
import { paymentRoutes } from './routes/payments.ts'
import { createPaymentService } from './service/payment-service.ts'

export const EMULATOR_PREFIX = SERVICES.payments.emulatorPrefix
// The emulator's webhook salt, generated once into the data folder when INSTAMOJO_MOCK_SALT is unset.
export const SALT_FILE = 'instamojo-emulator-salt'

function notConfigured (missing: string[]): ServiceError {
  const both = missing.length === 2 && missing[0] === 'INSTAMOJO_CLIENT_ID'
  const message = both
    ? `Instamojo is in live mode but no credentials are set. Set ${EITHER_PAIR}, or switch payments back to mock mode.`
    : `Instamojo is in live mode but ${missing.join(' and ')} is not set (its partner is). Set it, or switch payments back to mock mode.`
  return appError('PROVIDER_NOT_CONFIGURED', message, { details: { missing: both ? ['INSTAMOJO_CLIENT_ID', 'INSTAMOJO_CLIENT_SECRET', 'INSTAMOJO_API_KEY', 'INSTAMOJO_AUTH_TOKEN'] : missing } })
}

export interface PaymentsAppOptions extends AppOptions<PaymentsEnv> {
  /**
   * Where a sibling service listens now, when this process runs it (the stack: its ports may be 0,
   * known only once it listens); otherwise EMAIL_SERVICE_URL / WHATSAPP_SERVICE_URL.
   */
  siblingUrl?: (service: 'email' | 'whatsapp') => string | undefined
}

/** The payments service: its API, the Instamojo emulator under /instamojo, and the webhook receiver. */
export async function buildApp (opts: PaymentsAppOptions): Promise<App> {
  const { env } = opts
  const creds = liveCredentials(env)
  const mode = () => app.runtime.get('payments').mode
  registerSecrets([env.INSTAMOJO_CLIENT_SECRET, env.INSTAMOJO_API_KEY, env.INSTAMOJO_AUTH_TOKEN, env.INSTAMOJO_SALT, env.INSTAMOJO_MOCK_SALT])
  // What the admin switch checks before live mode (it refuses with a 422 naming what is missing),
  // as for the other services: either API's pair will do, so only a missing pair is named.
  const credentials = (): CredentialsReport => ({
    variables: (['INSTAMOJO_CLIENT_ID', 'INSTAMOJO_CLIENT_SECRET', 'INSTAMOJO_API_KEY', 'INSTAMOJO_AUTH_TOKEN'] as const)
      .map(name => ({ name, value: env[name] || undefined })),
    missing: creds.ok ? [] : creds.missing,
    ...(creds.ok ? {} : { needs: creds.needs })
  })
  const app: App = await createServiceApp({
    ...opts,
    service: 'payments',
    simulation: paymentsSimulationOverrides(env),
    credentials,
    readiness: (): Record<string, { ok: boolean, message?: string }> => {
      if (mode() === 'mock') return { provider: { ok: true, message: 'mock mode: Instamojo emulator' } }
      if (!creds.ok) return { provider: { ok: false, message: `live mode needs ${creds.missing.join(' and ')}` } }
      return {
        provider: { ok: true, message: `live mode: Instamojo ${creds.auth.kind === 'oauth' ? 'v2' : 'v1.1'} (${env.INSTAMOJO_ENV})` },
        webhooks: env.INSTAMOJO_SALT
          ? { ok: true, ...(env.PAYMENTS_WEBHOOK_URL ? {} : { message: 'PAYMENTS_WEBHOOK_URL is not set: statuses update only when read' }) }
          : { ok: false, message: 'live mode needs INSTAMOJO_SALT to verify webhooks' }
      }
    }
  })

  app.describeExchanges(describeInstamojo())
  const webhookSender = new WebhookSender({ store: app.activityLog, source: 'payments', clock: app.clock, logger: app.log, allowedHosts: parseHostList(env.WEBHOOK_ALLOWED_HOSTS) })
  app.addHook('onClose', async () => { await webhookSender.close() })
  // Kept in the data folder, so a receiver configured with it keeps working across restarts.
  const salt = env.INSTAMOJO_MOCK_SALT ?? loadOrCreateSecret(env.SWITCHBOARD_DATA_DIR, SALT_FILE, { bytes: 16, encoding: 'hex', derivedFrom: env.INTERNAL_TOKEN })
  // Instamojo's credentials: a client id and secret of letters and digits for v2 (lengths unverified),
  // 32 hex digits each for v1.1's key and token.
  const account = app.emulatorAccount<InstamojoCredential>({
    client_id: bytes => alphanumeric(bytes, 40),
    client_secret: bytes => alphanumeric(bytes, 64),
    api_key: bytes => bytes.subarray(0, 16).toString('hex'),
    auth_token: bytes => bytes.subarray(16, 32).toString('hex')
  })
  await app.register(instamojoEmulator, {
    account,
    // Payment requests, payments, gateway orders and tokens live in the database, the oldest past the bound deleted.
    state: app.activityLog.emulatorState({ table: 'instamojo_emulator_state', retention: { request: DEFAULT_MAX_RECORDS, payment: DEFAULT_MAX_RECORDS, slug: DEFAULT_MAX_RECORDS, order: DEFAULT_MAX_RECORDS, order_tid: DEFAULT_MAX_RECORDS, token: MAX_TOKENS }, logger: app.log }),
    prefix: EMULATOR_PREFIX,
    simulator: new Simulator(() => app.runtime.get('payments').simulation, 'payments', app.runtime.scenarios),
    webhookSender,
    salt,
    clock: app.clock
  })

  const liveAuth = creds.ok ? creds.auth : undefined
  // NEVER a fallback to the emulator for payments (SERVICES.payments.neverFallsBack): runtime.fallback is deliberately ignored here.
  // A link from the emulator handed to a real buyer would take no money and report success, so a
  // live call that fails, fails (clearly), and a live mode without credentials is a 503.
  const clientFor = modeClients({
    provider: 'Instamojo',
    credentials,
    notConfigured,
    mock: () => createInstamojoClient({
      baseUrl: `${app.selfBaseUrl()}${EMULATOR_PREFIX}`, auth: { kind: 'oauth', clientId: account.credentials.client_id, clientSecret: account.credentials.client_secret }, timeoutMs: env.PROVIDER_TIMEOUT_MS, emulatorHeaders: app.controlHeaders
    }),
    live: () => createInstamojoClient({
      baseUrl: instamojoHost(env, liveAuth!.kind === 'oauth' ? 'v2' : 'v1.1'), auth: liveAuth!, timeoutMs: env.PROVIDER_TIMEOUT_MS
    })
  })

  const service = createPaymentService({
    activityLog: app.activityLog,
    runtime: app.runtime,
    clientFor,
    webhookUrl: (m) => m === 'mock' ? `${app.selfBaseUrl()}/webhooks/instamojo` : env.PAYMENTS_WEBHOOK_URL,
    saltFor: (m) => m === 'mock' ? salt : env.INSTAMOJO_SALT,
    redirectUrl: env.PAYMENTS_REDIRECT_URL,
    emailServiceUrl: () => opts.siblingUrl?.('email') ?? env.EMAIL_SERVICE_URL,
    whatsappServiceUrl: () => opts.siblingUrl?.('whatsapp') ?? env.WHATSAPP_SERVICE_URL,
    serviceHeaders: app.controlHeaders,
    timeoutMs: env.PROVIDER_TIMEOUT_MS
  })

  await app.register(instamojoWebhookRoutes, { service })
  await app.register(paymentRoutes, { service })
  return app
}
