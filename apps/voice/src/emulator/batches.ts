import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { FINAL_CALL_STATUSES } from '@switchboard/schemas/voice'
import type { AgentState } from './agents.ts'
import type { CallEngine, Ending, Execution } from './calls.ts'
import { badRequest, detail, notFound, retryConfigProblems, unprocessable, type DetailItem } from './errors.ts'
import { magicFate } from './magic.ts'
import { readRetryPolicy, type RetryPolicy } from './auto-retry.ts'
import { parseCsv, parseMultipart, type FormPart } from './multipart.ts'
import { isoAt, systemClock, type ClockTimer, type TimerClock } from '@switchboard/service-kit/clock'

type BatchStatus = 'created' | 'scheduled' | 'queued' | 'executed' | 'stopped'

interface Batch {
  id: string
  agentId: string
  status: BatchStatus
  createdAt: string
  updatedAt: string
  scheduledAt: string | null
  fromNumbers: string[]
  fileName: string
  totalContacts: number
  contacts: Array<{ to: string, userData: Record<string, string> }>
  executionIds: string[]
  timer: ClockTimer | undefined
  /** Where its calls' recordings are served (kept so a batch scheduled before a restart starts after it). */
  recordingBaseUrl?: string
  /** Its retry_config's auto-retry, applied to each of its calls. */
  retry?: RetryPolicy
}

/** A batch as the database keeps it (no timer: rebuilt from scheduledAt at start). */
export type StoredBatch = Omit<Batch, 'timer'>

export interface BatchContext {
  /** The emulators' clock (the admin API's test clock): when a scheduled batch starts. */
  clock?: TimerClock
  engine: CallEngine
  agentOr404: (reply: FastifyReply, id: string) => AgentState | undefined
  agentById: (id: string) => AgentState | undefined
  /** Latency and forced failures for one request; false when it has been answered. */
  simulate: (request: FastifyRequest, reply: FastifyReply) => Promise<boolean>
  /** How a call to this number ends (magic numbers, else the success-rate draw). */
  endingFor: (to: string) => { ending: Ending, hold: boolean }
  recordingBaseUrl: (request: FastifyRequest) => string
  defaultFrom: string
  maxBatches?: number
  /** Where batches are kept beyond memory (the database), each change as it happens. */
  saved?: (batch: StoredBatch) => void
  removed?: (id: string) => void
}

const E164 = /^\+[1-9]\d{6,14}$/
const FINAL: ReadonlySet<string> = new Set(FINAL_CALL_STATUSES)
function humanized (iso: string, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000))
  if (s < 60) return s <= 1 ? 'just now' : `${s} seconds ago`
  const m = Math.round(s / 60)
  if (m < 60) return m === 1 ? '1 minute ago' : `${m} minutes ago`
  const h = Math.round(m / 60)
  return h === 1 ? '1 hour ago' : `${h} hours ago`
}

/**
 * Bolna's batch calls: a CSV of contacts (a contact_number column, the other columns become the
 * script's {variables}) uploaded for an agent, scheduled, then called. Time is compressed: the
 * real API wants the schedule at least two minutes ahead and rounds it up to the next ten-minute
 * mark; the emulator starts a batch at the time given, at once when it has passed.
 */
