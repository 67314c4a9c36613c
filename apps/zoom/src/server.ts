import { assertModeAllowed } from '@switchboard/service-kit/env'
import { loadDotEnv, runServers } from '@switchboard/service-kit/lifecycle'
import { buildApp } from './app.ts'
import { loadZoomEnv } from './config.ts'

// Runs the Zoom service alone (it needs DATABASE_URL or its own data folder for the settings).
loadDotEnv()
await runServers(async () => {
  const env = loadZoomEnv()
  assertModeAllowed(env)
  return [{ app: await buildApp({ env }), port: env.ZOOM_PORT, host: env.HOST }]
})
