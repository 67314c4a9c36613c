import { requireAll } from '@switchboard/service-kit/credentials'
import { loadOrCreateSecret } from '@switchboard/service-kit/hmac'
import { modeClients } from '@switchboard/service-kit/provider-clients'
import { createServiceApp, type App, type AppOptions } from '@switchboard/service-kit/service-app'
import { SERVICES } from '@switchboard/service-kit/services'
import { addressList } from '@switchboard/service-kit/source-address'
import { Simulator } from '@switchboard/service-kit/simulation'
import { WebhookSender } from '@switchboard/service-kit/webhook-sender'
import { parseHostList } from '@switchboard/service-kit/webhook-targets'
import { SECRET_FILE } from './bolna-webhooks.ts'
import { createBolnaClient } from './client/bolna-client.ts'
import { callStepRange, scriptAliases, voiceSimulationOverrides, type VoiceEnv } from './config.ts'
import { bolnaEmulator } from './emulator/index.ts'
import { describeBolna } from './emulator/inspect.ts'
import { bolnaWebhookRoutes } from './routes/bolna-webhook.ts'
import { voiceRoutes } from './routes/calls.ts'
import { createVoiceService } from './service/voice-service.ts'

export const EMULATOR_PREFIX = SERVICES.voice.emulatorPrefix

/** The voice service: its API, the Bolna emulator under /bolna, and the webhook receiver. */
export async function buildApp (opts: AppOptions<VoiceEnv>): Promise<App> {
  const { env } = opts
  // Bad values stop start-up naming the variable, before anything is opened.
  const stepMs = callStepRange(env)
  const aliases = scriptAliases(env)
  const allowedIps = addressList(env.BOLNA_WEBHOOK_ALLOWED_IPS, 'BOLNA_WEBHOOK_ALLOWED_IPS')
  const trustedProxies = addressList(env.VOICE_TRUSTED_PROXIES, 'VOICE_TRUSTED_PROXIES')
  const credentials = () => requireAll({ BOLNA_API_KEY: env.BOLNA_API_KEY })
  const app: App = await createServiceApp({
    ...opts,
    service: 'voice',
    simulation: voiceSimulationOverrides(env),
    credentials
  })

  app.describeExchanges(describeBolna)
  const webhookSender = new WebhookSender({ store: app.activityLog, source: 'voice', clock: app.clock, logger: app.log, allowedHosts: parseHostList(env.WEBHOOK_ALLOWED_HOSTS) })
  app.addHook('onClose', async () => { await webhookSender.close() })
  const simulator = new Simulator(() => app.runtime.get('voice').simulation, 'voice', app.runtime.scenarios)
  // Kept in the data folder: the same secret across restarts and for every process sharing it.
  const emulatorSecret = loadOrCreateSecret(env.SWITCHBOARD_DATA_DIR, SECRET_FILE, { derivedFrom: env.INTERNAL_TOKEN })
  const ownReceiver = () => { try { return `${app.selfBaseUrl()}/webhooks/bolna` } catch { return undefined } }
  // Bolna's keys: bn- and 32 hex digits.
  const account = app.emulatorAccount({ apiKey: bytes => `bn-${bytes.subarray(0, 16).toString('hex')}` })
  await app.register(bolnaEmulator, {
    prefix: EMULATOR_PREFIX,
    account,
    simulator,
    webhookSender,
    signingSecret: emulatorSecret,
    stepMs: () => stepMs,
    clock: app.clock,
    // Agents and calls live in the database, at most the engine's bound of calls.
    state: app.activityLog.emulatorState({ table: 'bolna_emulator_state', retention: { call: 10_000, agent: 1_000 }, logger: app.log }),
    defaultWebhookUrl: () => env.BOLNA_MOCK_WEBHOOK_URL ?? ownReceiver()
  })

  const clientFor = modeClients({
    provider: 'Bolna',
    credentials,
    mock: () => createBolnaClient({ baseUrl: `${app.selfBaseUrl()}${EMULATOR_PREFIX}`, apiKey: account.credentials.apiKey, timeoutMs: env.PROVIDER_TIMEOUT_MS }),
    live: () => createBolnaClient({ baseUrl: env.BOLNA_BASE_URL, apiKey: env.BOLNA_API_KEY!, timeoutMs: env.PROVIDER_TIMEOUT_MS })
  })

  const service = createVoiceService({
    activityLog: app.activityLog,
    runtime: app.runtime,
    clientFor,
    scriptAliases: aliases,
    fromNumber: env.BOLNA_FROM_NUMBER,
    bulkConcurrency: env.VOICE_BULK_CONCURRENCY,
    reconcileMs: env.VOICE_RECONCILE_MS,
    reconcileMaxMs: env.VOICE_RECONCILE_MAX_MS,
    leaseMs: env.JOB_LEASE_MS,
    bulkWaitMs: env.BULK_WAIT_MS,
    logger: app.log
  })
  // Campaigns and bulk batches are jobs: taken up once the server listens (mock calls go to its own emulator).
  // Before it closes they stop claiming and finish what is in flight; the rest resumes at the next start.
  app.addHook('onListen', async () => { service.startJobs() })
  app.addHook('preClose', async () => { await service.close() })

  await app.register(bolnaWebhookRoutes, {
    service,
    allowedIps,
    trustedProxies,
    emulatorSecret,
    maxAgeSeconds: env.BOLNA_WEBHOOK_MAX_AGE_S
  })
  await app.register(voiceRoutes, { service })
  return app
}
