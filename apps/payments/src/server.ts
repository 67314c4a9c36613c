import { assertModeAllowed } from '@switchboard/service-kit/env'
import { loadDotEnv, runServers } from '@switchboard/service-kit/lifecycle'
import { buildApp } from './app.ts'
import { loadPaymentsEnv } from './config.ts'

// Runs the payments service alone (it needs DATABASE_URL or its own data folder).
loadDotEnv()
await runServers(async () => {
  const env = loadPaymentsEnv()
  assertModeAllowed(env)
  return [{ app: await buildApp({ env }), port: env.PAYMENTS_PORT, host: env.HOST }]
})
