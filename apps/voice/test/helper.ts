import type { Test } from 'tap'
import type { App } from '@switchboard/service-kit/service-app'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import type { SimulationSettings } from '@switchboard/service-kit/simulation'
import { createTestInfrastructure, internalHeaders, jsonCaller, requestJson, type JsonCall, type JsonReply, type TestInfrastructure } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { loadVoiceEnv } from '../src/config.ts'

/** A reply, with `raw` for the recordings (WAV bytes). */
export type HttpResult = JsonReply

export interface VoiceTestApp extends TestInfrastructure {
  app: App
  url: string
  /** JSON request against the running app. */
  call: JsonCall
}

/** One JSON request to any URL (the emulator's recordings, agents): the shared requestJson. */
export const http = requestJson

/**
 * The voice service listening on a free port, on a test database, instant and always successful
 * by default, with calls stepping through their statuses every 5–15 ms.
 */
export async function startVoiceApp (t: Test, opts: { env?: Record<string, string>, simulation?: Partial<SimulationSettings>, mockMode?: boolean } = {}): Promise<VoiceTestApp> {
  const infra = await createTestInfrastructure(t, { mockMode: opts.mockMode, simulation: { voice: { ...opts.simulation } } })
  const env = loadVoiceEnv({ VOICE_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent', VOICE_CALL_STEP_MS: '5-15', ...opts.env })
  const app = await buildApp({ env, shared: infra, logger: false })
  infra.closeWithInfrastructure(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = selfBaseUrl(app)
  return { ...infra, app, url, call: jsonCaller(url, internalHeaders()) }
}

export const MOCK_KEY = 'bn-test-key-0123456789'
export const auth = { authorization: `Bearer ${MOCK_KEY}` }

/** The seeded agents' ids. */
export const AGENTS = {
  reminder: '3f9a6c1e-7b2d-4e8a-9c41-5d2b8e6f0a11',
  payment: '8c2e4b7a-1d3f-4a6b-8e2c-9f0a1b2c3d44',
  lead: 'b51d0f3a-6e2c-4d8b-a7f9-2c4e6a8b0d55',
  survey: 'e7a3c9d1-2b4f-4c6e-9a8d-0f1e2d3c4b66'
}

/** Magic numbers (see src/emulator/magic.ts). */
export const NUMBERS = {
  completed: '+919855550100',
  busy: '+919855550101',
  noAnswer: '+919855550102',
  failed: '+919855550103',
  voicemail: '+919855550104',
  hold: '+919855550105',
  reject: '+919855550106',
  error: '+919855550107'
}

/** Polls until check() passes or the time runs out (for webhook-driven state): the shared one, 8 s unless told. */
export { eventually } from '@switchboard/service-kit/testing'

/** Parses a WAV header: enough to prove a file is a valid PCM WAV of some length. */
export function parseWav (buf: Buffer) {
  return {
    riff: buf.toString('ascii', 0, 4),
    riffSize: buf.readUInt32LE(4),
    wave: buf.toString('ascii', 8, 12),
    fmt: buf.toString('ascii', 12, 16),
    format: buf.readUInt16LE(20),
    channels: buf.readUInt16LE(22),
    sampleRate: buf.readUInt32LE(24),
    byteRate: buf.readUInt32LE(28),
    bitsPerSample: buf.readUInt16LE(34),
    data: buf.toString('ascii', 36, 40),
    dataSize: buf.readUInt32LE(40)
  }
}
