import { newRowId, type ActivityLog, type CrmMessageRow, type WhatsAppLogRow } from '@switchboard/activity-log'
import type { BatchProgress, Mode } from '@switchboard/schemas/common'
import type {
  BulkMessagesReply, BulkMessagesRequest, Campaign, CreateCampaignRequest, SendMessageReply, SendMessageRequest,
  TemplatesReply, WhatsAppLog, WhatsAppStats
} from '@switchboard/schemas/whatsapp'
import { BoundedMap } from '@switchboard/service-kit/bounded-map'
import { clockStamp } from '@switchboard/service-kit/clock'
import { appError, ServiceError } from '@switchboard/service-kit/errors'
import { withFallback } from '@switchboard/service-kit/fallback'
import { ProviderError, providerErrorToServiceError } from '@switchboard/service-kit/provider-client'
import type { CallContext } from '@switchboard/service-kit/provider-clients'
import { answerStoredBulk, batchReport, contactsOf, createJob, createJobRunner, newJobId, retryJob, withRowIds, type ClaimedItem, type ClaimedJob, type ItemOutcome, type JobProgress } from '@switchboard/service-kit/job-runner'
import type { RuntimeSettings } from '@switchboard/service-kit/runtime-settings'
import type { Template } from '../catalogue.ts'
import type { AiSensyClient } from '../client/aisensy-client.ts'
import { normalizePhone } from '../phone.ts'
import { campaignMessage, messageRows, prepareContacts, type Prepared, type SendResult } from './messages.ts'
import { failureColumns, finalStatuses } from './status-events.ts'
import { paramsFor, templateNamed, templatesReply } from './templates.ts'

export interface WhatsAppServiceDeps {
  activityLog: ActivityLog
  runtime: RuntimeSettings
  /** The AiSensy client for a mode; throws PROVIDER_NOT_CONFIGURED when live has no key. */
  clientFor: (mode: Mode) => AiSensyClient
  /** The template catalogue (configuration: AiSensy cannot list templates). */
  templates: Template[]
  /** The lead source tag sent with every message. */
  source: string
  /** AiSensy requires a userName and creates the contact with it: sent when a contact has no name (WHATSAPP_DEFAULT_CONTACT_NAME). */
  defaultContactName: string
  bulkConcurrency: number
  campaignConcurrency: number
  /** How long a worker's claim on a contact lives without renewal (JOB_LEASE_MS). */
  leaseMs: number
  /** How long a bulk send waits for its answers before replying 202 (BULK_WAIT_MS). */
  bulkWaitMs: number
  logger?: { info: (obj: object, msg?: string) => void, warn: (obj: object, msg?: string) => void, error: (obj: object, msg?: string) => void }
}

const LIVE_KEY_HINT = 'Check AISENSY_API_KEY.'
const CAMPAIGN_KIND = 'whatsapp.campaign'
const BULK_KIND = 'whatsapp.bulk'

/** What every contact of a bulk send or campaign shares, stored with the job. */
interface JobSpec {
  template_name: string
  /** A campaign's name, for the log (campaigns stored before it have none). */
  name?: string
  mode: Mode
  request_id: string
  /** A bulk send's x-switchboard-* headers, for the emulator (campaigns take none). */
  simulation_headers?: Record<string, string>
}

/** What is kept of a contact's send in its job item (a bulk reply is built from these). */
interface ItemResult {
  id: string
  to_number: string
  status: string
  provider_message_id: string | null
  error: string | null
}

