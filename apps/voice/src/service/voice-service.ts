import { clockStamp, isoNow } from '@switchboard/service-kit/clock'
import { setTimeout as sleep } from 'node:timers/promises'
import { movesFrom, newRowId, type ActivityLog, type CallCampaignRow } from '@switchboard/activity-log'
import type { BatchProgress, Mode } from '@switchboard/schemas/common'
import type {
  BulkCallReply, BulkCallRequest, CallLog, CallLogsQuery, CallLogsReply, CallStats, Campaign, Contact,
  CreateCampaignRequest, MakeCallReply, MakeCallRequest, ScriptsReply, StopCallReply
} from '@switchboard/schemas/voice'
import { appError, ServiceError } from '@switchboard/service-kit/errors'
import { ProviderError, providerErrorToServiceError } from '@switchboard/service-kit/provider-client'
import type { CallContext } from '@switchboard/service-kit/provider-clients'
import type { RuntimeSettings } from '@switchboard/service-kit/runtime-settings'
import { withFallback } from '@switchboard/service-kit/fallback'
import { mapWithConcurrency } from '@switchboard/service-kit/simulation'
import { answerStoredBulk, awaitBulk, batchProgress, batchReport, createJob, createJobRunner, FINAL_JOB_STATUSES, newJobId, retryJob, withRowIds, type ClaimedItem, type ClaimedJob, type ItemOutcome, type JobProgress } from '@switchboard/service-kit/job-runner'
import type { BolnaClient, BolnaExecution } from '../client/bolna-client.ts'
import { bolnaTimestamp, CALL_ID_VAR, CAMPAIGN_ID_VAR, executionPatch, idsOf, toCallLog } from './call-log.ts'
import { campaignView, contactOf, liveCallCount, noProgress, type CallItem, type Progress } from './campaign-view.ts'
import { coalescing } from './coalesce.ts'
import { createScripts, type ResolvedScript } from './scripts.ts'
import { isFinal, NON_FINAL_STATUSES, rankOf } from './status.ts'

export interface VoiceServiceDeps {
  activityLog: ActivityLog
  runtime: RuntimeSettings
  /** The Bolna client for a mode; throws PROVIDER_NOT_CONFIGURED when live has no key. */
  clientFor: (mode: Mode) => BolnaClient
  /** BOLNA_SCRIPTS: alias → agent id. */
  scriptAliases: ReadonlyMap<string, string>
  /** Caller id for every call (BOLNA_FROM_NUMBER); the account default when unset. */
  fromNumber?: string | undefined
  /** Calls placed at once by bulk calls and campaigns. */
  bulkConcurrency: number
  /** How often, and for how long, a campaign asks Bolna about calls whose webhooks are missing. */
  reconcileMs: number
  reconcileMaxMs: number
  /** How long a worker's claim on a contact lives without renewal (JOB_LEASE_MS). */
  leaseMs: number
  /** How long a bulk request waits for its calls to be placed before replying 202 (BULK_WAIT_MS). */
  bulkWaitMs: number
  logger?: { info: (obj: object, msg?: string) => void, warn: (obj: object, msg?: string) => void, debug: (obj: object, msg?: string) => void }
}

/**
 * Where an execution object comes from: a post signed by our emulator, a post from Bolna (by
 * address), or an execution fetched from either.
 */
export type ExecutionSource = 'emulator' | 'bolna' | 'fetched'

const LIVE_KEY_HINT = 'Check BOLNA_API_KEY.'
const CAMPAIGN_KIND = 'voice.campaign'
const BULK_KIND = 'voice.bulk'
const VOICE_KINDS = [CAMPAIGN_KIND, BULK_KIND] as const

