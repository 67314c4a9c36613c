import { systemClock, type TimerClock } from '@switchboard/service-kit/clock'
import { safeEqual } from '@switchboard/service-kit/hmac'
import type { EmulatorAccount } from '@switchboard/service-kit/emulator-account'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { EmulatorState } from '@switchboard/activity-log'
import { clientGone, readSimulationHeaders, type Decision, type Draws, type Outcome, type Simulator } from '@switchboard/service-kit/simulation'
import type { WebhookSender } from '@switchboard/service-kit/webhook-sender'
import { createHmac, randomUUID } from 'node:crypto'
import { agentBody, createdAgent, seedAgents, type AgentState } from './agents.ts'
import { batchRoutes } from './batches.ts'
import { CallEngine, unluckyEnding, type Ending, type Execution } from './calls.ts'
import { readRetryPolicy } from './auto-retry.ts'
import { badRequest, detail, notFound, retryConfigProblems, unprocessable, UUID, type DetailItem } from './errors.ts'
import { executionLog } from './execution-log.ts'
import { magicFate, type CallFate } from './magic.ts'
import { BolnaPersistence } from './persist.ts'
import { generateWav } from './wav.ts'
import { executionPostHeaders } from '../bolna-webhooks.ts'
import { CALL_STATUSES } from '@switchboard/schemas/voice'

export interface BolnaEmulatorOptions {
  simulator: Simulator
  webhookSender: WebhookSender
  /** Where the seeded agents post unless a webhook_url was set through PATCH /v2/agent/{id}. */
  defaultWebhookUrl: () => string | undefined
  /** Signs the emulator's webhook posts (see bolna-webhooks.ts). */
  signingSecret: string
  /** Time between a call's status changes. */
  stepMs: () => { min: number, max: number }
  maxCalls?: number
  /** Where agents and calls are kept beyond memory (the database). */
  state?: EmulatorState
  /** The emulators' clock (the admin API's test clock): scheduled calls and batches, call steps. */
  clock?: TimerClock
  /** Whose API keys are taken (EMULATOR_AUTH); without it, any bn-… key is. */
  account?: EmulatorAccount<'apiKey'>
}

const E164 = /^\+[1-9]\d{6,14}$/
const DEFAULT_FROM = '+918035735900' // the account's default caller id (a Bolna-hosted number shape)
const MAX_AGENTS = 1000
const isUrl = (url: unknown) => typeof url === 'string' && /^https?:\/\/\S+$/.test(url)
const ACCOUNT = { id: 'b0a1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d', name: 'Switchboard Emulator', email: 'emulator@switchboard.local', wallet: 5000 }

/**
 * Bolna's API as the emulator serves it, mounted under /bolna: calls, executions, agents and the
 * recordings their URLs point at. Calls live on timers and every status change is posted to the
 * agent's webhook URL with the execution object, as Bolna does.
 */
