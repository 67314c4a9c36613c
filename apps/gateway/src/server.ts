import { assertModeAllowed } from '@switchboard/service-kit/env'
import { loadDotEnv, runServers } from '@switchboard/service-kit/lifecycle'
import { buildApp } from './app.ts'
import { loadGatewayEnv } from './config.ts'
import { resolveTokens } from './tokens.ts'

// Runs the gateway alone, in front of services started elsewhere (*_SERVICE_URL).
loadDotEnv()
await runServers(async () => {
  const env = loadGatewayEnv()
  assertModeAllowed(env)
  return [{ app: await buildApp({ env, tokens: resolveTokens(env) }), port: env.GATEWAY_PORT, host: env.HOST }]
})
