import { requireAll } from '@switchboard/service-kit/credentials'
import { parseRange } from '@switchboard/service-kit/env'
import { loadOrCreateSecret } from '@switchboard/service-kit/hmac'
import { modeClients } from '@switchboard/service-kit/provider-clients'
import { createServiceApp, type App, type AppOptions } from '@switchboard/service-kit/service-app'
import { SERVICES } from '@switchboard/service-kit/services'
import { addressList } from '@switchboard/service-kit/source-address'
import { Simulator } from '@switchboard/service-kit/simulation'
import { WebhookSender } from '@switchboard/service-kit/webhook-sender'
import { parseHostList } from '@switchboard/service-kit/webhook-targets'
import { loadCatalogue } from './catalogue.ts'
import { createAiSensyClient } from './client/aisensy-client.ts'
import { whatsappSimulationOverrides, type WhatsAppEnv } from './config.ts'
import { aisensyEmulator, MAX_PENDING } from './emulator/index.ts'
import { AiSensyPersistence } from './emulator/persist.ts'
import { TOKEN_FILE } from './aisensy-webhooks.ts'
import type { AiSensyEmulatorControls } from './emulator/index.ts'
import { describeAiSensy } from './emulator/inspect.ts'
import { aisensyWebhookRoutes } from './routes/aisensy-webhook.ts'
import { emulatorControlRoutes } from './routes/emulator-control.ts'
import { whatsappRoutes } from './routes/whatsapp.ts'
import { createInboundMessages } from './service/inbound-messages.ts'
import { createWhatsAppService } from './service/whatsapp-service.ts'

export const EMULATOR_PREFIX = SERVICES.whatsapp.emulatorPrefix

/** The WhatsApp service: its API, the AiSensy emulator under /aisensy, and the status receiver. */
export async function buildApp (opts: AppOptions<WhatsAppEnv>): Promise<App> {
  const { env } = opts
  const templates = loadCatalogue(env.WHATSAPP_TEMPLATES_FILE)
  const credentials = () => requireAll({ AISENSY_API_KEY: env.AISENSY_API_KEY })
  const app: App = await createServiceApp({
    ...opts,
    service: 'whatsapp',
    simulation: whatsappSimulationOverrides(env),
    credentials
  })

  app.describeExchanges(describeAiSensy(templates, env.WHATSAPP_DEFAULT_CONTACT_NAME))
  // The secret in the webhook URL the team sets in AiSensy's dashboard (AiSensy signs nothing);
  // the emulator posts to the same kind of URL. Stable across restarts.
  const webhookToken = env.AISENSY_WEBHOOK_TOKEN ?? loadOrCreateSecret(env.SWITCHBOARD_DATA_DIR, TOKEN_FILE, { derivedFrom: env.INTERNAL_TOKEN })
  const allowedIps = addressList(env.AISENSY_WEBHOOK_ALLOWED_IPS, 'AISENSY_WEBHOOK_ALLOWED_IPS')
  const trustedProxies = addressList(env.WHATSAPP_TRUSTED_PROXIES, 'WHATSAPP_TRUSTED_PROXIES')
  const webhookSender = new WebhookSender({ store: app.activityLog, source: 'whatsapp', clock: app.clock, logger: app.log, urlSecrets: () => [webhookToken], allowedHosts: parseHostList(env.WEBHOOK_ALLOWED_HOSTS) })
  app.addHook('onClose', async () => { await webhookSender.close() })
  const simulator = new Simulator(() => app.runtime.get('whatsapp').simulation, 'whatsapp', app.runtime.scenarios)
  const ownReceiver = () => { try { return `${app.selfBaseUrl()}/webhooks/aisensy/${webhookToken}` } catch { return undefined } }
  const controls: AiSensyEmulatorControls = {}
  // AiSensy's keys are JWTs: header {"alg":"HS256","typ":"JWT"}, a payload naming the project, a signature.
  const account = app.emulatorAccount({
    apiKey: bytes => 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.' +
      Buffer.from(JSON.stringify({ id: bytes.subarray(0, 12).toString('hex'), name: 'Switchboard', appName: 'AiSensy' })).toString('base64url') +
      `.${bytes.subarray(12, 44).toString('base64url')}`
  })
  await app.register(aisensyEmulator, {
    prefix: EMULATOR_PREFIX,
    account,
    clock: app.clock,
    simulator,
    webhookSender,
    controls,
    // Messages with status notifications still due live in the database, at most MAX_PENDING.
    persistence: new AiSensyPersistence(app.activityLog.emulatorState({ table: 'aisensy_emulator_state', retention: { message: MAX_PENDING }, logger: app.log }), app.clock),
    statusGapMs: parseRange(env.AISENSY_STATUS_GAP_MS, 'AISENSY_STATUS_GAP_MS'),
    // "off": a project with no webhook set in AiSensy's dashboard, which gets no status posts.
    webhookUrl: env.AISENSY_WEBHOOK_URL === 'off' ? () => undefined : () => env.AISENSY_WEBHOOK_URL ?? ownReceiver()
  })

  const clientFor = modeClients({
    provider: 'AiSensy',
    credentials,
    mock: () => createAiSensyClient({
      baseUrl: `${app.selfBaseUrl()}${EMULATOR_PREFIX}`, apiKey: account.credentials.apiKey, version: env.AISENSY_API_VERSION, timeoutMs: env.PROVIDER_TIMEOUT_MS
    }),
    live: () => createAiSensyClient({
      baseUrl: env.AISENSY_BASE_URL, apiKey: env.AISENSY_API_KEY!, version: env.AISENSY_API_VERSION, timeoutMs: env.PROVIDER_TIMEOUT_MS
    })
  })

  const service = createWhatsAppService({
    activityLog: app.activityLog,
    runtime: app.runtime,
    clientFor,
    templates,
    source: env.AISENSY_SOURCE,
    defaultContactName: env.WHATSAPP_DEFAULT_CONTACT_NAME,
    bulkConcurrency: env.WHATSAPP_BULK_CONCURRENCY,
    campaignConcurrency: env.WHATSAPP_CAMPAIGN_CONCURRENCY,
    leaseMs: env.JOB_LEASE_MS,
    bulkWaitMs: env.BULK_WAIT_MS,
    logger: app.log
  })
  // Jobs start once the server listens (mock sends go to its own emulator) and stop claiming
  // while it still answers (the sends in flight may be talking to that emulator); what is left
  // pending is taken up at the next start. Buffered rows are flushed on close.
  app.addHook('onListen', async () => { service.startJobs() })
  app.addHook('preClose', async () => { await service.stopCampaigns() })
  app.addHook('onClose', async () => { service.close() })

  const inbound = createInboundMessages({ activityLog: app.activityLog, mode: () => app.runtime.get('whatsapp').mode })
  await app.register(aisensyWebhookRoutes, { service, inbound, token: webhookToken, allowedIps, trustedProxies })
  await app.register(whatsappRoutes, { service, inbound })
  await app.register(emulatorControlRoutes, { controls, mode: () => app.runtime.get('whatsapp').mode })
  return app
}
