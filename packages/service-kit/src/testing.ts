import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { createTestActivityLog } from '@switchboard/activity-log/testing'
import { RuntimeSettings } from './runtime-settings.ts'
import type { SharedInfrastructure } from './service-app.ts'
import type { ServiceName } from './services.ts'
import type { SimulationSettings } from './simulation.ts'

/** The bit of tap's Test these helpers use (kept structural so packages need no tap types here). */
export interface TestLike {
  teardown (fn: () => unknown): void
}

export interface TestInfrastructure extends SharedInfrastructure {
  dataDir: string
  /** Registers an app to close before the database does. */
  closeWithInfrastructure (app: FastifyInstance): void
}

/**
 * The activity log (PostgreSQL when TEST_DATABASE_URL is set, else in-memory PGlite), runtime
 * settings with fast polling and instant, always-successful simulation unless told otherwise,
 * and a temporary data folder. Everything is torn down after the test, apps first.
 */
export async function createTestInfrastructure (t: TestLike, opts: { mockMode?: boolean, simulation?: Partial<Record<ServiceName, Partial<SimulationSettings>>> } = {}): Promise<TestInfrastructure> {
  const apps: FastifyInstance[] = []
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-test-'))
  const activityLog = await createTestActivityLog(t)
  const instant = { latencyMs: { min: 0, max: 0 }, successRate: 1 }
  const simulation = Object.fromEntries((['email', 'whatsapp', 'payments', 'voice', 'zoom'] as ServiceName[]).map(s => [s, { ...instant, ...opts.simulation?.[s] }]))
  const runtime = new RuntimeSettings({ activityLog, seed: { mockMode: opts.mockMode ?? true, useMockZoom: opts.mockMode ?? true, simulation }, pollMs: 100 })
  await runtime.start()
  // Registered before the activity log's own teardown would run, so apps close and flush first.
  t.teardown(async () => {
    for (const app of apps.reverse()) await app.close()
    runtime.stop()
    await activityLog.flush().catch(() => {})
    rmSync(dataDir, { recursive: true, force: true })
  })
  return { activityLog, runtime, dataDir, closeWithInfrastructure: (app) => { apps.push(app) } }
}
