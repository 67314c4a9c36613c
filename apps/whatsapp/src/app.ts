import type { Mode } from '@switchboard/schemas/common'
import { requireAll } from '@switchboard/service-kit/credentials'
import { parseRange } from '@switchboard/service-kit/env'
import { providerNotConfigured } from '@switchboard/service-kit/errors'
import { loadOrCreateSecret } from '@switchboard/service-kit/hmac'
import { createServiceApp, type App, type AppOptions } from '@switchboard/service-kit/service-app'
import { SERVICES } from '@switchboard/service-kit/services'
import { Simulator } from '@switchboard/service-kit/simulation'
import { WebhookSender } from '@switchboard/service-kit/webhook-sender'
import { parseHostList } from '@switchboard/service-kit/webhook-targets'
import { loadCatalogue } from './catalogue.ts'
import { createAiSensyClient, type AiSensyClient } from './client/aisensy-client.ts'
import { whatsappSimulationOverrides, type WhatsAppEnv } from './config.ts'
import { aisensyEmulator } from './emulator/index.ts'
import { SECRET_FILE } from './emulator/status-webhook.ts'
import { aisensyWebhookRoutes } from './routes/aisensy-webhook.ts'
import { whatsappRoutes } from './routes/whatsapp.ts'
import { createWhatsAppService } from './service/whatsapp-service.ts'

// AiSensy keys are JWTs; the emulator accepts any well-formed one. This one says what it is:
// header {"alg":"HS256","typ":"JWT"}, payload {"id":"switchboard-mock","name":"Switchboard mock","appName":"AiSensy"}.
const MOCK_API_KEY = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.' +
  Buffer.from(JSON.stringify({ id: 'switchboard-mock', name: 'Switchboard mock', appName: 'AiSensy' })).toString('base64url') +
  '.not-a-real-key-the-emulator-accepts-any-well-formed-jwt'
export const EMULATOR_PREFIX = SERVICES.whatsapp.emulatorPrefix

/** The WhatsApp service: its API, the AiSensy emulator under /aisensy, and the status receiver. */
export async function buildApp (opts: AppOptions<WhatsAppEnv>): Promise<App> {
  const { env } = opts
  const templates = loadCatalogue(env.WHATSAPP_TEMPLATES_FILE)
  const app: App = await createServiceApp({
    ...opts,
    service: 'whatsapp',
    simulation: whatsappSimulationOverrides(env),
    credentials: () => requireAll({ AISENSY_API_KEY: env.AISENSY_API_KEY })
  })

  // One secret signs (emulator) and verifies (receiver) status posts; stable across restarts.
  const webhookSecret = env.AISENSY_WEBHOOK_SECRET ?? loadOrCreateSecret(env.SWITCHBOARD_DATA_DIR, SECRET_FILE)
  const webhookSender = new WebhookSender({ logger: app.log, allowedHosts: parseHostList(env.WEBHOOK_ALLOWED_HOSTS) })
  app.addHook('onClose', async () => { await webhookSender.close() })
  const simulator = new Simulator(() => app.runtime.get('whatsapp').simulation)
  const ownReceiver = () => { try { return `${app.selfBaseUrl()}/webhooks/aisensy` } catch { return undefined } }
  await app.register(aisensyEmulator, {
    prefix: EMULATOR_PREFIX,
    simulator,
    webhookSender,
    webhookSecret,
    statusGapMs: parseRange(env.AISENSY_STATUS_GAP_MS, 'AISENSY_STATUS_GAP_MS'),
    // "off": a project with no webhook set in AiSensy's dashboard, which gets no status posts.
    webhookUrl: env.AISENSY_WEBHOOK_URL === 'off' ? () => undefined : () => env.AISENSY_WEBHOOK_URL ?? ownReceiver()
  })

  let mockClient: AiSensyClient | undefined
  let liveClient: AiSensyClient | undefined
  const clientFor = (mode: Mode): AiSensyClient => {
    if (mode === 'mock') {
      mockClient ??= createAiSensyClient({ baseUrl: `${app.selfBaseUrl()}${EMULATOR_PREFIX}`, apiKey: MOCK_API_KEY, version: env.AISENSY_API_VERSION, timeoutMs: env.PROVIDER_TIMEOUT_MS })
      return mockClient
    }
    if (!env.AISENSY_API_KEY) throw providerNotConfigured('AiSensy', ['AISENSY_API_KEY'])
    liveClient ??= createAiSensyClient({ baseUrl: env.AISENSY_BASE_URL, apiKey: env.AISENSY_API_KEY, version: env.AISENSY_API_VERSION, timeoutMs: env.PROVIDER_TIMEOUT_MS })
    return liveClient
  }

  const service = createWhatsAppService({
    activityLog: app.activityLog,
    runtime: app.runtime,
    clientFor,
    templates,
    source: env.AISENSY_SOURCE,
    bulkConcurrency: env.WHATSAPP_BULK_CONCURRENCY,
    campaignConcurrency: env.WHATSAPP_CAMPAIGN_CONCURRENCY,
    logger: app.log
  })
  // Running campaigns stop between sends while the server still answers (their sends in flight
  // may be talking to this server's own emulator); buffered rows are flushed on close.
  app.addHook('preClose', async () => { await service.stopCampaigns() })
  app.addHook('onClose', async () => { service.close() })

  await app.register(aisensyWebhookRoutes, { service, secrets: [webhookSecret], maxAgeSeconds: env.AISENSY_WEBHOOK_MAX_AGE_S })
  await app.register(whatsappRoutes, { service })
  return app
}
