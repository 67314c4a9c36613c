import { assertModeAllowed } from '@switchboard/service-kit/env'
import { loadDotEnv, runServers } from '@switchboard/service-kit/lifecycle'
import { buildApp } from './app.ts'
import { loadVoiceEnv } from './config.ts'

// Runs the voice service alone (it needs DATABASE_URL or its own data folder).
loadDotEnv()
await runServers(async () => {
  const env = loadVoiceEnv()
  assertModeAllowed(env)
  return [{ app: await buildApp({ env }), port: env.VOICE_PORT, host: env.HOST }]
})
