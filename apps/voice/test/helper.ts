import type { Test } from 'tap'
import { request } from 'undici'
import { requestJson, startServiceApp, type JsonReply, type ServiceTestApp, type ServiceTestAppOptions } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { loadVoiceEnv, type VoiceEnv } from '../src/config.ts'

/** A reply, with `raw` for the recordings (WAV bytes). */
export type HttpResult = JsonReply

export type VoiceTestApp = ServiceTestApp

/** One JSON request to any URL (the emulator's recordings, agents): the shared requestJson. */
export const http = requestJson

/**
 * The voice service listening on a free port, on a test database, instant and always successful
 * by default, with calls stepping through their statuses every 5–15 ms.
 */
export const startVoiceApp = (t: Test, opts: Pick<ServiceTestAppOptions<VoiceEnv>, 'env' | 'simulation' | 'mockMode'> = {}): Promise<VoiceTestApp> =>
  startServiceApp(t, { service: 'voice', buildApp, loadEnv: loadVoiceEnv, ...opts, env: { VOICE_CALL_STEP_MS: '5-15', ...opts.env } })

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

/**
 * POST /bolna/batches with a CSV of contacts, as multipart/form-data the way curl -F or python
 * requests send it; `fields` are the form's other parts (agent_id, from_phone_numbers, retry_config).
 */
export async function uploadBatch (url: string, csv: string, fields: Record<string, string> = { agent_id: AGENTS.reminder, from_phone_numbers: '+19876543007' }) {
  const boundary = '------------------------switchboard7d3f'
  const part = (name: string, value: string, file?: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file ? `; filename="${file}"\r\nContent-Type: text/csv` : ''}\r\n\r\n${value}\r\n`
  const body = Object.entries(fields).map(([k, v]) => part(k, v)).join('') + part('file', csv, 'contacts.csv') + `--${boundary}--\r\n`
  const res = await request(`${url}/bolna/batches`, { method: 'POST', headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` }, body })
  return { status: res.statusCode, body: await res.body.json() as any }
}