export function createWhatsAppService (deps: WhatsAppServiceDeps) {
  const { activityLog } = deps
  const modeNow = () => deps.runtime.get('whatsapp').mode
  const templates = new Map(deps.templates.map(t => [t.name, t]))

  const templateFor = (name: string): Template => templateNamed(templates, name)
  /** `at`: on a clock that is not real time (a data set's history), when the send began on it. */
  const rows = (r: SendResult, t: Template, p: Prepared, ctx: CallContext, campaignId: string | null, errorCode: string | null, at: string | undefined) => {
    const out = messageRows(r, t, p, ctx.requestId, campaignId, errorCode, deps.defaultContactName)
    if (at !== undefined) {
      Object.assign(out.log, { created_at: at, updated_at: at })
      Object.assign(out.crm, { created_at: at, updated_at: at })
    }
    return out
  }

  /**
   * One message: one AiSensy request, one whatsapp_logs row and one crm_messages row whatever
   * happens. In live mode with fallback on, a send the real AiSensy cannot serve (down, timing
   * out, rate limiting) goes to the emulator instead and its rows say so.
   */
  async function sendOne (mode: Mode, t: Template, p: Prepared, ctx: CallContext, campaignId: string | null, sink: (log: WhatsAppLogRow, crm: CrmMessageRow) => Promise<void>): Promise<SendResult> {
    const id = p.row_id ?? newRowId()
    // Dated when the send began, not when its answer came: the provider's statuses are dated from
    // its receipt, and a history's clock that moved on meanwhile would put them before the message.
    const at = clockStamp(deps.runtime.clock)
    if (!p.e164) {
      const r: SendResult = { id, mode, fallback: false, to_number: p.raw, status: 'failed', provider_message_id: null, error: `Invalid number: ${p.invalidReason}`, latencyMs: 0 }
      const { log, crm } = rows(r, t, p, ctx, campaignId, 'invalid_number', at)
      await sink(log, crm)
      return r
    }
    const started = performance.now()
    let tried = mode
    try {
      const message = campaignMessage(t, p, deps)
      const routed = await withFallback(mode, deps.runtime.get('whatsapp').fallback, m => { tried = m; return deps.clientFor(m).sendCampaignMessage(message, ctx.simulationHeaders) })
      const r: SendResult = { id, mode: routed.mode, fallback: routed.fallback, to_number: p.e164, status: 'submitted', provider_message_id: routed.result.submittedMessageId, error: null, latencyMs: Math.round(performance.now() - started) }
      const { log, crm } = rows(r, t, p, ctx, campaignId, null, at)
      await sink(log, crm)
      return r
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err
      // The answer that counts is the last one: the emulator's, when live failed over to it.
      const r: SendResult = { id, mode: tried, fallback: tried !== mode, to_number: p.e164, status: 'failed', provider_message_id: null, error: err.message, latencyMs: Math.round(performance.now() - started), providerError: err }
      const { log, crm } = rows(r, t, p, ctx, campaignId, err.kind, at)
      await sink(log, crm)
      return r
    }
  }

  /** Both rows of a message, stored before the send that made them is answered or counted. */
  const stored = (log: WhatsAppLogRow, crm: CrmMessageRow) => Promise.all([activityLog.record('whatsapp_logs', log), activityLog.record('crm_messages', crm)]).then(() => {})
  const buffered = stored

  /** send_message(to_number, template_name, params) */
  async function sendMessage (input: SendMessageRequest, ctx: CallContext): Promise<SendMessageReply> {
    const t = templateFor(input.template_name)
    const params = paramsFor(t, input.params, 'body/params')
    const phone = normalizePhone(input.to_number)
    if (!phone.ok) {
      throw appError('WHATSAPP_INVALID_NUMBER', `to_number "${input.to_number}" is not a phone number WhatsApp can reach (${phone.reason}). Give it with its country code, e.g. +919876543210; 10-digit numbers are taken as Indian.`,
        { details: [{ field: 'body/to_number', message: phone.reason }] })
    }
    const mode = modeNow()
    deps.clientFor(mode) // refuses at once when live mode has no key, before anything is logged
    const p: Prepared = { raw: phone.e164, e164: phone.e164, invalidReason: undefined, name: input.contact_name ?? null, params, media: input.media }
    // Answered once the rows are stored; the activity log commits them with those of the other
    // sends finishing meanwhile (one multi-row insert per table).
    const r = await sendOne(mode, t, p, ctx, null, stored)
    if (r.providerError) {
      const mapped = providerErrorToServiceError('WHATSAPP', r.providerError, LIVE_KEY_HINT)
      throw new ServiceError(mapped.statusCode, mapped.code, mapped.message, { details: { id: r.id, provider: r.providerError.toJSON() }, headers: mapped.headers })
    }
    return { success: true, id: r.id, status: r.status, provider_message_id: r.provider_message_id!, to_number: r.to_number, template_name: t.name, mode: r.mode, latency_ms: r.latencyMs }
  }

  // --- jobs: bulk sends and campaigns ----------------------------------------------------------
  // Both are jobs in the database (service-kit's job runner): every contact is stored, pending,
  // before the answer; the runners of every instance on the database claim and send them.

  const rpc = <T>(fn: string, args?: Record<string, unknown>, options?: { flush?: boolean }) => activityLog.rpc<T>(fn, args, options)

  /** Sends one claimed contact of a bulk send or campaign: the same path as a single send. */
  async function sendItems (job: ClaimedJob<JobSpec>, items: Array<ClaimedItem<Prepared>>): Promise<ItemOutcome[]> {
    const t = templateFor(job.spec.template_name)
    const ctx: CallContext = { requestId: job.spec.request_id, ...(job.spec.simulation_headers ? { simulationHeaders: job.spec.simulation_headers } : {}) }
    const campaignId = job.kind === CAMPAIGN_KIND ? job.id : null
    return await Promise.all(items.map(async item => {
      const r = await sendOne(job.spec.mode, t, item.payload, ctx, campaignId, buffered)
      if (campaignId !== null) {
        if (r.provider_message_id) track(r.provider_message_id, campaignId)
        markDirty(campaignId)
      }
      const result: ItemResult = { id: r.id, to_number: r.to_number, status: r.status, provider_message_id: r.provider_message_id, error: r.error }
      return { seq: item.seq, state: r.status === 'submitted' ? 'sent' as const : 'failed' as const, result, reason: r.error }
    }))
  }

  /** How the log names a job: its runner logs its start, every 10 % and its end at info. */
  const label = (job: ClaimedJob<JobSpec>) => job.kind === CAMPAIGN_KIND
    ? `WhatsApp campaign ${JSON.stringify(job.spec.name ?? job.spec.template_name)} (${job.id})`
    : `WhatsApp bulk send of ${JSON.stringify(job.spec.template_name)} (${job.id})`

  // The sends' rows are written before their answers are recorded in the job.
  const settleRows = async () => { await activityLog.flush(30_000) }
  const admit = () => activityLog.admit()
  const runners = {
    campaign: createJobRunner<Prepared, JobSpec>({ rpc, kind: CAMPAIGN_KIND, concurrency: deps.campaignConcurrency, leaseMs: deps.leaseMs, handle: sendItems, settle: settleRows, admit, label, ...(deps.logger ? { logger: deps.logger } : {}) }),
    bulk: createJobRunner<Prepared, JobSpec>({ rpc, kind: BULK_KIND, concurrency: deps.bulkConcurrency, leaseMs: deps.leaseMs, handle: sendItems, settle: settleRows, admit, label, ...(deps.logger ? { logger: deps.logger } : {}) })
  }

  /**
   * send_bulk_messages(contacts, template_name): stored as a job, then one AiSensy request per
   * message (its API takes one destination), run concurrently in a bounded pool. A contact that
   * fails (refused, or a number that cannot be normalised) is a failed row; it never stops the
   * others. Answered with every result once all are answered within BULK_WAIT_MS; otherwise with
   * the batch's progress (202): the sends go on, GET …/whatsapp/bulk/{batch_id} follows them.
   */
  async function sendBulkMessages (input: BulkMessagesRequest, ctx: CallContext): Promise<{ done: true, reply: BulkMessagesReply } | { done: false, progress: BatchProgress }> {
    const t = templateFor(input.template_name)
    const prepared = prepareContacts(t, input.contacts)
    const mode = modeNow()
    deps.clientFor(mode) // refuses at once when live mode has no key
    const started = performance.now()
    // A retry under the same Idempotency-Key after a crash takes up the batch its first attempt stored.
    const id = newJobId(ctx)
    const spec: JobSpec = { template_name: t.name, mode, request_id: ctx.requestId, ...(ctx.simulationHeaders && Object.keys(ctx.simulationHeaders).length > 0 ? { simulation_headers: ctx.simulationHeaders } : {}) }
    await createJob(rpc, 'WHATSAPP', { id, kind: BULK_KIND, spec }, withRowIds(prepared))
    return await answerStoredBulk(async () => {
      runners.bulk.poke()
      // The bound counts from the request's start: storing the job is part of the wait.
      if (!await runners.bulk.waitFor(id, Math.max(0, deps.bulkWaitMs - (performance.now() - started)))) return { done: false as const, progress: await getBulk(id) }
      const items = await rpc<Array<{ state: string, payload: Prepared, result: ItemResult | null, reason: string | null }>>('job_results', { p_job_id: id })
      const accepted = items.filter(i => i.state === 'sent').length
      return {
        done: true as const,
        reply: {
          batch_id: id,
          mode,
          template_name: t.name,
          total: items.length,
          accepted,
          failed: items.length - accepted,
          duration_ms: Math.round(performance.now() - started),
          results: items.map(i => i.result
            ? { to_number: i.result.to_number, id: i.result.id, status: i.result.status, provider_message_id: i.result.provider_message_id, error: i.result.error }
            : { to_number: i.payload.raw, id: null, status: i.state, provider_message_id: null, error: i.reason })
        }
      }
    }, { id, total: prepared.length, progressUrl: `/api/automation/whatsapp/bulk/${id}` }, deps.logger)
  }

  async function jobProgress (id: string, kind: string): Promise<JobProgress | null> {
    const p = await rpc<JobProgress | null>('job_progress', { p_job_id: id })
    return p && p.kind === kind ? p : null
  }

  /** A bulk send's progress. */
  async function getBulk (id: string): Promise<BatchProgress> {
    const p = await jobProgress(id, BULK_KIND)
    if (!p) throw appError('WHATSAPP_BATCH_NOT_FOUND', `No bulk send with id ${id}. Ids are the batch_id of a bulk reply.`)
    return await batchReport(rpc, p, `/api/automation/whatsapp/bulk/${id}`)
  }

  // --- campaigns --------------------------------------------------------------------------------

  /** Which campaign a submitted message belongs to, so its status webhooks refresh the campaign's counters. */
  const campaignOf = new BoundedMap<string, string>(200_000)
  const track = (messageId: string, campaignId: string) => { campaignOf.set(messageId, campaignId) }

  async function refresh (campaignId: string): Promise<Omit<Campaign, 'contacts'> | null> {
    return await activityLog.rpc<Omit<Campaign, 'contacts'> | null>('whatsapp_campaign_progress', { p_campaign_id: campaignId })
  }
  const refreshQuietly = (campaignId: string) => refresh(campaignId).catch(err => deps.logger?.warn({ err, campaignId }, 'could not refresh campaign counters; the next read recounts them'))

  // Sends and status webhooks refresh their campaigns' stored counters, at most every 250 ms per campaign.
  const dirty = new Set<string>()
  let refreshTimer: NodeJS.Timeout | undefined
  const markDirty = (campaignId: string) => {
    dirty.add(campaignId)
    refreshTimer ??= setTimeout(() => {
      refreshTimer = undefined
      const ids = [...dirty]
      dirty.clear()
      for (const id of ids) void refreshQuietly(id)
    }, 250)
  }

  /**
   * create_campaign(name, contacts, template_name): the campaign and every contact are stored
   * (one transaction) and it is answered at once; the job runners of every instance on the
   * database send it in the background while GET /campaigns/:id reports progress.
   */
  async function createCampaign (input: CreateCampaignRequest, ctx: CallContext): Promise<Campaign> {
    const t = templateFor(input.template_name)
    const prepared = prepareContacts(t, input.contacts)
    const mode = modeNow()
    deps.clientFor(mode) // refuses at once when live mode has no key, before the campaign exists
    // A retry under the same Idempotency-Key after a crash finds the campaign its first attempt stored.
    const id = newJobId(ctx)
    // On a clock that is not real time (a data set's history), when it happened on that clock.
    const now = clockStamp(deps.runtime.clock) ?? new Date().toISOString()
    const row = { id, request_id: ctx.requestId, mode, name: input.name, template_name: t.name, status: 'running', total: prepared.length, sent: 0, failed: 0, delivered: 0, read: 0, error: null, created_at: now, updated_at: now, completed_at: null }
    if (!await createJob(rpc, 'WHATSAPP', { id, kind: CAMPAIGN_KIND, spec: { template_name: t.name, name: input.name, mode, request_id: ctx.requestId } satisfies JobSpec, row_table: 'whatsapp_campaigns', row }, withRowIds(prepared))) {
      runners.campaign.poke()
      return await getCampaign(id)
    }
    runners.campaign.poke()
    return {
      id,
      name: input.name,
      template_name: t.name,
      mode,
      status: 'running',
      total: prepared.length,
      processed: 0,
      progress: 0,
      sent: 0,
      failed: 0,
      delivered: 0,
      read: 0,
      contacts: { pending: prepared.length, in_flight: 0, sent: 0, failed: 0, unknown: 0, stopped: 0 },
      error: null,
      created_at: now,
      updated_at: now,
      completed_at: null
    }
  }

  const notFound = (id: string) => appError('WHATSAPP_CAMPAIGN_NOT_FOUND', `No campaign with id ${id}. Ids come from the create_campaign reply.`)

  /** A campaign's progress: its contacts' states from the job, its messages' statuses from their rows. */
  async function getCampaign (id: string): Promise<Campaign> {
    // The job first: reading it turns claims whose worker died into unknown, and settles the status.
    const job = await jobProgress(id, CAMPAIGN_KIND)
    const c = await refresh(id)
    if (!c) throw notFound(id)
    const contacts = job ? contactsOf(job) : { pending: Math.max(0, c.total - c.processed), in_flight: 0, sent: c.sent, failed: c.processed - c.sent, unknown: 0, stopped: 0 }
    // Status and contacts from one read of the job, so they always agree.
    return { ...c, ...(job ? { status: job.status } : {}), contacts }
  }

  /** Stops a campaign: contacts not yet sent become stopped; those in flight finish. */
  async function stopCampaign (id: string): Promise<Campaign> {
    if (!await jobProgress(id, CAMPAIGN_KIND)) throw notFound(id)
    await rpc('job_stop', { p_job_id: id, p_reason: 'The campaign was stopped on request before this contact was sent.' })
    return await getCampaign(id)
  }

  /** Sends a campaign's unknown and failed contacts again (each gets a new message row). */
  async function retryCampaign (id: string, ctx?: CallContext): Promise<Campaign> {
    if (!await jobProgress(id, CAMPAIGN_KIND)) throw notFound(id)
    return await retryJob(rpc, runners.campaign, id, () => getCampaign(id), ctx?.simulationHeaders)
  }

  /** Sends a bulk send's unknown and failed contacts again; answers with its progress. */
  async function retryBulk (id: string, ctx?: CallContext): Promise<BatchProgress> {
    await getBulk(id) // 404 for an id that is not a bulk send's
    return await retryJob(rpc, runners.bulk, id, () => getBulk(id), ctx?.simulationHeaders)
  }

  // --- reads ------------------------------------------------------------------------------------

  /** get_whatsapp_stats() */
  async function getWhatsAppStats (): Promise<WhatsAppStats> {
    const s = await activityLog.rpc<Omit<WhatsAppStats, 'success_rate' | 'delivery_rate' | 'read_rate'>>('whatsapp_stats')
    const ratio = (a: number, b: number, empty: number) => b ? Math.round((a / b) * 10_000) / 10_000 : empty
    return {
      ...s,
      success_rate: ratio(Number(s.total) - Number(s.errors), Number(s.total), 1),
      delivery_rate: ratio(Number(s.delivered), Number(s.sent), 0),
      read_rate: ratio(Number(s.read), Number(s.delivered), 0)
    }
  }

  /** get_templates() */
  const getTemplates = (): TemplatesReply => templatesReply(deps.templates)

  async function getMessage (id: string): Promise<WhatsAppLog> {
    const [row] = await activityLog.select('whatsapp_logs', { where: { id }, limit: 1 })
    if (!row) throw appError('WHATSAPP_MESSAGE_NOT_FOUND', `No message with id ${id}. Ids come from the send, bulk and campaign replies.`)
    return row as unknown as WhatsAppLog
  }

  // --- status webhooks --------------------------------------------------------------------------

  /**
   * Applies a verified status post to whatsapp_logs and crm_messages; resolves, once the changes
   * are stored, with how many events were used. Of a message's statuses in one post only the
   * highest-ranked is kept (status-events.ts): the others would change nothing after it. The
   * activity log moves rows forward only, coalesces a message's moves and groups those of many
   * messages.
   */
  async function applyStatusEvents (events: unknown[]): Promise<number> {
    const { final, used } = finalStatuses(events)
    for (const messageId of final.keys()) {
      const campaignId = campaignOf.get(messageId)
      if (campaignId) markDirty(campaignId)
    }
    // Stamped when the status happened, as its notification says (AiSensy's created_at, on the
    // emulators' clock in mock mode): a post that arrives late (a retry, a data set's history
    // played faster than its statuses are posted) still dates the move right. Without it, the
    // activity log stamps the move when it is made.
    const moves: Array<Promise<void>> = []
    for (const [id, update] of final) {
      const status = update.status
      const when = update.at === undefined ? {} : { updated_at: update.at }
      moves.push(activityLog.advance('whatsapp_logs', 'provider_message_id', id, status, { ...failureColumns(update), ...when }))
      moves.push(activityLog.advance('crm_messages', 'provider_message_id', id, status, when))
    }
    await Promise.all(moves)
    return used
  }

  /** Takes up every job with pending contacts (this instance's and every other's). After listening: mock sends go to this server's emulator. */
  function startJobs (): void {
    runners.campaign.start()
    runners.bulk.start()
  }

  /**
   * Stops claiming contacts; the sends in flight finish and are recorded. Contacts still pending
   * stay pending in the database: the next start (of any instance) takes the jobs up again. Call
   * it before the server stops listening (the sends in flight may be talking to its own emulator).
   */
  async function stopCampaigns (): Promise<void> {
    await Promise.all([runners.campaign.stop(), runners.bulk.stop()])
  }

  /** After stopCampaigns. */
  function close (): void {
    clearTimeout(refreshTimer)
  }

  return { sendMessage, sendBulkMessages, getBulk, createCampaign, getCampaign, stopCampaign, retryCampaign, retryBulk, getWhatsAppStats, getTemplates, getMessage, applyStatusEvents, startJobs, stopCampaigns, close }
}

export type WhatsAppService = ReturnType<typeof createWhatsAppService>