export function batchRoutes (api: FastifyInstance, ctx: BatchContext): { onExecutionChange: (e: Readonly<Execution>) => void, reset: () => void, restore: (stored: StoredBatch[]) => void } {
  const batches = new Map<string, Batch>()
  const clock = ctx.clock ?? systemClock
  // Stamped on the emulators' clock, as every record is (README: Test clock).
  const now = () => isoAt(clock.now())
  const save = (b: Batch) => {
    const { timer: _timer, ...stored } = b
    ctx.saved?.(stored)
  }
  const max = ctx.maxBatches ?? 1000

  api.addContentTypeParser('multipart/form-data', { parseAs: 'buffer', bodyLimit: 20 * 1024 * 1024 }, (_request, body, done) => done(null, body))
  api.addHook('onClose', async () => { for (const b of batches.values()) b.timer?.cancel() })

  const body = (b: Batch) => {
    const executionStatus: Record<string, number> = {}
    for (const id of b.executionIds) {
      const s = ctx.engine.statusOf(id)
      if (s) executionStatus[s] = (executionStatus[s] ?? 0) + 1
    }
    return {
      batch_id: b.id,
      humanized_created_at: humanized(b.createdAt, clock.now()),
      created_at: b.createdAt,
      updated_at: b.updatedAt,
      status: b.status,
      scheduled_at: b.scheduledAt,
      from_phone_numbers: b.fromNumbers,
      file_name: b.fileName,
      valid_contacts: b.contacts.length,
      total_contacts: b.totalContacts,
      execution_status: executionStatus
    }
  }
  const batchOr404 = (reply: FastifyReply, id: string) => {
    const b = batches.get(id.toLowerCase())
    if (!b) notFound(reply, 'Batch not found')
    return b
  }
  const form = (request: FastifyRequest): FormPart[] | undefined => {
    if (Buffer.isBuffer(request.body)) return parseMultipart(request.body, request.headers['content-type'])
    if (request.body && typeof request.body === 'object') {
      return Object.entries(request.body as Record<string, unknown>).flatMap(([name, v]) => (Array.isArray(v) ? v : [v]).map(x => ({ name, value: Buffer.from(String(x)) })))
    }
    return undefined
  }

  function start (b: Batch, recordingBaseUrl: string): void {
    b.timer = undefined
    if (b.status !== 'scheduled') return
    b.status = 'queued'
    b.updatedAt = now()
    const agent = ctx.agentById(b.agentId)
    if (agent) {
      b.contacts.forEach((c, i) => {
        const { ending, hold } = ctx.endingFor(c.to)
        const executionId = ctx.engine.create({ agent, to: c.to, from: b.fromNumbers[i % b.fromNumbers.length] ?? ctx.defaultFrom, userData: c.userData, ending, hold, batchId: b.id, recordingBaseUrl, ...(b.retry ? { retry: b.retry } : {}) })
        b.executionIds.push(executionId)
      })
      if (!b.contacts.length) b.status = 'executed'
    }
    save(b)
  }

  api.post('/batches', { schema: {} }, async (request, reply) => {
    const parts = form(request)
    if (!parts) return unprocessable(reply, [detail('missing', ['body'], 'Field required', null)])
    const field = (name: string) => parts.find(p => p.name === name)
    const problems: DetailItem[] = []
    if (!field('agent_id')) problems.push(detail('missing', ['body', 'agent_id'], 'Field required', null))
    if (!field('file')) problems.push(detail('missing', ['body', 'file'], 'Field required', null))
    if (problems.length) return unprocessable(reply, problems)
    const agent = ctx.agentOr404(reply, field('agent_id')!.value.toString('utf8').trim())
    if (!agent) return reply
    const fromNumbers = parts.filter(p => p.name === 'from_phone_numbers').map(p => p.value.toString('utf8').trim()).filter(Boolean)
    const badFrom = fromNumbers.find(n => !E164.test(n))
    if (badFrom) return badRequest(reply, `Invalid from_phone_numbers "${badFrom}": use E.164 with the country code, e.g. +919876543210`)
    const retryConfig = field('retry_config')?.value.toString('utf8')
    let parsedRetry: unknown
    if (retryConfig) { try { parsedRetry = JSON.parse(retryConfig) } catch { return badRequest(reply, 'retry_config must be a JSON string') } }
    // The same rules as POST /call's retry_config, once parsed (the form carries it as JSON text).
    const retryProblems = parsedRetry === undefined || parsedRetry === null ? [] : retryConfigProblems(parsedRetry)
    if (retryProblems.length) return unprocessable(reply, retryProblems)
    const retry = readRetryPolicy(parsedRetry)
    // Messages below are ours (unverified); the rule (a contact_number column in E.164) is Bolna's.
    const rows = parseCsv(field('file')!.value.toString('utf8'))
    const header = (rows.shift() ?? []).map(h => h.trim())
    const numberAt = header.indexOf('contact_number')
    if (numberAt < 0) return badRequest(reply, 'The CSV file must have a contact_number column with E.164 numbers, e.g. +919876543210')
    const contacts: Batch['contacts'] = []
    for (const row of rows) {
      const to = (row[numberAt] ?? '').trim()
      if (!E164.test(to) || magicFate(to) === 'reject') continue
      const userData: Record<string, string> = {}
      header.forEach((h, i) => { if (i !== numberAt && h) userData[h] = row[i] ?? '' })
      contacts.push({ to, userData })
    }
    if (await ctx.simulate(request, reply) === false) return reply
    if (batches.size >= max) {
      const oldest = [...batches.values()].find(b => b.status === 'executed' || b.status === 'stopped') ?? batches.values().next().value
      if (oldest) { oldest.timer?.cancel(); batches.delete(oldest.id); ctx.removed?.(oldest.id) }
    }
    const id = randomBytes(16).toString('hex')
    const created = now()
    batches.set(id, { id, agentId: agent.id, status: 'created', createdAt: created, updatedAt: created, scheduledAt: null, fromNumbers, fileName: field('file')!.filename ?? 'contacts.csv', totalContacts: rows.length, contacts, executionIds: [], timer: undefined, ...(retry ? { retry } : {}) })
    save(batches.get(id)!)
    // 201 per Bolna's docs (AGENTS.md); the OpenAPI file says 200 (unverified which is live).
    return reply.code(201).send({ batch_id: id, state: 'created' })
  })

  api.post('/batches/:batch_id/schedule', { schema: {} }, async (request, reply) => {
    const b = batchOr404(reply, (request.params as { batch_id: string }).batch_id)
    if (!b) return reply
    const raw = form(request)?.find(p => p.name === 'scheduled_at')?.value.toString('utf8').trim()
    if (!raw) return unprocessable(reply, [detail('missing', ['body', 'scheduled_at'], 'Field required', null)])
    const at = /(?:[+-]\d{2}:?\d{2}|Z)$/i.test(raw) ? Date.parse(raw) : Number.NaN
    if (Number.isNaN(at)) return badRequest(reply, `Invalid scheduled_at "${raw}": use ISO-8601 with a time zone, e.g. 2026-05-19T18:30:00+05:30`)
    if (b.status !== 'created' && b.status !== 'scheduled') return badRequest(reply, `Batch is ${b.status} and cannot be scheduled`)
    if (await ctx.simulate(request, reply) === false) return reply
    b.timer?.cancel()
    b.status = 'scheduled'
    b.scheduledAt = new Date(at).toISOString()
    b.updatedAt = now()
    const recordingBaseUrl = ctx.recordingBaseUrl(request)
    b.recordingBaseUrl = recordingBaseUrl
    b.timer = clock.at(at, () => start(b, recordingBaseUrl))
    save(b)
    return { message: 'success', state: 'scheduled' }
  })

  api.get('/batches/:batch_id', { schema: {} }, async (request, reply) => {
    const b = batchOr404(reply, (request.params as { batch_id: string }).batch_id)
    if (!b) return reply
    if (await ctx.simulate(request, reply) === false) return reply
    return body(b)
  })

  api.get('/batches/:agent_id/all', { schema: {} }, async (request, reply) => {
    const agent = ctx.agentOr404(reply, (request.params as { agent_id: string }).agent_id)
    if (!agent) return reply
    if (await ctx.simulate(request, reply) === false) return reply
    return [...batches.values()].filter(b => b.agentId === agent.id).map(body)
  })

  api.get('/batches/:batch_id/executions', { schema: {} }, async (request, reply) => {
    const b = batchOr404(reply, (request.params as { batch_id: string }).batch_id)
    if (!b) return reply
    if (await ctx.simulate(request, reply) === false) return reply
    return b.executionIds.map(id => ctx.engine.get(id)).filter(e => e !== undefined)
  })

  const stop = (b: Batch) => {
    b.timer?.cancel()
    b.timer = undefined
    for (const id of b.executionIds) ctx.engine.stop(id) // only queued ones stop; started calls go on
    b.status = 'stopped'
    b.updatedAt = now()
    save(b)
  }

  api.post('/batches/:batch_id/stop', { schema: {} }, async (request, reply) => {
    const b = batches.get((request.params as { batch_id: string }).batch_id.toLowerCase())
    // Bolna's documented answer for a batch that is not running.
    if (!b || (b.status !== 'scheduled' && b.status !== 'queued')) return reply.code(404).send({ message: 'Batch is not queued or running' })
    if (await ctx.simulate(request, reply) === false) return reply
    stop(b)
    return { message: 'success', state: 'stopped' }
  })

  api.delete('/batches/:batch_id', { schema: {} }, async (request, reply) => {
    const b = batchOr404(reply, (request.params as { batch_id: string }).batch_id)
    if (!b) return reply
    if (await ctx.simulate(request, reply) === false) return reply
    if (b.status === 'scheduled' || b.status === 'queued') stop(b)
    batches.delete(b.id)
    ctx.removed?.(b.id)
    return { message: 'success', state: 'deleted' }
  })

  return {
    onExecutionChange (e: Readonly<Execution>) {
      if (!e.batch_id || !FINAL.has(e.status)) return
      const b = batches.get(e.batch_id)
      if (!b || b.status !== 'queued') return
      // Looked at once the engine is done with this change: an ended attempt that auto-retry
      // schedules again (in the same turn) is not the call's end.
      queueMicrotask(() => {
        if (b.status !== 'queued' || !b.executionIds.every(id => FINAL.has(ctx.engine.statusOf(id) ?? 'completed'))) return
        b.status = 'executed'
        b.updatedAt = now()
        save(b)
      })
    },
    /** Takes the stored batches (at start, or another instance's): a scheduled one starts at its time. */
    restore (stored: StoredBatch[]) {
      for (const sb of stored) {
        const held = batches.get(sb.id)
        if (held) held.timer?.cancel()
        const b: Batch = { ...sb, timer: undefined }
        batches.set(b.id, b)
        if (b.status === 'scheduled' && b.scheduledAt && b.recordingBaseUrl) {
          const base = b.recordingBaseUrl
          b.timer = clock.at(Date.parse(b.scheduledAt), () => start(b, base))
        }
      }
    },
    reset () {
      for (const b of batches.values()) b.timer?.cancel()
      batches.clear()
    }
  }
}