/** What every call of a campaign or a bulk batch shares, stored with its job. */
interface CampaignSpec {
  mode: Mode
  /** The campaign's name, for the log (jobs stored before it have none). */
  name?: string
  target: ResolvedScript
  from?: string
  request_id: string
  /** A bulk request's x-switchboard-* headers, for the emulator (campaigns take none). */
  simulation_headers?: Record<string, string>
}
/** What is kept of a placed (or refused) call in its job item: a bulk reply is built from these. */
interface CallResult { id: string, execution_id: string | null, status?: string }
const SEEN_MAX = 50_000
const CAMPAIGN_REFRESH_GAP_MS = 250
/** A followed call Bolna answers 404 for this many times in a row is lost (reconcile()). */
const LOST_AFTER_NOT_FOUND = 3

const nowIso = isoNow

export function createVoiceService (deps: VoiceServiceDeps) {
  const { activityLog } = deps
  const scripts = createScripts({ clientFor: deps.clientFor, aliases: deps.scriptAliases })
  const seen = new Set<string>()
  // On a clock that is not real time (a data set's history, a test that moved it), when it
  // happened on that clock. (Status moves are stamped by the activity log itself.)
  const stamp = () => clockStamp(deps.runtime.clock) ?? nowIso()
  const jobs = new Set<Promise<unknown>>()
  const stopping = new AbortController()

  const modeNow = () => deps.runtime.get('voice').mode
  const track = (p: Promise<unknown>) => {
    const job = p.catch(err => deps.logger?.warn({ err }, 'voice background job failed')).finally(() => jobs.delete(job))
    jobs.add(job)
  }
  const mapped = (err: ProviderError, details: Record<string, unknown>) => {
    const m = providerErrorToServiceError('VOICE', err, LIVE_KEY_HINT)
    return new ServiceError(m.statusCode, m.code, m.message, { details: { ...details, provider: err.toJSON() }, headers: m.headers })
  }

  /** error is a ProviderError, or a bug (anything else), which makeCall re-throws. */
  type Placed = { ok: true, id: string, mode: Mode, executionId: string, status: string, latencyMs: number } | { ok: false, id: string, error: unknown, latencyMs: number }

  /**
   * Places one call: the row is written first (so a webhook can never arrive before its row),
   * then Bolna is asked; the row gets the execution id, or becomes failed with Bolna's reason.
   */
  async function placeCall (p: { mode: Mode, target: ResolvedScript, to: string, userData?: Record<string, unknown>, from?: string | undefined, scheduledAt?: string | undefined, campaignId?: string, rowId?: string | undefined, ctx: CallContext }): Promise<Placed> {
    const id = p.rowId ?? newRowId()
    const from = p.from ?? deps.fromNumber
    const at = stamp()
    // Queued before Bolna is asked, so it is written before any webhook's update of the call; the
    // answer waits for it below, with the call's outcome.
    const inserted = activityLog.record('call_logs', {
      id,
      request_id: p.ctx.requestId,
      mode: p.mode,
      campaign_id: p.campaignId ?? null,
      execution_id: null,
      agent_id: p.target.agentId,
      script_id: p.target.scriptId,
      to_number: p.to,
      from_number: from ?? null,
      status: p.scheduledAt && Date.parse(p.scheduledAt) > Date.now() + 1000 ? 'scheduled' : 'queued',
      created_at: at,
      updated_at: at
    })
    const started = performance.now()
    const body = {
      agent_id: p.target.agentId,
      recipient_phone_number: p.to,
      ...(from ? { from_phone_number: from } : {}),
      ...(p.scheduledAt ? { scheduled_at: bolnaTimestamp(p.scheduledAt) } : {}),
      user_data: { ...p.userData, [CALL_ID_VAR]: id, ...(p.campaignId ? { [CAMPAIGN_ID_VAR]: p.campaignId } : {}) }
    }
    try {
      // Live mode with fallback on: a Bolna outage sends the call to the emulator instead, and
      // the row says so (mode mock, fallback true); its webhooks then come from the emulator.
      const routed = await withFallback(p.mode, deps.runtime.get('voice').fallback, m => deps.clientFor(m).makeCall(body, p.ctx.simulationHeaders))
      const res = routed.result
      const latencyMs = Math.round(performance.now() - started)
      await Promise.all([inserted, activityLog.recordUpdate('call_logs', { id }, { execution_id: res.execution_id, latency_ms: latencyMs, updated_at: stamp(), ...(routed.fallback ? { mode: routed.mode, fallback: true } : {}) })])
      return { ok: true, id, mode: routed.mode, executionId: res.execution_id, status: res.status ?? 'queued', latencyMs }
    } catch (err) {
      const latencyMs = Math.round(performance.now() - started)
      const known = err instanceof ProviderError
      await Promise.all([inserted, activityLog.recordUpdate('call_logs', { id }, { status: 'failed', error: known ? err.message : 'internal error', error_code: known ? err.kind : 'internal', latency_ms: latencyMs, updated_at: stamp() })])
      if (!known) deps.logger?.warn({ err, call: id }, 'placing a call failed unexpectedly')
      return { ok: false, id, error: err, latencyMs }
    }
  }

  /** make_call(to_number, script_id, agent_id) */
  async function makeCall (input: MakeCallRequest, ctx: CallContext): Promise<MakeCallReply> {
    const mode = modeNow()
    deps.clientFor(mode) // refuses at once when live mode has no key, before anything is logged
    if (input.scheduled_at !== undefined && Number.isNaN(Date.parse(input.scheduled_at))) {
      throw appError('VOICE_INVALID_REQUEST', `body/scheduled_at "${input.scheduled_at}" is not a time that exists. Use ISO-8601, e.g. 2026-05-19T18:30:00+05:30.`)
    }
    const target = await resolve(mode, input.script_id, input.agent_id)
    const placed = await placeCall({ mode, target, to: input.to_number, userData: input.user_data, from: input.from_number, scheduledAt: input.scheduled_at, ctx })
    if (!placed.ok) throw placed.error instanceof ProviderError ? mapped(placed.error, { id: placed.id }) : placed.error
    return { success: true, id: placed.id, execution_id: placed.executionId, status: placed.status, mode: placed.mode, to_number: input.to_number, script_id: target.scriptId, agent_id: target.agentId, latency_ms: placed.latencyMs }
  }

  async function resolve (mode: Mode, scriptId: string, agentId?: string): Promise<ResolvedScript> {
    try {
      return await scripts.resolve(mode, scriptId, agentId)
    } catch (err) {
      if (err instanceof ProviderError) throw mapped(err, { script_id: scriptId })
      throw err
    }
  }

  function campaignRow (p: { id: string, mode: Mode, name: string, target: ResolvedScript, total: number, ctx: CallContext }) {
    const now = stamp()
    return { id: p.id, request_id: p.ctx.requestId, mode: p.mode, name: p.name, script_id: p.target.scriptId, agent_id: p.target.agentId, status: 'running', total: p.total, initiated: 0, completed: 0, failed: 0, error: null, created_at: now, updated_at: now, completed_at: null } satisfies CallCampaignRow
  }

  const rpc = <T>(fn: string, args?: Record<string, unknown>, options?: { flush?: boolean }) => activityLog.rpc<T>(fn, args, options)

  /** Stores a campaign or a bulk batch as a job: its call_campaigns row and every contact, in one transaction. */
  async function storeJob (kind: string, input: { contacts: Contact[], from_number?: string | undefined }, p: { id: string, mode: Mode, name: string, target: ResolvedScript, ctx: CallContext, simulationHeaders?: Record<string, string> | undefined }) {
    const row = campaignRow({ ...p, total: input.contacts.length })
    const spec: CampaignSpec = {
      mode: p.mode,
      name: p.name,
      target: p.target,
      request_id: p.ctx.requestId,
      ...(input.from_number ? { from: input.from_number } : {}),
      ...(p.simulationHeaders && Object.keys(p.simulationHeaders).length > 0 ? { simulation_headers: p.simulationHeaders } : {})
    }
    const created = await createJob(rpc, 'VOICE', { id: p.id, kind, spec, row_table: 'call_campaigns', row }, withRowIds(input.contacts.map(c => contactOf(c))))
    return { row, created }
  }

  /**
   * make_bulk_calls(contacts, script_id): stored as a job (every contact, before the answer), then
   * every call placed through POST /call by the job runners, VOICE_BULK_CONCURRENCY at a time per
   * instance. Bolna's own batches need a CSV upload and a schedule at least two minutes ahead, so
   * they do not fit "call these people now". Answered with every call once Bolna has answered for
   * each within BULK_WAIT_MS; otherwise with the batch's progress (202) while the calls go on:
   * GET …/call/bulk/{batch_id} follows them. The batch is also a call_campaigns row, so
   * GET …/call/campaigns/{batch_id} follows its calls to their end.
   */
  async function makeBulkCalls (input: BulkCallRequest, ctx: CallContext): Promise<{ done: true, reply: BulkCallReply } | { done: false, progress: BatchProgress }> {
    const started = performance.now()
    const mode = modeNow()
    deps.clientFor(mode)
    const target = await resolve(mode, input.script_id, input.agent_id)
    // A retry under the same Idempotency-Key after a crash takes up the batch its first attempt stored.
    const id = newJobId(ctx)
    await storeJob(BULK_KIND, input, { id, mode, name: `Bulk calls ${nowIso()}`, target, ctx, simulationHeaders: ctx.simulationHeaders })
    return await answerStoredBulk(async () => {
      // The bound counts from the request's start: storing the job is part of the wait.
      const outcome = await awaitBulk<CallItem, CallResult>(rpc, runners.bulk, id, deps.bulkWaitMs - (performance.now() - started))
      if (!outcome.done) return { done: false as const, progress: batchProgress(outcome.progress, bulkProgressUrl(id)) }
      const calls = outcome.items.map(i => ({
        id: i.result?.id ?? null,
        to_number: i.payload.to_number,
        status: i.state === 'sent' ? i.result?.status ?? 'queued' : i.state,
        execution_id: i.result?.execution_id ?? null,
        ...(i.state !== 'sent' && i.reason ? { error: i.reason } : {})
      }))
      const initiated = outcome.items.filter(i => i.state === 'sent').length
      return { done: true as const, reply: { batch_id: id, mode, script_id: target.scriptId, agent_id: target.agentId, total: calls.length, initiated, failed: calls.length - initiated, duration_ms: Math.round(performance.now() - started), calls } }
    }, { id, total: input.contacts.length, progressUrl: bulkProgressUrl(id) }, deps.logger)
  }

  const bulkProgressUrl = (id: string) => `/api/automation/call/bulk/${id}`

  /** A voice job (campaign or bulk batch) by id, null for any other id. */
  async function jobProgress (id: string, kinds: readonly string[] = VOICE_KINDS): Promise<JobProgress | null> {
    const p = await rpc<JobProgress | null>('job_progress', { p_job_id: id })
    return p && kinds.includes(p.kind) ? p : null
  }

  /** A bulk batch's progress. */
  async function getBulk (id: string): Promise<BatchProgress> {
    const p = await jobProgress(id, [BULK_KIND])
    if (!p) throw appError('VOICE_BATCH_NOT_FOUND', `No bulk call batch with id ${id}. Ids are the batch_id of a bulk reply.`)
    return await batchReport(rpc, p, bulkProgressUrl(id))
  }

  /**
   * create_campaign(name, contacts, script_id): the campaign and every contact are stored (one
   * transaction, a job) and it answers at once; the job runners of every instance on the database
   * place the calls in the background. A restart resumes it.
   */
  async function createCampaign (input: CreateCampaignRequest, ctx: CallContext): Promise<Campaign> {
    const mode = modeNow()
    deps.clientFor(mode)
    const target = await resolve(mode, input.script_id, input.agent_id)
    // A retry under the same Idempotency-Key after a crash finds the campaign its first attempt stored.
    const id = newJobId(ctx)
    const { row, created } = await storeJob(CAMPAIGN_KIND, input, { id, mode, name: input.name, target, ctx })
    runners.campaign.poke()
    return created ? campaignView(row, noProgress(), null, 0) : await getCampaign(id)
  }

  const notFound = (id: string) => appError('VOICE_CAMPAIGN_NOT_FOUND', `No campaign with id ${id}. Ids come from the create_campaign and bulk replies.`)

  /**
   * Stops a campaign (or a bulk batch): contacts not yet called become stopped; the calls being
   * placed finish, and calls already placed go on to their end (Bolna stops only queued calls:
   * POST …/call/{id}/stop).
   */
  async function stopCampaign (id: string): Promise<Campaign> {
    if (!await jobProgress(id)) throw notFound(id)
    await rpc('job_stop', { p_job_id: id, p_reason: 'The campaign was stopped on request before this contact was called.' })
    return await getCampaign(id)
  }

  /** Calls a campaign's unknown and failed contacts again (each call gets a new call_logs row). */
  async function retryCampaign (id: string, ctx?: CallContext): Promise<Campaign> {
    const job = await jobProgress(id)
    if (!job) throw notFound(id)
    return await retryJob(rpc, job.kind === BULK_KIND ? runners.bulk : runners.campaign, id, () => getCampaign(id), ctx?.simulationHeaders)
  }

  /** Calls a bulk batch's unknown and failed contacts again; answers with its progress. */
  async function retryBulk (id: string, ctx?: CallContext): Promise<BatchProgress> {
    await getBulk(id) // 404 for an id that is not a bulk batch's
    return await retryJob(rpc, runners.bulk, id, () => getBulk(id), ctx?.simulationHeaders)
  }

  /** Places the claimed calls of a campaign or a bulk batch (one call per contact). */
  async function placeItems (job: ClaimedJob<CampaignSpec>, items: Array<ClaimedItem<CallItem>>): Promise<ItemOutcome[]> {
    const { mode, target, from, request_id: requestId, simulation_headers: simulationHeaders } = job.spec
    const ctx: CallContext = { requestId, ...(simulationHeaders ? { simulationHeaders } : {}) }
    return await Promise.all(items.map(async item => {
      const placed = await placeCall({ mode, target, to: item.payload.to_number, userData: item.payload.user_data, from, campaignId: job.id, rowId: item.payload.row_id, ctx })
      scheduleCampaignRefresh(job.id)
      if (placed.ok) return { seq: item.seq, state: 'sent' as const, result: { id: placed.id, execution_id: placed.executionId, status: placed.status } satisfies CallResult }
      return { seq: item.seq, state: 'failed' as const, result: { id: placed.id, execution_id: null } satisfies CallResult, reason: placed.error instanceof ProviderError ? placed.error.message : 'internal error' }
    }))
  }

  const runnerOptions = {
    rpc,
    concurrency: deps.bulkConcurrency,
    leaseMs: deps.leaseMs,
    handle: placeItems,
    // The calls' rows are written before their answers are recorded in the job.
    settle: async () => { await activityLog.flush(30_000) },
    admit: () => activityLog.admit(),
    label: (job: ClaimedJob<CampaignSpec>) => `Voice ${job.kind === BULK_KIND ? 'bulk calls' : 'campaign'} ${JSON.stringify(job.spec.name ?? job.spec.target.scriptId)} (${job.id})`,
    // Every call placed: follow the calls until they end (webhooks, and asking Bolna).
    onFinished: (ids: string[]) => { for (const id of ids) { scheduleCampaignRefresh(id); followCalls(id) } },
    // Its info lines too: each job taken up, its progress and its end (the runner's log).
    ...(deps.logger ? { logger: { info: deps.logger.info.bind(deps.logger), warn: deps.logger.warn.bind(deps.logger), error: deps.logger.warn.bind(deps.logger) } } : {})
  }
  const runners = {
    campaign: createJobRunner<CallItem, CampaignSpec>({ ...runnerOptions, kind: CAMPAIGN_KIND }),
    bulk: createJobRunner<CallItem, CampaignSpec>({ ...runnerOptions, kind: BULK_KIND })
  }

  const progressOf = (id: string) => activityLog.rpc<Progress>('voice_campaign_progress', { p_campaign_id: id })

  /**
   * The campaign row's call counters follow its calls. (Its status is its job's: job_settle,
   * job_stop and job_retry write it in the same transaction as the job's.)
   */
  async function refreshCampaign (id: string): Promise<void> {
    const p = await progressOf(id)
    activityLog.recordUpdate('call_campaigns', { id }, { initiated: p.initiated, completed: p.completed, failed: p.failed, updated_at: stamp() })
  }

  /** At most one refresh per campaign at a time, at most one every 250 ms; requests coalesce. */
  const scheduleCampaignRefresh = coalescing(refreshCampaign, { gapMs: CAMPAIGN_REFRESH_GAP_MS, signal: stopping.signal, track })

  /** Follows a campaign's placed calls to their end (reconcile), once per campaign at a time in this process. */
  const following = new Set<string>()
  function followCalls (campaignId: string): void {
    if (following.has(campaignId) || stopping.signal.aborted) return
    following.add(campaignId)
    track(reconcile(campaignId).finally(() => following.delete(campaignId)))
  }

  /**
   * Webhooks are the fast path; this is the safety net. While a campaign has placed calls without
   * a final status it asks Bolna about them every reconcileMs (a live agent may have no webhook
   * configured, a post may be lost, or it came while no instance was up), and gives up waiting
   * after reconcileMaxMs.
   */
  async function reconcile (campaignId: string): Promise<void> {
    const deadline = Date.now() + deps.reconcileMaxMs
    // How many times in a row Bolna answered 404 for a call (see below).
    const notFound = new Map<string, number>()
    while (!stopping.signal.aborted && Date.now() < deadline) {
      await sleep(deps.reconcileMs, undefined, { signal: stopping.signal }).catch(() => {})
      if (stopping.signal.aborted) return
      const open = (await activityLog.select('call_logs', { where: { campaign_id: campaignId, status: { in: NON_FINAL_STATUSES } }, limit: 500 }))
        .filter(r => typeof r.execution_id === 'string')
      if (!open.length) {
        scheduleCampaignRefresh(campaignId)
        return
      }
      await mapWithConcurrency(open, 4, async (r) => {
        try {
          // Each call is asked where it was placed (a fallback call lives in the emulator).
          await applyExecution(await deps.clientFor(r.mode as Mode).getExecution(String(r.execution_id)), 'fetched')
          notFound.delete(String(r.id))
        } catch (err) {
          if ((err as { statusCode?: number }).statusCode === 404) {
            // Bolna has no such execution (the emulator lost a call placed just before a kill -9):
            // it will never move, so it ends as an error instead of holding the campaign open.
            // Only after three answers in a row, reconcileMs apart: a provider that does not find
            // a call it has just placed (unverified for the real Bolna) must not end it.
            const times = (notFound.get(String(r.id)) ?? 0) + 1
            notFound.set(String(r.id), times)
            if (times >= LOST_AFTER_NOT_FOUND) {
              await activityLog.advance('call_logs', 'id', String(r.id), 'error', { error: `Bolna has no execution ${String(r.execution_id)}: the call cannot be followed.`, error_code: 'error' })
            }
            return
          }
          deps.logger?.debug({ err, call: r.id }, 'could not fetch the execution; will ask again')
        }
      })
      scheduleCampaignRefresh(campaignId)
    }
  }

  /**
   * At start: campaigns whose placed calls have not ended (their webhooks may have come while no
   * instance was up) are followed again.
   */
  async function followOpenCampaigns (): Promise<void> {
    const open = await activityLog.select('call_logs', { where: { status: { in: NON_FINAL_STATUSES } }, orderBy: { column: 'created_at', ascending: false }, limit: 5000 })
    const ids = new Set(open.filter(r => typeof r.execution_id === 'string' && typeof r.campaign_id === 'string').map(r => String(r.campaign_id)))
    for (const id of ids) followCalls(id)
  }

  /** Placed calls of a campaign not yet at a final status (rows without an execution id are not placed). */
  async function liveCalls (id: string, p: Progress): Promise<number> {
    if (p.in_progress === 0) return 0
    const unplaced = await activityLog.count('call_logs', { campaign_id: id, execution_id: null, status: { in: NON_FINAL_STATUSES } })
    return liveCallCount(p, unplaced)
  }

  /** GET a campaign (or a bulk batch) with its progress counted from its job and its calls. */
  async function getCampaign (id: string): Promise<Campaign> {
    // The job first: reading it turns claims whose worker died into unknown, and settles its status.
    const job = await jobProgress(id)
    const [row] = await activityLog.select('call_campaigns', { where: { id }, limit: 1 })
    if (!row) throw notFound(id)
    const p = await progressOf(id)
    const live = await liveCalls(id, p)
    // Calls placed by an instance that is gone: this one follows them.
    if (live > 0 && job && FINAL_JOB_STATUSES.has(job.status)) followCalls(id)
    return campaignView(row, p, job, live)
  }

  /**
   * Applies one execution object (a webhook, or a fetched execution) to its call row. A
   * (execution id, status) pair is applied once; the row moves only forwards (earlier statuses
   * only), so duplicates and out-of-order posts change nothing. Resolves, once the change is
   * stored, with false for a duplicate.
   */
  async function applyExecution (e: BolnaExecution, source: ExecutionSource = 'bolna'): Promise<boolean> {
    if (movesFrom('call_logs', e.status) === undefined) {
      deps.logger?.warn({ execution: e.id, status: e.status }, 'ignoring an execution with a status Bolna does not document')
      return true
    }
    const key = `${e.id}|${e.status}`
    if (seen.has(key)) return false
    seen.add(key)
    if (seen.size > SEEN_MAX) seen.delete(seen.values().next().value!)
    const echoed = e.context_details?.recipient_data
    const { callId, campaignId } = idsOf(echoed ?? {})
    if (callId) {
      await activityLog.advance('call_logs', 'id', callId, e.status, executionPatch(e))
    } else if (source === 'emulator' && echoed !== null && typeof echoed === 'object') {
      // Not ours, nothing to write: every call this service places carries its row id in
      // user_data, and the emulator hands user_data back whole in every execution it posts, so
      // an emulator post whose user_data has no row id is a call placed on the emulator directly
      // (a demo, the benchmark), and no row has its execution id. (Bolna's own echo is
      // unverified, so its posts, and posts without the echo, are still matched by execution id.)
    } else {
      await activityLog.advance('call_logs', 'execution_id', e.id, e.status, executionPatch(e))
    }
    if (isFinal(e.status) && campaignId) scheduleCampaignRefresh(campaignId)
    return true
  }

  async function findCall (id: string): Promise<Record<string, unknown>> {
    const [byId] = await activityLog.select('call_logs', { where: { id }, limit: 1 })
    if (byId) return byId
    const [byExecution] = await activityLog.select('call_logs', { where: { execution_id: id }, limit: 1 })
    if (byExecution) return byExecution
    throw appError('VOICE_CALL_NOT_FOUND', `No call with id ${id}. Ids come from the make_call, bulk and logs replies.`)
  }

  /** get_call_status(call_id): the row, brought up to date from Bolna while the call is live. */
  async function getCallStatus (id: string, ctx: CallContext): Promise<CallLog> {
    const row = await findCall(id)
    if (isFinal(String(row.status)) || typeof row.execution_id !== 'string') return toCallLog(row)
    try {
      const e = await deps.clientFor(row.mode as Mode).getExecution(row.execution_id, ctx.simulationHeaders)
      await applyExecution(e, 'fetched')
      if ((rankOf(e.status) ?? -1) > (rankOf(String(row.status)) ?? -1)) return toCallLog({ ...row, ...executionPatch(e), updated_at: stamp() })
    } catch (err) {
      // The row as last reported is still a true answer; say why it may be behind.
      if (!(err instanceof ProviderError) && !(err instanceof ServiceError)) throw err
      deps.logger?.debug({ err, call: id }, 'could not refresh the call from Bolna; answering from the log')
    }
    return toCallLog(row)
  }

  /** Bolna stops only calls still queued or scheduled. */
  async function stopCall (id: string, ctx: CallContext): Promise<StopCallReply> {
    const row = await findCall(id)
    const notStoppable = (why: string) => appError('VOICE_CALL_NOT_STOPPABLE', why, { details: { id: row.id, status: row.status } })
    if (typeof row.execution_id !== 'string') {
      throw notStoppable(row.status === 'failed'
        ? 'This call was never placed (Bolna refused it), so there is nothing to stop.'
        : 'This call is still being placed. Retry in a moment.')
    }
    if (isFinal(String(row.status))) throw notStoppable(`This call has already ended (${String(row.status)}).`)
    try {
      await deps.clientFor(row.mode as Mode).stopCall(row.execution_id, ctx.simulationHeaders)
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err
      if (err.kind === 'rejected') throw notStoppable(`Bolna refused to stop it: ${err.message} Only queued or scheduled calls can be stopped.`)
      throw mapped(err, { id: row.id })
    }
    await activityLog.advance('call_logs', 'id', String(row.id), 'stopped')
    return { id: String(row.id), execution_id: row.execution_id, status: 'stopped', mode: row.mode as Mode }
  }

  /** get_call_logs(limit, status) */
  async function getCallLogs (query: CallLogsQuery): Promise<CallLogsReply> {
    const where: Record<string, string> = {}
    if (query.status) where.status = query.status
    if (query.campaign_id) where.campaign_id = query.campaign_id
    const rows = await activityLog.select('call_logs', { where, orderBy: { column: 'created_at', ascending: false }, limit: query.limit })
    return { calls: rows.map(toCallLog), count: rows.length }
  }

  /** get_call_stats() */
  async function getCallStats (): Promise<CallStats> {
    return activityLog.rpc<CallStats>('voice_stats')
  }

  /** get_available_scripts() */
  async function getAvailableScripts (ctx: CallContext): Promise<ScriptsReply> {
    const mode = modeNow()
    deps.clientFor(mode)
    try {
      return await scripts.list(mode, ctx.simulationHeaders)
    } catch (err) {
      if (err instanceof ProviderError) throw mapped(err, {})
      throw err
    }
  }

  /**
   * Stops claiming calls (those not placed stay pending for the next start) and polling; waits for
   * what is in flight, then hands over the writes.
   */
  async function close (): Promise<void> {
    await Promise.all([runners.campaign.stop(), runners.bulk.stop()])
    stopping.abort()
    while (jobs.size) await Promise.allSettled([...jobs])
  }

  /** Takes up the campaigns and bulk batches with contacts to call, and follows calls left open. */
  function startJobs (): void {
    runners.campaign.start()
    runners.bulk.start()
    followOpenCampaigns().catch(err => deps.logger?.warn({ err }, 'could not look for campaigns with calls still open; they are followed when read'))
  }

  return { makeCall, makeBulkCalls, getBulk, createCampaign, stopCampaign, retryCampaign, retryBulk, startJobs, getCampaign, getCallStatus, stopCall, getCallLogs, getCallStats, getAvailableScripts, applyExecution, close }
}

export type VoiceService = ReturnType<typeof createVoiceService>
