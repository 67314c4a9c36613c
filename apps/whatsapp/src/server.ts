import { assertModeAllowed } from '@switchboard/service-kit/env'
import { loadDotEnv, runServers } from '@switchboard/service-kit/lifecycle'
import { buildApp } from './app.ts'
import { loadWhatsAppEnv } from './config.ts'

// Runs the WhatsApp service alone (it needs DATABASE_URL or its own data folder).
loadDotEnv()
await runServers(async () => {
  const env = loadWhatsAppEnv()
  assertModeAllowed(env)
  return [{ app: await buildApp({ env }), port: env.WHATSAPP_PORT, host: env.HOST }]
})
