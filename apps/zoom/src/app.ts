import { requireAll } from '@switchboard/service-kit/credentials'
import { alphanumeric } from '@switchboard/service-kit/emulator-account'
import { loadOrCreateSecret } from '@switchboard/service-kit/hmac'
import { modeClients } from '@switchboard/service-kit/provider-clients'
import { createServiceApp, type App, type AppOptions } from '@switchboard/service-kit/service-app'
import { SERVICES } from '@switchboard/service-kit/services'
import { Simulator } from '@switchboard/service-kit/simulation'
import { WebhookSender } from '@switchboard/service-kit/webhook-sender'
import { parseHostList } from '@switchboard/service-kit/webhook-targets'
import { createZoomClient } from './client/zoom-client.ts'
import { zoomSimulationOverrides, type ZoomEnv } from './config.ts'
import { zoomEmulator, ZoomEmulatorState, type ZoomCredential } from './emulator/index.ts'
import { describeZoom } from './emulator/inspect.ts'
import { zoomRetryDelaysMs } from './zoom-webhooks.ts'
import { ZoomMeetingPersistence } from './emulator/persist.ts'
import { meetingRoutes } from './routes/meetings.ts'
import { zoomWebhookRoutes } from './routes/zoom-webhook.ts'
import { createZoomService } from './service/zoom-service.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The emulator's state (meetings, tokens, webhook counters), for tests and diagnostics. */
    zoomEmulator: ZoomEmulatorState
  }
}

export const EMULATOR_PREFIX = SERVICES.zoom.emulatorPrefix
export const WEBHOOK_SECRET_FILE = 'zoom-webhook-secret-token'

/** The Zoom service: its API, the Zoom emulator under /zoom, and the webhook receiver. */
export async function buildApp (opts: AppOptions<ZoomEnv>): Promise<App> {
  const { env } = opts
  const credentials = () => requireAll({ ZOOM_ACCOUNT_ID: env.ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID: env.ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET: env.ZOOM_CLIENT_SECRET })
  const app: App = await createServiceApp({
    ...opts,
    service: 'zoom',
    simulation: zoomSimulationOverrides(env),
    credentials
  })

  app.describeExchanges(describeZoom)

  // The listening address never changes once known: the URLs built on it are computed once.
  let listening: { base: string, emulator: string, webhook: string } | undefined
  const urls = () => {
    if (listening) return listening
    let base: string
    try {
      base = app.selfBaseUrl()
    } catch {
      base = `http://127.0.0.1:${env.ZOOM_PORT}` // not listening yet: not kept
      return { base, emulator: `${base}${EMULATOR_PREFIX}`, webhook: `${base}/webhooks/zoom` }
    }
    listening = { base, emulator: `${base}${EMULATOR_PREFIX}`, webhook: `${base}/webhooks/zoom` }
    return listening
  }
  const webhookUrl = env.ZOOM_WEBHOOK_URL
  // One Secret Token for both sides: the emulator signs with it, the receiver verifies with it.
  const webhookSecret = env.ZOOM_WEBHOOK_SECRET_TOKEN ?? loadOrCreateSecret(env.SWITCHBOARD_DATA_DIR, WEBHOOK_SECRET_FILE, { derivedFrom: env.INTERNAL_TOKEN })
  const webhookSender = new WebhookSender({ store: app.activityLog, source: 'zoom', clock: app.clock, logger: app.log, retryDelaysMs: zoomRetryDelaysMs(env.ZOOM_WEBHOOK_RETRY_MINUTE_MS), allowedHosts: parseHostList(env.WEBHOOK_ALLOWED_HOSTS) })
  // Meetings live in the database (zoom_emulator_state), at most ZOOM_MAX_MEETINGS of them.
  const persistence = new ZoomMeetingPersistence(app.activityLog.emulatorState({
    table: 'zoom_emulator_state',
    retention: { meeting: env.ZOOM_MAX_MEETINGS },
    logger: app.log
  }))
  // A Server-to-Server OAuth app's credentials: 22-character account and client ids, a 32-character secret.
  const account = app.emulatorAccount<ZoomCredential>({
    account_id: bytes => alphanumeric(bytes, 22),
    client_id: bytes => alphanumeric(bytes, 22),
    client_secret: bytes => alphanumeric(bytes, 32)
  })
  const state = new ZoomEmulatorState({
    webhookSender,
    ...(account.auth === 'issued' ? { tokenKeyFrom: account.credentials.client_secret } : {}),
    webhookSecret,
    // "off": an app with no event subscription.
    webhookUrl: webhookUrl === 'off' ? undefined : () => webhookUrl ?? urls().webhook,
    baseUrl: () => urls().emulator,
    timeScale: env.ZOOM_TIME_SCALE,
    recordingDelayMs: env.ZOOM_RECORDING_DELAY_MS,
    retentionMs: env.ZOOM_ENDED_RETENTION_S * 1000,
    maxMeetings: env.ZOOM_MAX_MEETINGS,
    tokenTtlSeconds: env.ZOOM_EMULATOR_TOKEN_TTL_S,
    maxPendingWebhooks: env.ZOOM_WEBHOOK_MAX_PENDING,
    persistence,
    logger: app.log,
    clock: app.clock
  })
  app.addHook('onClose', async () => {
    await state.close()
    await webhookSender.close()
  })
  await state.restore()
  state.store.startSweeper(env.ZOOM_SWEEP_INTERVAL_MS)
  persistence.state.startRetention(env.ZOOM_SWEEP_INTERVAL_MS)
  app.decorate('zoomEmulator', state)
  app.addHook('onListen', async () => { state.listening = true })

  const simulator = new Simulator(() => app.runtime.get('zoom').simulation, 'zoom', app.runtime.scenarios)
  app.onMockReset(async () => { await state.clear(); simulator.restart() })
  await app.register(zoomEmulator, { prefix: EMULATOR_PREFIX, state, simulator, account })

  const clientFor = modeClients({
    provider: 'Zoom',
    credentials,
    mock: () => createZoomClient({
      accountId: account.credentials.account_id,
      clientId: account.credentials.client_id,
      clientSecret: account.credentials.client_secret,
      apiBaseUrl: `${app.selfBaseUrl()}${EMULATOR_PREFIX}/v2`,
      oauthBaseUrl: `${app.selfBaseUrl()}${EMULATOR_PREFIX}`,
      emulatorBaseUrl: `${app.selfBaseUrl()}${EMULATOR_PREFIX}`,
      emulatorHeaders: app.controlHeaders,
      timeoutMs: env.PROVIDER_TIMEOUT_MS,
      now: () => app.clock.now()
    }),
    live: () => createZoomClient({
      apiBaseUrl: env.ZOOM_API_BASE_URL,
      oauthBaseUrl: env.ZOOM_OAUTH_BASE_URL,
      accountId: env.ZOOM_ACCOUNT_ID!,
      clientId: env.ZOOM_CLIENT_ID!,
      clientSecret: env.ZOOM_CLIENT_SECRET!,
      timeoutMs: env.PROVIDER_TIMEOUT_MS
    })
  })

  const service = createZoomService({ runtime: app.runtime, clientFor, userId: env.ZOOM_USER_ID, logger: app.log })
  await app.register(zoomWebhookRoutes, { service, secret: webhookSecret, maxAgeSeconds: env.ZOOM_WEBHOOK_MAX_AGE_S })
  await app.register(meetingRoutes, { service })
  return app
}
