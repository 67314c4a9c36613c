import type { ActivityLog } from '@switchboard/activity-log'
import { EVENT_TYPES } from '@switchboard/schemas/events'
import type { ClockMode, TimerClock } from '@switchboard/service-kit/clock'
import { ConfigError } from '@switchboard/service-kit/env'
import { EventsSender, isEventSecret } from '@switchboard/service-kit/events'
import { registerSecrets } from '@switchboard/service-kit/redact'
import type { App } from '@switchboard/service-kit/service-app'
import { parseHostList, webhookTargetRefusal } from '@switchboard/service-kit/webhook-targets'
import type { GatewayEnv } from './config.ts'

/** How often the gateway looks for event deliveries due (new ones, retries, left by a restart). */
const EVENTS_POLL_MS = 500

/**
 * The gateway delivers the events: it keeps the SWITCHBOARD_EVENTS_URL endpoint in step with its
 * environment and runs the one sender that signs and posts the outbox's event rows (any number of
 * gateways on one database share the work: rows are claimed under row locks).
 */
export async function startEvents (app: App, env: GatewayEnv, activityLog: ActivityLog, clock?: TimerClock & { readonly mode?: ClockMode }): Promise<{ sender: EventsSender, allowedHosts: string[] }> {
  const allowedHosts = parseHostList(env.WEBHOOK_ALLOWED_HOSTS)
  const url = env.SWITCHBOARD_EVENTS_URL || undefined
  const secret = env.SWITCHBOARD_EVENTS_SECRET || undefined
  registerSecrets([secret])
  const types = (env.SWITCHBOARD_EVENTS_TYPES ?? '').split(',').map(t => t.trim()).filter(Boolean)
  if (url !== undefined) {
    const refusal = webhookTargetRefusal(url, allowedHosts)
    if (refusal !== undefined) throw new ConfigError(`SWITCHBOARD_EVENTS_URL: ${refusal}.`)
    if (secret === undefined || !isEventSecret(secret)) {
      throw new ConfigError('SWITCHBOARD_EVENTS_SECRET: set it with SWITCHBOARD_EVENTS_URL, to a whsec_ secret ("whsec_" and a base64 key of at least 16 bytes, e.g. `echo whsec_$(openssl rand -base64 24)`).')
    }
    const unknown = types.filter(t => !(EVENT_TYPES as readonly string[]).includes(t))
    if (unknown.length > 0) throw new ConfigError(`SWITCHBOARD_EVENTS_TYPES: unknown event type ${unknown.join(', ')}; the types are ${EVENT_TYPES.join(', ')}.`)
  }
  await activityLog.rpc('put_env_event_endpoint', { p_url: url ?? null, p_secret: secret ?? null, p_types: types }, { flush: false })

  // Retries fall due on the emulators' test clock, as the emulators' own webhooks' do.
  const sender = new EventsSender({ store: activityLog, logger: app.log, allowedHosts, pollMs: EVENTS_POLL_MS, clock })
  // Before the database closes (onClose): a delivery waiting for its retry is let go for the next start.
  app.addHook('preClose', async () => { await sender.close() })
  return { sender, allowedHosts }
}
