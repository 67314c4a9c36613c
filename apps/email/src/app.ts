import { requireAll } from '@switchboard/service-kit/credentials'
import { modeClients } from '@switchboard/service-kit/provider-clients'
import { createServiceApp, type App, type AppOptions } from '@switchboard/service-kit/service-app'
import { SERVICES } from '@switchboard/service-kit/services'
import { Simulator } from '@switchboard/service-kit/simulation'
import { WebhookSender } from '@switchboard/service-kit/webhook-sender'
import { parseHostList } from '@switchboard/service-kit/webhook-targets'
import { createSendGridClient } from './client/sendgrid-client.ts'
import { emailSimulationOverrides, type EmailEnv } from './config.ts'
import { sendgridEmulator } from './emulator/index.ts'
import { SENDGRID_RETENTION, SendGridPersistence } from './emulator/persist.ts'
import { describeSendGrid } from './emulator/inspect.ts'
import { emailRoutes } from './routes/emails.ts'
import { sendgridWebhookRoutes } from './routes/sendgrid-webhook.ts'
import { createEmailService } from './service/email-service.ts'

export const EMULATOR_PREFIX = SERVICES.email.emulatorPrefix

/** The email service: its API, the SendGrid emulator under /sendgrid, and the event receiver. */
export async function buildApp (opts: AppOptions<EmailEnv>): Promise<App> {
  const { env } = opts
  const credentials = () => requireAll({ SENDGRID_API_KEY: env.SENDGRID_API_KEY })
  const app: App = await createServiceApp({
    ...opts,
    service: 'email',
    simulation: emailSimulationOverrides(env),
    credentials
  })

  app.describeExchanges(describeSendGrid)
  const webhookSender = new WebhookSender({ store: app.activityLog, source: 'email', clock: app.clock, logger: app.log, allowedHosts: parseHostList(env.WEBHOOK_ALLOWED_HOSTS) })
  app.addHook('onClose', async () => { await webhookSender.close() })
  const simulator = new Simulator(() => app.runtime.get('email').simulation, 'email', app.runtime.scenarios)
  const ownReceiver = () => { try { return `${app.selfBaseUrl()}/webhooks/sendgrid` } catch { return undefined } }
  // SendGrid's keys: SG., a 22-character id and a 43-character secret.
  const account = app.emulatorAccount({ apiKey: bytes => `SG.${bytes.subarray(0, 16).toString('base64url')}.${bytes.subarray(16, 48).toString('base64url')}` })
  await app.register(sendgridEmulator, {
    account,
    prefix: EMULATOR_PREFIX,
    clock: app.clock,
    simulator,
    webhookSender,
    dataDir: env.SWITCHBOARD_DATA_DIR,
    derivedFrom: env.INTERNAL_TOKEN,
    // Stats, batches, scheduled sends and webhook settings live in the database (oldest first past the bounds).
    persistence: new SendGridPersistence(app.activityLog.emulatorState({ table: 'sendgrid_emulator_state', retention: SENDGRID_RETENTION, logger: app.log })),
    defaultEventWebhookUrl: () => env.SENDGRID_EVENT_WEBHOOK_URL ?? ownReceiver()
  })

  const clientFor = modeClients({
    provider: 'SendGrid',
    credentials,
    mock: () => createSendGridClient({ baseUrl: `${app.selfBaseUrl()}${EMULATOR_PREFIX}`, apiKey: account.credentials.apiKey, timeoutMs: env.PROVIDER_TIMEOUT_MS }),
    live: () => createSendGridClient({ baseUrl: env.SENDGRID_BASE_URL, apiKey: env.SENDGRID_API_KEY!, timeoutMs: env.PROVIDER_TIMEOUT_MS })
  })

  const service = createEmailService({
    activityLog: app.activityLog,
    runtime: app.runtime,
    clientFor,
    from: { email: env.EMAIL_FROM, name: env.EMAIL_FROM_NAME },
    bulkConcurrency: env.EMAIL_BULK_CONCURRENCY,
    bulkSubstitutions: env.EMAIL_BULK_SUBSTITUTIONS,
    leaseMs: env.JOB_LEASE_MS,
    bulkWaitMs: env.BULK_WAIT_MS,
    logger: app.log
  })
  // Bulk sends are jobs: taken up once the server listens (mock sends go to its own emulator),
  // stopped while it still answers; what is left pending resumes at the next start.
  app.addHook('onListen', async () => { service.startJobs() })
  app.addHook('preClose', async () => { await service.stopJobs() })

  let emulatorKey: string | undefined
  await app.register(sendgridWebhookRoutes, {
    service,
    maxAgeSeconds: env.SENDGRID_WEBHOOK_MAX_AGE_S,
    publicKeys: async () => {
      // Our emulator's key is always trusted (events from mock sends may still arrive after a
      // switch); the live key when configured.
      emulatorKey ??= await clientFor('mock').getEventWebhookPublicKey()
      return env.SENDGRID_WEBHOOK_PUBLIC_KEY ? [env.SENDGRID_WEBHOOK_PUBLIC_KEY, emulatorKey] : [emulatorKey]
    }
  })
  await app.register(emailRoutes, { service })
  return app
}