export async function bolnaEmulator (app: FastifyInstance, opts: BolnaEmulatorOptions): Promise<void> {
  const { simulator, webhookSender } = opts
  // Each attempt is signed at its own time: a retry, or a post replayed after a restart, would
  // otherwise carry a timestamp the receiver refuses as stale (BOLNA_WEBHOOK_MAX_AGE_S).
  webhookSender.signAttempts(d => executionPostHeaders(opts.signingSecret, d.body))
  const agents = seedAgents()
  const SEEDED = new Set(agents.keys())
  let closing = false

  let onBatchExecution: (e: Readonly<Execution>) => void = () => {}
  const persistence = opts.state ? new BolnaPersistence(opts.state, opts.clock) : undefined
  // Records are stamped on the emulators' clock (README: Test clock), as Zoom's are.
  const clock = opts.clock ?? systemClock
  // Bolna's recordings are S3 links presigned for the account. With EMULATOR_AUTH=issued they carry
  // a signature made with the account's key, and a link without it (an execution id guessed, or
  // learnt from a log) is refused as S3 refuses a bad signature; with `any`, the id is enough.
  const issued = opts.account?.auth === 'issued' ? opts.account : undefined
  const recordingSignature = issued ? (id: string) => createHmac('sha256', issued.credentials.apiKey).update(`recording:${id}`).digest('hex') : undefined
  const engine = new CallEngine({
    random: () => simulator.random(),
    stepMs: opts.stepMs,
    maxCalls: opts.maxCalls,
    clock: opts.clock,
    persistence,
    onChange: (execution, agent) => { onBatchExecution(execution); postWebhook(execution, agent) },
    retryEnding: (to, attempt) => drawnEnding(to, 'retry', String(attempt)).ending,
    ...(recordingSignature ? { recordingQuery: (id: string) => `?X-Amz-Signature=${recordingSignature(id)}` } : {})
  })
  const reseed = () => {
    agents.clear()
    for (const [id, agent] of seedAgents()) agents.set(id, agent)
  }
  if (persistence) {
    await persistence.restore(engine, agents, reseed)
    // Calls left mid-way by a stopped instance are taken over once this one can post their statuses.
    app.addHook('onListen', async () => { persistence.startTimers() })
  }

  /**
   * The outcome a fate asks of POST /call: `error` fails it as an outage would; every other fate
   * lets it through (`reject` is refused after it, with its 400).
   */
  const fateOutcome = (fate: CallFate | undefined): 'success' | 'failure' | undefined =>
    fate === undefined ? undefined : fate === 'error' ? 'failure' : 'success'

  /** How a call ends: its number's magic fate decides, else the success-rate draw. */
  function endingFor (fate: CallFate | undefined, unlucky: boolean, draws: Draws): { ending: Ending, hold: boolean } {
    if (fate === 'busy' || fate === 'no-answer' || fate === 'failed' || fate === 'voicemail' || fate === 'completed') return { ending: fate, hold: false }
    if (fate === 'error' || fate === 'reject') return { ending: 'failed', hold: false } // in a batch: the call fails
    return { ending: unlucky ? unluckyEnding(draws.random()) : 'completed', hold: fate === 'hold' }
  }
  /**
   * How a call placed without a request of its own ends (a batch's contact, an auto-retry's next
   * attempt): the number's scenario story or magic fate, else the success-rate draw, seeded by `key`.
   */
  function drawnEnding (to: string, ...key: string[]): { ending: Ending, hold: boolean } {
    const draws = simulator.forRequest([...key, to])
    return endingFor((simulator.story(to)?.fate as CallFate | undefined) ?? magicFate(to), !draws.succeeds(), draws)
  }
  app.addHook('onClose', async () => { closing = true; engine.close(); await persistence?.close() })
  // POST /admin/reset: calls forgotten, agents back to their seeded scripts and webhooks.
  let resetBatches = () => {}
  app.onMockReset(async () => {
    simulator.restart()
    resetBatches()
    engine.reset()
    reseed()
    await persistence?.clear()
  })

  // Recordings are served from where the request came in (as a presigned link would be).
  const recordingBaseUrl = (request: FastifyRequest) => `${request.protocol}://${request.host}${app.prefix}/recordings`

  /** Serialises the execution at once: it is the call's own object, which moves on. */
  function postWebhook (execution: Readonly<Execution>, agent: AgentState): void {
    const url = agent.webhookUrl === undefined ? opts.defaultWebhookUrl() : agent.webhookUrl
    if (!url || closing) return
    const body = JSON.stringify(execution)
    webhookSender.send({
      url,
      body,
      headers: executionPostHeaders(opts.signingSecret, body),
      label: `bolna.execution.${execution.status}`,
      order: execution.id
    })
  }

  // Bolna runs on FastAPI: a body that is not JSON is a 422 with pydantic's detail list.
  app.setErrorHandler((error, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500
    const code = (error as { code?: string }).code ?? ''
    if (code.startsWith('FST_ERR_CTP_') && status < 500 && status !== 413 && status !== 415) {
      return unprocessable(reply, [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {}, ctx: { error: 'Expecting value' } }])
    }
    if (status === 413) return reply.code(413).send({ error: 413, message: 'Request Entity Too Large' })
    if (status === 415) return reply.code(415).send({ error: 415, message: 'Unsupported Media Type' })
    if (status < 500) return badRequest(reply, 'Bad Request')
    return reply.code(500).send({ error: 500, message: 'Internal Server Error' })
  })
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ detail: 'Not Found' }))

  // Recordings are served like Bolna's presigned S3 links: no Authorization header needed.
  await app.register(async (files) => {
    files.get('/recordings/:file', { schema: {} }, async (request, reply) => {
      const file = (request.params as { file: string }).file
      const id = /^[0-9a-f-]{36}\.wav$/.test(file) ? engine.recordingFor(file) : undefined
      if (!id) {
        // S3's answer for a missing or expired object.
        return reply.code(404).type('application/xml').send(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>${file.replace(/[<>&]/g, '')}</Key></Error>`)
      }
      const signature = (request.query as Record<string, unknown>)['X-Amz-Signature']
      if (recordingSignature && !(typeof signature === 'string' && safeEqual(signature, recordingSignature(id)))) {
        // S3's answer for a presigned URL whose signature does not match.
        return reply.code(403).type('application/xml').send('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message></Error>')
      }
      return reply.type('audio/wav').header('cache-control', 'private, max-age=3600').send(generateWav(id))
    })
  })

  await app.register(async (api) => {
    // Any key shaped like Bolna's is accepted: bn- then at least six letters, digits, _ or - (a
    // shape check only, as the other emulators make; bn-abc is too short), or (EMULATOR_AUTH=issued)
    // only the stack's own. On a refused key Bolna's spec and docs say 401 {"error":401,
    // "message":"Access denied"}, but the official MCP server's authors checked the live API on
    // 2026-07-13 and got 403 {"detail": "..."} (FastAPI's own form; the official CLI's test
    // vector has "Unrecognized access token"). The emulator follows the live observation: it is
    // the newer evidence and what a real integration will meet. Our client treats both as auth.
    api.addHook('onRequest', async (request, reply) => {
      const auth = request.headers.authorization
      if (!auth || !/^Bearer\s+\S+/i.test(auth)) return reply.code(403).send({ detail: 'Not authenticated' }) // (unverified)
      if (!/^Bearer\s+bn-[\w-]{6,}$/i.test(auth) || (opts.account && !opts.account.accepts('apiKey', auth.replace(/^Bearer\s+/i, '')))) {
        return reply.code(403).send({ detail: 'Unrecognized access token' })
      }
    })

    /**
     * Latency and the fault scenarios for one request. Returns false when the request has been
     * answered with a simulated failure; 'unlucky' when the success-rate draw was lost (only POST
     * /call makes anything of it: the call is accepted and then fails, as real calls do). `force`:
     * an outcome the route gives whatever the scenario (the reads' 'success'); the outcome header
     * still wins. `magic`: what the request asks for, in the README's order below the scenario's
     * period or rate limit and the fault scenario setting.
     */
    async function simulate (request: FastifyRequest, reply: FastifyReply, force?: Outcome, magic?: Outcome): Promise<false | 'ok' | 'unlucky'> {
      const forced = readSimulationHeaders(request.headers)
      const decision = simulator.decide({ force: forced.force ?? force, magic, latencyMs: forced.latencyMs })
      return answer(reply, decision, decision.outcome === 'failure' && !forced.force && !force && !magic)
    }

    /** Waits a decision's latency and answers it (see simulate); `unlucky`: its failure is the success-rate draw lost. */
    async function answer (reply: FastifyReply, decision: Decision, unlucky: boolean): Promise<false | 'ok' | 'unlucky'> {
      // The client-gone signal costs a listener and a controller: only when there is a wait.
      if (decision.delayMs > 0) await simulator.wait(decision.delayMs, clientGone(reply.raw))
      if (unlucky) return 'unlucky'
      if (decision.outcome === 'success') return 'ok'
      reply.header('x-switchboard-simulated', decision.outcome)
      if (decision.outcome === 'rate_limited') {
        // Bolna documents 500 requests a minute on /call and the 429 with an optional
        // Retry-After; the body is the spec's Error shape (unverified).
        reply.code(429).header('retry-after', simulator.retryAfter()).send({ error: 429, message: 'Rate limit exceeded: 500 per 1 minute' })
      } else if (decision.outcome === 'timeout') {
        reply.code(504).send({ error: 504, message: 'Gateway Timeout' })
      } else if (decision.outcome === 'outage') {
        reply.code(503).send({ error: 503, message: 'Service Unavailable' })
      } else {
        reply.code(500).send({ error: 500, message: 'Internal Server Error' })
      }
      return false
    }

    const agentOr404 = (reply: FastifyReply, id: string) => {
      if (!UUID.test(id)) { unprocessable(reply, [detail('uuid_parsing', ['path', 'agent_id'], 'Input should be a valid UUID', id)]); return undefined }
      const agent = agents.get(id.toLowerCase())
      if (!agent) { notFound(reply, 'Agent not found'); return undefined }
      return agent
    }
    /** The execution's id (lower case) when it exists; otherwise answered 422 or 404. */
    const executionOr404 = async (reply: FastifyReply, id: string) => {
      if (!UUID.test(id)) { unprocessable(reply, [detail('uuid_parsing', ['path', 'execution_id'], 'Input should be a valid UUID', id)]); return undefined }
      const executionId = id.toLowerCase()
      if (engine.statusOf(executionId) === undefined && !await persistence?.find(executionId)) { notFound(reply, 'Execution not found'); return undefined }
      return executionId
    }

    api.post('/call', { schema: {} }, async (request, reply) => {
      const body = request.body as Record<string, unknown> | undefined
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        return unprocessable(reply, [detail('model_attributes_type', ['body'], 'Input should be a valid dictionary or object to extract fields from', body ?? null)])
      }
      const problems: DetailItem[] = []
      if (body.agent_id === undefined) problems.push(detail('missing', ['body', 'agent_id'], 'Field required', body))
      else if (typeof body.agent_id !== 'string' || !UUID.test(body.agent_id)) problems.push(detail('uuid_parsing', ['body', 'agent_id'], 'Input should be a valid UUID', body.agent_id))
      if (body.recipient_phone_number === undefined) problems.push(detail('missing', ['body', 'recipient_phone_number'], 'Field required', body))
      else if (typeof body.recipient_phone_number !== 'string') problems.push(detail('string_type', ['body', 'recipient_phone_number'], 'Input should be a valid string', body.recipient_phone_number))
      if (body.from_phone_number !== undefined && body.from_phone_number !== null && typeof body.from_phone_number !== 'string') problems.push(detail('string_type', ['body', 'from_phone_number'], 'Input should be a valid string', body.from_phone_number))
      if (body.user_data !== undefined && body.user_data !== null && (typeof body.user_data !== 'object' || Array.isArray(body.user_data))) problems.push(detail('dict_type', ['body', 'user_data'], 'Input should be a valid dictionary', body.user_data))
      if (body.scheduled_at !== undefined && body.scheduled_at !== null && typeof body.scheduled_at !== 'string') problems.push(detail('string_type', ['body', 'scheduled_at'], 'Input should be a valid string', body.scheduled_at))
      if (body.retry_config !== undefined && body.retry_config !== null) problems.push(...retryConfigProblems(body.retry_config))
      if (problems.length) return unprocessable(reply, problems)

      const to = body.recipient_phone_number as string
      const from = (body.from_phone_number as string | undefined | null) ?? DEFAULT_FROM
      // Wording of these two refusals is ours (unverified); the status is the spec's 400.
      if (!E164.test(to)) return badRequest(reply, `Invalid recipient_phone_number "${to}": use E.164 with the country code, e.g. +919876543210`)
      if (!E164.test(from)) return badRequest(reply, `Invalid from_phone_number "${from}": use E.164 with the country code, e.g. +919876543210`)
      let scheduledAt: Date | undefined
      if (typeof body.scheduled_at === 'string') {
        const s = body.scheduled_at
        // Reported by integrators: a "Z" suffix is answered with a 500; a numeric offset works.
        if (/z$/i.test(s)) return reply.code(500).send({ error: 500, message: 'Internal Server Error' })
        const parsed = Date.parse(/[+-]\d{2}:?\d{2}$/.test(s) ? s : `${s}Z`) // no offset at all: read as UTC (unverified)
        if (Number.isNaN(parsed)) return badRequest(reply, `Invalid scheduled_at "${s}": use ISO-8601 with an offset, e.g. 2026-05-19T18:30:00+05:30`)
        scheduledAt = new Date(parsed)
      }
      const agent = agentOr404(reply, body.agent_id as string)
      if (!agent) return reply

      const forced = readSimulationHeaders(request.headers)
      // A seeded run: this call's fate follows from who is called by which agent, not from when.
      const draws = simulator.forRequest([agent.id, to])
      // The README's order of precedence: the outcome header, then a scenario's period or rate
      // limit, then a story's step, then the fault scenario setting, magic numbers and the success
      // rate. A call Bolna is down for or rate limits takes no step of its story and is refused for
      // nothing else (…5550106 gets the 429 too, not its 400).
      const preempted = draws.preempt(forced)
      if (preempted !== undefined && preempted.outcome !== 'success') {
        await answer(reply, preempted, false)
        return reply
      }
      // A scripted scenario's story (e.g. busy, then answered on the retry) is above the magic numbers.
      const story = simulator.story(to, forced.scenario)
      const magic = magicFate(to)
      const fate = (story?.fate as CallFate | undefined) ?? magic
      const storyOutcome = story?.outcome ?? fateOutcome(story?.fate as CallFate | undefined)
      const decision = preempted ?? draws.settle({ story: storyOutcome, magic: fateOutcome(magic), latencyMs: forced.latencyMs })
      // Only the success-rate draw lost makes a call that is accepted and then fails.
      const unlucky = decision.outcome === 'failure' && preempted === undefined && storyOutcome === undefined && magic === undefined
      if (decision.outcome !== 'success' && !unlucky) {
        await answer(reply, decision, false)
        return reply
      }
      if (fate === 'reject') return badRequest(reply, `Invalid recipient_phone_number "${to}": the number is not reachable`)
      const drawn = await answer(reply, decision, unlucky)
      const { ending, hold } = endingFor(fate, drawn === 'unlucky', draws)
      const userData = (body.user_data ?? {}) as Record<string, unknown>
      const retry = readRetryPolicy(body.retry_config)
      const executionId = engine.create({ agent, to, from, userData, ending, hold, scheduledAt, recordingBaseUrl: recordingBaseUrl(request), ...(retry ? { retry } : {}) })
      // The same bytes Fastify would serialise, written directly (this is the emulator's hot route).
      return reply.code(200).type('application/json; charset=utf-8').send(`{"message":"done","status":"queued","execution_id":"${executionId}"}`)
    })

    api.post('/call/:execution_id/stop', { schema: {} }, async (request, reply) => {
      const id = (request.params as { execution_id: string }).execution_id
      if (!await executionOr404(reply, id)) return reply
      // Stopping never loses the success-rate draw, but it is not the outcome header either: a
      // stop Bolna is down for or rate limits gets that answer (the README's order).
      if (await simulate(request, reply, undefined, 'success') === false) return reply
      const result = engine.stop(id.toLowerCase())
      if (result.ok) return { message: 'done', status: 'stopped', execution_id: result.execution.id }
      if (result.reason === 'not_found') return notFound(reply, 'Execution not found')
      // Bolna stops only queued or scheduled calls; this wording is ours (unverified).
      return badRequest(reply, `Call cannot be stopped: it is ${result.status}. Only queued or scheduled calls can be stopped.`)
    })

    api.get('/executions/:execution_id', { schema: {} }, async (request, reply) => {
      const executionId = await executionOr404(reply, (request.params as { execution_id: string }).execution_id)
      if (!executionId) return reply
      if (await simulate(request, reply, 'success') === false) return reply
      return engine.get(executionId) ?? notFound(reply, 'Execution not found')
    })

    // The execution's raw log (the spec's AgentExecutionLogList), made from its conversation: executionLog().
    api.get('/executions/:execution_id/log', { schema: {} }, async (request, reply) => {
      const executionId = await executionOr404(reply, (request.params as { execution_id: string }).execution_id)
      if (!executionId) return reply
      if (await simulate(request, reply, 'success') === false) return reply
      const execution = engine.get(executionId)
      return execution ? { status: 'success', data: executionLog(execution) } : notFound(reply, 'Execution not found')
    })

    // The legacy path to the same object.
    api.get('/agent/:agent_id/execution/:execution_id', { schema: {} }, async (request, reply) => {
      const params = request.params as { agent_id: string, execution_id: string }
      if (!agentOr404(reply, params.agent_id)) return reply
      const executionId = await executionOr404(reply, params.execution_id)
      if (!executionId) return reply
      if (engine.agentIdOf(executionId) !== params.agent_id.toLowerCase()) return notFound(reply, 'Execution not found')
      if (await simulate(request, reply, 'success') === false) return reply
      return engine.get(executionId) ?? notFound(reply, 'Execution not found')
    })

    // The legacy list (specs/bolna/openapi.yml AgentExecutionList): every execution of the agent,
    // a bare array sorted by last run (newest first), no paging.
    api.get('/agent/:agent_id/executions', { schema: {} }, async (request, reply) => {
      const agent = agentOr404(reply, (request.params as { agent_id: string }).agent_id)
      if (!agent) return reply
      if (await simulate(request, reply, 'success') === false) return reply
      return engine.list({ agentId: agent.id })
    })

    api.get('/v2/agent/:agent_id/executions', { schema: {} }, async (request, reply) => {
      const agent = agentOr404(reply, (request.params as { agent_id: string }).agent_id)
      if (!agent) return reply
      const q = request.query as Record<string, string | undefined>
      const pageNumber = Number(q.page_number ?? 1)
      const pageSize = Number(q.page_size ?? 20)
      const problems: DetailItem[] = []
      if (!Number.isInteger(pageNumber) || pageNumber < 1) problems.push(detail('greater_than_equal', ['query', 'page_number'], 'Input should be greater than or equal to 1', q.page_number))
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 50) problems.push(detail('less_than_equal', ['query', 'page_size'], 'Input should be less than or equal to 50', q.page_size))
      // The spec's other filters (specs/bolna/openapi.yml): status, call_type and provider are
      // enums, answered_by_voice_mail a boolean, from/to UTC date-times compared with created_at.
      // A value outside them is pydantic's 422 (its items' wording as pydantic v2 words them; that
      // Bolna declares them so is (unverified)).
      const oneOf = (name: string, allowed: readonly string[]) => {
        const v = q[name]
        if (v === undefined || allowed.includes(v)) return
        const expected = `${allowed.slice(0, -1).map(a => `'${a}'`).join(', ')} or '${allowed.at(-1)!}'`
        problems.push({ ...detail('enum', ['query', name], `Input should be ${expected}`, v), ctx: { expected } })
      }
      oneOf('status', CALL_STATUSES)
      oneOf('call_type', ['inbound', 'outbound'])
      oneOf('provider', ['plivo', 'twilio', 'websocket', 'web-call'])
      let voicemail: boolean | undefined
      if (q.answered_by_voice_mail !== undefined) {
        // pydantic's lax booleans.
        const v = q.answered_by_voice_mail.toLowerCase()
        if (['true', '1', 'yes', 'on', 't', 'y'].includes(v)) voicemail = true
        else if (['false', '0', 'no', 'off', 'f', 'n'].includes(v)) voicemail = false
        else problems.push(detail('bool_parsing', ['query', 'answered_by_voice_mail'], 'Input should be a valid boolean, unable to interpret input', q.answered_by_voice_mail))
      }
      // ISO-8601 (a date alone, or a date and time with or without an offset: none is read as UTC).
      const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i
      const time = (name: 'from' | 'to'): number | undefined => {
        const v = q[name]
        if (v === undefined) return undefined
        const m = ISO.exec(v)
        const ms = m ? Date.parse(m[1] !== undefined ? v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2') : v.length === 10 ? v : `${v}Z`) : Number.NaN
        if (Number.isNaN(ms)) problems.push(detail('datetime_from_date_parsing', ['query', name], 'Input should be a valid datetime or date, invalid character in year', v))
        return ms
      }
      const from = time('from')
      const to = time('to')
      if (problems.length) return unprocessable(reply, problems)
      if (await simulate(request, reply, 'success') === false) return reply
      // The live API is reported to require from/to (≤ 7 days); the spec marks them optional and
      // so does the emulator, which keeps few enough calls to list them all. Times are compared as
      // instants: an offset or a value without milliseconds means what it says.
      const all = engine.list({ agentId: agent.id, status: q.status, batchId: q.batch_id })
        .filter(e => (voicemail === undefined || e.answered_by_voice_mail === voicemail) &&
          (q.call_type === undefined || e.telephony_data.call_type === q.call_type) &&
          (q.provider === undefined || e.telephony_data.provider === q.provider) &&
          (from === undefined || Date.parse(e.created_at) >= from) && (to === undefined || Date.parse(e.created_at) <= to))
      const data = all.slice((pageNumber - 1) * pageSize, pageNumber * pageSize)
      return { page_number: pageNumber, page_size: pageSize, total: all.length, has_more: pageNumber * pageSize < all.length, data }
    })

    api.get('/v2/agent/all', { schema: {} }, async (request, reply) => {
      if (await simulate(request, reply, 'success') === false) return reply
      return [...agents.values()].map(a => agentBody(a, opts.defaultWebhookUrl()))
    })

    api.get('/v2/agent/:agent_id', { schema: {} }, async (request, reply) => {
      const agent = agentOr404(reply, (request.params as { agent_id: string }).agent_id)
      if (!agent) return reply
      if (await simulate(request, reply, 'success') === false) return reply
      return agentBody(agent, opts.defaultWebhookUrl())
    })

    /**
     * Reads an AgentRequestV2 (POST /v2/agent, PUT /v2/agent/{id}): agent_config with agent_name
     * and tasks, and agent_prompts. The problems, in FastAPI's 422 items, or what the agent is made of.
     */
    function readAgentRequest (raw: unknown): { problems: DetailItem[] } | { agent: Omit<Parameters<typeof createdAgent>[0], 'id' | 'at'> } {
      const body = raw as { agent_config?: Record<string, unknown>, agent_prompts?: Record<string, { system_prompt?: unknown } | undefined> } | undefined
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        return { problems: [detail('model_attributes_type', ['body'], 'Input should be a valid dictionary or object to extract fields from', body ?? null)] }
      }
      const problems: DetailItem[] = []
      const config = body.agent_config
      if (config === undefined) problems.push(detail('missing', ['body', 'agent_config'], 'Field required', body))
      else if (config === null || typeof config !== 'object' || Array.isArray(config)) problems.push(detail('model_attributes_type', ['body', 'agent_config'], 'Input should be a valid dictionary or object to extract fields from', config))
      else {
        if (config.agent_name === undefined) problems.push(detail('missing', ['body', 'agent_config', 'agent_name'], 'Field required', config))
        else if (typeof config.agent_name !== 'string') problems.push(detail('string_type', ['body', 'agent_config', 'agent_name'], 'Input should be a valid string', config.agent_name))
        if (config.agent_welcome_message !== undefined && config.agent_welcome_message !== null && typeof config.agent_welcome_message !== 'string') problems.push(detail('string_type', ['body', 'agent_config', 'agent_welcome_message'], 'Input should be a valid string', config.agent_welcome_message))
        if (config.webhook_url !== undefined && config.webhook_url !== null && !isUrl(config.webhook_url)) problems.push(detail('url_parsing', ['body', 'agent_config', 'webhook_url'], 'Input should be a valid URL', config.webhook_url))
        if (config.tasks === undefined) problems.push(detail('missing', ['body', 'agent_config', 'tasks'], 'Field required', config))
        else if (!Array.isArray(config.tasks)) problems.push(detail('list_type', ['body', 'agent_config', 'tasks'], 'Input should be a valid list', config.tasks))
        else config.tasks.forEach((task, i) => { if (task === null || typeof task !== 'object' || Array.isArray(task)) problems.push(detail('model_attributes_type', ['body', 'agent_config', 'tasks', i], 'Input should be a valid dictionary or object to extract fields from', task)) })
      }
      const prompts = body.agent_prompts
      if (prompts === undefined) problems.push(detail('missing', ['body', 'agent_prompts'], 'Field required', body))
      else if (prompts === null || typeof prompts !== 'object' || Array.isArray(prompts)) problems.push(detail('model_attributes_type', ['body', 'agent_prompts'], 'Input should be a valid dictionary or object to extract fields from', prompts))
      else if (prompts.task_1 !== undefined && typeof prompts.task_1?.system_prompt !== 'string') problems.push(detail(prompts.task_1?.system_prompt === undefined ? 'missing' : 'string_type', ['body', 'agent_prompts', 'task_1', 'system_prompt'], prompts.task_1?.system_prompt === undefined ? 'Field required' : 'Input should be a valid string', prompts.task_1?.system_prompt ?? prompts.task_1))
      if (problems.length) return { problems }
      const cfg = config as Record<string, unknown>
      const url = cfg.webhook_url
      return {
        agent: {
          name: cfg.agent_name as string,
          welcomeMessage: typeof cfg.agent_welcome_message === 'string' ? cfg.agent_welcome_message : undefined,
          prompt: typeof prompts?.task_1?.system_prompt === 'string' ? prompts.task_1.system_prompt : '',
          webhookUrl: typeof url === 'string' ? url : null,
          tasks: cfg.tasks as unknown[]
        }
      }
    }

    // Creates an agent (the spec's AgentRequestV2: agent_config with agent_name and tasks, and
    // agent_prompts). The emulator keeps the name, welcome message, prompt, webhook_url and the
    // tasks as given; it checks the tasks only for being a list of objects (Bolna validates
    // them in depth (unverified)). Without a webhook_url the agent posts nothing, as on Bolna.
    // The answer is the spec's AgentCreateStatus {agent_id, status} with its 200; the docs show
    // {agent_id, state} (unverified): both keys are sent, so either reader finds its own.
    // providers.md §4 lists this endpoint as 201 {agent_id, state}, with no source given. The spec
    // (200, AgentCreateStatus) and Bolna's own create-agent skill ("Response: agent_id and status:
    // created") disagree, and no recorded live answer settles it, so the spec's 200 is kept.
    api.post('/v2/agent', { schema: {} }, async (request, reply) => {
      const read = readAgentRequest(request.body)
      if ('problems' in read) return unprocessable(reply, read.problems)
      if (await simulate(request, reply, 'success') === false) return reply
      // The emulator keeps agents in memory: a bound, with our wording (unverified).
      if (agents.size >= MAX_AGENTS) return badRequest(reply, `Agent limit reached: the emulator keeps at most ${MAX_AGENTS} agents. Delete some first.`)
      const id = randomUUID()
      agents.set(id, createdAgent({ ...read.agent, id, at: new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z') }))
      persistence?.saveAgent(agents.get(id)!)
      return reply.code(200).send({ agent_id: id, status: 'created', state: 'created' })
    })

    // Deletes an agent; calls already placed on it play to their end.
    api.delete('/v2/agent/:agent_id', { schema: {} }, async (request, reply) => {
      const agent = agentOr404(reply, (request.params as { agent_id: string }).agent_id)
      if (!agent) return reply
      if (await simulate(request, reply, 'success') === false) return reply
      agents.delete(agent.id)
      persistence?.removeAgent(agent)
      return { message: 'success', state: 'deleted' }
    })

    api.patch('/v2/agent/:agent_id', { schema: {} }, async (request, reply) => {
      const agent = agentOr404(reply, (request.params as { agent_id: string }).agent_id)
      if (!agent) return reply
      const body = request.body as { agent_config?: Record<string, unknown>, agent_prompts?: Record<string, { system_prompt?: unknown }> } | undefined
      const config = body?.agent_config ?? {}
      const problems: DetailItem[] = []
      if (body === null || typeof body !== 'object' || Array.isArray(body)) problems.push(detail('model_attributes_type', ['body'], 'Input should be a valid dictionary or object to extract fields from', body ?? null))
      for (const field of ['agent_name', 'agent_welcome_message'] as const) {
        if (config[field] !== undefined && typeof config[field] !== 'string') problems.push(detail('string_type', ['body', 'agent_config', field], 'Input should be a valid string', config[field]))
      }
      const url = config.webhook_url
      if (url !== undefined && url !== null && !isUrl(url)) problems.push(detail('url_parsing', ['body', 'agent_config', 'webhook_url'], 'Input should be a valid URL', url))
      const prompt = body?.agent_prompts?.task_1?.system_prompt
      if (prompt !== undefined && typeof prompt !== 'string') problems.push(detail('string_type', ['body', 'agent_prompts', 'task_1', 'system_prompt'], 'Input should be a valid string', prompt))
      if (problems.length) return unprocessable(reply, problems)
      if (await simulate(request, reply, 'success') === false) return reply
      const updatedAt = new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z')
      const patch = (a: AgentState) => {
        if (typeof config.agent_name === 'string') a.name = config.agent_name
        if (typeof config.agent_welcome_message === 'string') a.welcomeMessage = config.agent_welcome_message
        if (url !== undefined) a.webhookUrl = url === '' ? null : url as string | null
        if (typeof prompt === 'string') a.prompt = prompt
        a.updatedAt = updatedAt
      }
      if (!await changeAgent(agent, patch)) return notFound(reply, 'Agent not found')
      return { message: 'success', state: 'updated' }
    })

    // Replaces an agent with the AgentRequestV2 given (validated as POST /v2/agent validates it):
    // what it leaves out is gone, as a PUT says; its id and creation time stay. The answer is the
    // spec's AgentUpdateStatus {agent_id, status: "updated"}.
    api.put('/v2/agent/:agent_id', { schema: {} }, async (request, reply) => {
      const agent = agentOr404(reply, (request.params as { agent_id: string }).agent_id)
      if (!agent) return reply
      const read = readAgentRequest(request.body)
      if ('problems' in read) return unprocessable(reply, read.problems)
      if (await simulate(request, reply, 'success') === false) return reply
      const replace = (a: AgentState) => {
        Object.assign(a, createdAgent({ ...read.agent, id: a.id, at: a.createdAt }), { updatedAt: new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z') })
      }
      if (!await changeAgent(agent, replace)) return notFound(reply, 'Agent not found')
      return { agent_id: agent.id, status: 'updated' }
    })

    /**
     * Changes an agent on its stored copy (BolnaPersistence.changeAgent: never over another
     * instance's change); what is stored is what is held here. A seeded agent is stored from its
     * first change on. False when the database no longer has it (deleted through another instance).
     */
    async function changeAgent (agent: AgentState, edit: (a: AgentState) => void): Promise<boolean> {
      if (!persistence) {
        edit(agent)
        return true
      }
      const stored = await persistence.changeAgent(agent.id, edit)
      if (stored) agents.set(agent.id, stored)
      else if (SEEDED.has(agent.id)) {
        edit(agent)
        persistence.saveAgent(agent)
      } else {
        agents.delete(agent.id)
        return false
      }
      return true
    }

    api.post('/v2/agent/:agent_id/stop', { schema: {} }, async (request, reply) => {
      const agent = agentOr404(reply, (request.params as { agent_id: string }).agent_id)
      if (!agent) return reply
      if (await simulate(request, reply, 'success') === false) return reply
      const stopped: string[] = []
      for (const e of engine.list({ agentId: agent.id })) {
        if ((e.status === 'queued' || e.status === 'scheduled') && engine.stop(e.id).ok) stopped.push(e.id)
      }
      return { stopped_executions: stopped }
    })

    const batches = batchRoutes(api, {
      engine,
      clock: opts.clock,
      agentOr404,
      agentById: (id) => agents.get(id),
      simulate: async (request, reply) => await simulate(request, reply, 'success') !== false,
      endingFor: (to) => drawnEnding(to, 'batch'),
      recordingBaseUrl,
      defaultFrom: DEFAULT_FROM,
      saved: persistence ? b => persistence.saveBatch(b) : undefined,
      removed: persistence ? id => persistence.removeBatch(id) : undefined
    })
    onBatchExecution = batches.onExecutionChange
    resetBatches = batches.reset
    await persistence?.restoreBatches(batches.restore)

    api.get('/user/me', { schema: {} }, async (request, reply) => {
      if (await simulate(request, reply, 'success') === false) return reply
      return { ...ACCOUNT, concurrency: { max: 10, current: engine.live } }
    })
  })
}
