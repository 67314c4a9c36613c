import { assertModeAllowed } from '@switchboard/service-kit/env'
import { loadDotEnv, runServers } from '@switchboard/service-kit/lifecycle'
import { buildApp } from './app.ts'
import { loadEmailEnv } from './config.ts'

// Runs the email service alone (it needs DATABASE_URL or its own data folder).
loadDotEnv()
await runServers(async () => {
  const env = loadEmailEnv()
  assertModeAllowed(env)
  return [{ app: await buildApp({ env }), port: env.EMAIL_PORT, host: env.HOST }]
})
