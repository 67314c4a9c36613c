import { createHmac, randomBytes } from 'node:crypto'
import type { EmulatorState } from '@switchboard/activity-log'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import formbody from '@fastify/formbody'
import { BoundedMap } from '@switchboard/service-kit/bounded-map'
import { clientGone, readSimulationHeaders, type Draws, type Outcome, type Simulator } from '@switchboard/service-kit/simulation'
import type { WebhookSender } from '@switchboard/service-kit/webhook-sender'
import { fromPaise } from '../amount.ts'
import { WEBHOOK_POST_HEADERS, webhookBody, type PaymentWebhookFields } from '../instamojo-webhooks.ts'
import { checkoutPage, notFoundPage, receiptPage } from './checkout-page.ts'
import { amountFate } from './magic.ts'
import {
  feesFor, INSTRUMENTS, InstamojoStore, isoMicro, newPaymentId, newRefundId, newRequestId, newShortSlug,
  v1Payment, v1Request, v2Payment, v2Refund, v2Request, type Instrument, type OrderRecord, type PaymentRecord, type RefundRecord, type RequestRecord
} from './store.ts'
import { systemClock, type Clock } from '@switchboard/service-kit/clock'
import type { EmulatorAccount } from '@switchboard/service-kit/emulator-account'
import { normalisePhone, validateNewOrder, validateNewRequest, validateOrderForRequest, validateRefund } from './validate-request.ts'

/** An Instamojo account's credentials: v2's OAuth client, and v1.1's key and token. */
export type InstamojoCredential = 'client_id' | 'client_secret' | 'api_key' | 'auth_token'

export interface InstamojoEmulatorOptions {
  simulator: Simulator
  webhookSender: WebhookSender
  /** The private salt webhooks are signed with (the "developers page" salt of this fake account). */
  salt: string
  /** The account's username in long URLs (https://…/@<username>/<id>). */
  username?: string
  /** Most payment requests (and payments) kept in memory. */
  maxRecords?: number
  /** Where requests, payments and tokens are kept beyond memory (the database). */
  state?: EmulatorState
  /** The emulators' clock (the admin API's test clock): when a payment request expires. */
  clock?: Clock
  /** Whose credentials are taken (EMULATOR_AUTH); without it, any non-empty ones are. */
  account?: EmulatorAccount<InstamojoCredential>
}

export const TOKEN_TTL_S = 36_000
const DEFAULT_SCOPE = 'payouts:read payments:read payments:fulfil payments:refund users:read users:write payment-requests:read payment-requests:write gateway-orders:read gateway-orders:write convenience-fee:read refunds:read'
export const MAX_TOKENS = 10_000

/** Instamojo's error envelope (v2 and v1.1 alike, per the SDKs): {"success": false, "message": …}. */
const fail = (message: unknown) => ({ success: false, message })

type ApiVersion = 'v2' | 'v1'

/** What a completion needs to decide: an explicit outcome wins; else magic amounts; else the rate. */
export interface CompleteOptions {
  outcome?: 'success' | 'failure'
  successRate?: number
  instrument?: Instrument
  buyer?: { buyer_name?: string, email?: string, phone?: string }
  /** The story the request names (x-switchboard-scenario). */
  scenario?: string
  /** From the checkout page: a scenario story's step wins over the button pressed. */
  page?: boolean
}

/**
 * Instamojo's v2 API (OAuth2 client credentials) and legacy v1.1 API (X-Api-Key/X-Auth-Token),
 * plus the hosted checkout page each payment request's longurl opens. Mounted under /instamojo.
 * Completing a payment (from the page or POST /_switchboard/payment_requests/{id}/complete)
 * creates the payment, updates the request, redirects the buyer and posts the signed webhook.
 */
export async function instamojoEmulator (app: FastifyInstance, opts: InstamojoEmulatorOptions): Promise<void> {
  const { simulator, webhookSender, salt } = opts
  app.onMockReset(() => { simulator.restart() })
  const username = opts.username ?? 'switchboard'
  const clock = opts.clock ?? systemClock
  // Records are dated on the emulators' clock (README: Test clock), so a data set's history agrees with Activity.
  const stamp = () => isoMicro(new Date(clock.now()))
  // 62^12 slugs in issued mode: a short link is a capability to the buyer's checkout page.
  const slugLength = opts.account?.auth === 'issued' ? 12 : 5
  const store = new InstamojoStore(opts.maxRecords, opts.state, clock)
  await store.restore()
  app.addHook('onClose', async () => { await store.close() })
  if (app.hasDecorator('onMockReset')) app.onMockReset(async () => { await store.clear() })
  const tokens = new BoundedMap<string, number>(MAX_TOKENS)
  // From the salt, so the account's user URL is the same after a restart and on every instance.
  const userId = createHmac('sha256', salt).update('switchboard-instamojo-emulator:user').digest('hex').slice(0, 32)
  const prefix = app.prefix

  await app.register(formbody)

  app.setErrorHandler((error, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500
    const code = (error as { code?: string }).code
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.code(415).send(fail(`Unsupported media type "${String(_request.headers['content-type'] ?? '')}" in request.`))
    if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return reply.code(400).send(fail('JSON parse error - the body is not valid JSON.'))
    if (status >= 500) return reply.code(500).send(fail('Something went wrong. Please try again later.'))
    return reply.code(status === 413 ? 413 : 400).send(fail(status === 413 ? 'Request entity too large.' : 'Bad request.'))
  })
  // Django's APPEND_SLASH: a GET without the trailing slash is redirected to the URL with it.
  app.setNotFoundHandler((request, reply) => {
    const [path, query] = request.url.split('?') as [string, string | undefined]
    if ((request.method === 'GET' || request.method === 'HEAD') && !path.endsWith('/') && !path.includes('/@')) {
      return reply.code(301).header('location', `${path}/${query ? `?${query}` : ''}`).send()
    }
    return reply.code(404).send(fail('Not found.'))
  })

  const baseOf = (request: FastifyRequest) => `${request.protocol}://${request.host}${prefix}`
  /** A JSON body (typed values) rather than a form (strings only): DRF types them differently. */
  const isJson = (request: FastifyRequest) => /^application\/(?:[\w.+-]+\+)?json\b/i.test(String(request.headers['content-type'] ?? ''))
  const notFound = (reply: FastifyReply) => reply.code(404).send(fail('Not found.'))

  // --- auth -------------------------------------------------------------------------------------
  // With EMULATOR_AUTH=issued a token carries a mark made with the account's secret (its last ten
  // hex digits), so a token issued to any client before the switch (tokens outlive restarts) is not taken.
  const account = opts.account?.auth === 'issued' ? opts.account : undefined
  const tokenMark = (head: string) => createHmac('sha256', account!.credentials.client_secret).update(head).digest('hex').slice(0, 10)
  const newToken = () => {
    if (!account) return randomBytes(15).toString('hex')
    const head = randomBytes(10).toString('hex')
    return head + tokenMark(head)
  }
  const markedForAccount = (token: string) => !account || (token.length === 30 && token.slice(20) === tokenMark(token.slice(0, 20)))

  async function v2Auth (request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const auth = request.headers.authorization
    if (!auth) { reply.code(401).send(fail('Authentication credentials were not provided.')); return false }
    const token = /^Bearer (\S+)$/.exec(auth)?.[1]
    // A token this instance did not issue may come from another instance, or from before a restart.
    let expiry = token ? tokens.get(token) : undefined
    if (token && expiry === undefined) {
      expiry = await store.tokenExpiry(token)
      if (expiry !== undefined) tokens.set(token, expiry)
    }
    if (!token || expiry === undefined || expiry < Date.now() || !markedForAccount(token)) {
      // (unverified) wording: the OAuth toolkit's answer for an unknown or expired token.
      reply.code(401).send(fail('Invalid or expired token.'))
      return false
    }
    return true
  }
  function v1Auth (request: FastifyRequest, reply: FastifyReply): boolean {
    const key = request.headers['x-api-key']
    const token = request.headers['x-auth-token']
    if (typeof key !== 'string' || !key || typeof token !== 'string' || !token) {
      reply.code(401).send(fail('Authentication credentials were not provided.')) // (unverified) wording
      return false
    }
    if (opts.account && !(opts.account.accepts('api_key', key) && opts.account.accepts('auth_token', token))) {
      reply.code(401).send(fail('Invalid token.')) // (unverified) wording: DRF's TokenAuthentication's
      return false
    }
    return true
  }
  const auth = async (v: ApiVersion, request: FastifyRequest, reply: FastifyReply) => v === 'v2' ? v2Auth(request, reply) : v1Auth(request, reply)

  // providers.md §3: client_credentials for an app's own account; password (a user's username and
  // password) and refresh_token for apps acting for a user, which also get a refresh token. The
  // client's id and secret come in the form or as HTTP Basic (RFC 6749 §2.3.1).
  app.post('/oauth2/token/', async (request, reply) => {
    const b = (request.body ?? {}) as Record<string, unknown>
    const text = (v: unknown) => typeof v === 'string' && v !== '' ? v : undefined
    const grant = text(b.grant_type) ?? ''
    if (!['client_credentials', 'password', 'refresh_token'].includes(grant)) return reply.code(400).send({ error: grant ? 'unsupported_grant_type' : 'invalid_request' })
    const basic = /^basic\s+(\S+)$/i.exec(String(request.headers.authorization ?? ''))?.[1]
    const [basicId, basicSecret] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(/:(.*)/s) : []
    // Any non-empty id/secret pair is accepted (shape-only, like the other emulators' key checks),
    // or (EMULATOR_AUTH=issued) only the stack's own.
    const clientId = text(b.client_id) ?? text(basicId)
    const clientSecret = text(b.client_secret) ?? text(basicSecret)
    if (!clientId || !clientSecret || (opts.account && !(opts.account.accepts('client_id', clientId) && opts.account.accepts('client_secret', clientSecret)))) {
      return reply.code(401).send({ error: 'invalid_client' })
    }
    // Any non-empty user or refresh token is taken (unverified: the wording of a refusal).
    if (grant === 'password' && (!text(b.username) || !text(b.password))) return reply.code(400).send({ error: 'invalid_request' })
    if (grant === 'refresh_token' && !text(b.refresh_token)) return reply.code(400).send({ error: 'invalid_request' })
    const token = newToken()
    tokens.set(token, Date.now() + TOKEN_TTL_S * 1000)
    await store.addToken(token, Date.now() + TOKEN_TTL_S * 1000)
    return reply.header('cache-control', 'no-store').send({
      access_token: token,
      token_type: 'Bearer',
      expires_in: TOKEN_TTL_S,
      ...(grant === 'client_credentials' ? {} : { refresh_token: randomBytes(15).toString('hex') }),
      scope: typeof b.scope === 'string' && b.scope ? b.scope : DEFAULT_SCOPE
    })
  })

  // --- simulation -------------------------------------------------------------------------------
  /** What a payment request is, without the ids generated for it: what a seeded draw follows. */
  const factsOf = (r: Pick<RequestRecord, 'amountPaise' | 'purpose' | 'buyer_name' | 'email' | 'phone'>) => [r.amountPaise, r.purpose, r.buyer_name, r.email, r.phone]

  /**
   * Waits the simulated latency; answers the failure itself and returns false when the outcome is
   * not success. `magic`: what a magic amount asks of the request. It is not the outcome header:
   * in the README's order it comes below a scenario's period or rate limit and the fault scenario
   * setting (a ….11 link is not created while Instamojo is down or rate limiting).
   */
  async function simulate (request: FastifyRequest, reply: FastifyReply, mode: 'write' | 'read', magic?: Outcome, draws: Draws = simulator): Promise<boolean> {
    const forced = readSimulationHeaders(request.headers)
    const decision = draws.decide({ force: forced.force, magic, latencyMs: forced.latencyMs })
    // Only writes lose the success-rate draw; reads fail only when forced or in a fault scenario.
    if (decision.outcome === 'failure' && mode === 'read' && !forced.force && !magic) decision.outcome = 'success'
    await simulator.wait(decision.delayMs, () => clientGone(reply.raw))
    if (decision.outcome === 'success') return true
    reply.header('x-switchboard-simulated', decision.outcome)
    // Instamojo publishes no bodies for these; worded in its envelope (unverified).
    if (decision.outcome === 'rate_limited') {
      // DRF's throttle answer, its wait in words as in the header.
      const wait = simulator.retryAfter()
      reply.code(429).header('retry-after', wait).send(fail(`Request was throttled. Expected available in ${wait} second${wait === '1' ? '' : 's'}.`))
    } else if (decision.outcome === 'timeout') reply.code(504).send(fail('Gateway Timeout'))
    else if (decision.outcome === 'outage') reply.code(503).send(fail('Service temporarily unavailable. Please try again later.'))
    else reply.code(500).send(fail('Something went wrong. Please try again later.'))
    return false
  }

  // --- payment requests -------------------------------------------------------------------------
  async function create (v: ApiVersion, request: FastifyRequest, reply: FastifyReply) {
    if (!await auth(v, request, reply)) return reply
    const result = validateNewRequest(request.body, clock.now(), { json: isJson(request) })
    if (result.errors) return reply.code(400).send(fail(result.errors))
    const input = result.value
    const amount = fromPaise(input.amountPaise)
    const fate = amountFate(amount)
    // A seeded run: this request's fate follows from what it asks for, not from when it arrived.
    const draws = simulator.forRequest(factsOf(input))
    const ok = await simulate(request, reply, 'write', fate === 'create_fails' ? 'failure' : fate === 'always_succeeds' ? 'success' : undefined, draws)
    if (!ok) return reply
    const id = newRequestId()
    const now = stamp()
    const base = baseOf(request)
    const slug = newShortSlug(slugLength)
    const record: RequestRecord = {
      id,
      ...input,
      created_at: now,
      modified_at: now,
      completed: false,
      paymentIds: [],
      longurl: `${base}/@${username}/${id}`,
      shorturl: `${base}/s/${slug}`,
      settled: false
    }
    store.addRequest(record, slug)
    return reply.code(201).send(v === 'v2' ? v2Request(store, record, base, userId) : { success: true, payment_request: v1Request(store, record) })
  }

  const read = (id: string) => store.findRequest(id)

  /**
   * Reading a request after its creation shows what Instamojo fills in later (short URL, delivery
   * statuses). Marked on the database's copy: another instance may have paid it a moment ago.
   */
  async function settle (r: RequestRecord): Promise<RequestRecord> {
    if (r.settled) return r
    return (await store.changeRequest(r.id, stored => { if (stored.settled) return false; stored.settled = true; return true }))?.request ?? r
  }
  const settleAll = async (rs: RequestRecord[]) => await Promise.all(rs.map(settle))

  function page (request: FastifyRequest): { limit: number, page: number } {
    const q = request.query as Record<string, string | undefined>
    const limit = Math.min(Math.max(Number.parseInt(q.limit ?? '50', 10) || 50, 1), 500)
    const pageNo = Math.max(Number.parseInt(q.page ?? '1', 10) || 1, 1)
    return { limit, page: pageNo }
  }

  function listFiltered (request: FastifyRequest): RequestRecord[] {
    const q = request.query as Record<string, string | undefined>
    const bound = (name: string) => q[name] ? Date.parse(q[name]!) : undefined
    const minC = bound('min_created_at'); const maxC = bound('max_created_at')
    const minM = bound('min_modified_at'); const maxM = bound('max_modified_at')
    // (unverified) The payment requests behind gateway orders are the emulator's own means of
    // taking their payments, not payment requests the account made: they are not listed.
    return [...store.requests.values()].reverse().filter(r => {
      if (r.orderId !== undefined) return false
      const c = Date.parse(r.created_at); const m = Date.parse(r.modified_at)
      return (minC === undefined || c >= minC) && (maxC === undefined || c <= maxC) && (minM === undefined || m >= minM) && (maxM === undefined || m <= maxM)
    })
  }

  /** A v2 list page, as the payment-request list answers it: {count, next, previous, <key>: […]}. */
  function listPage<T> (request: FastifyRequest, path: string, key: string, all: T[], shape: (item: T) => unknown) {
    const { limit, page: p } = page(request)
    const link = (n: number) => `${baseOf(request)}${path}?limit=${limit}&page=${n}`
    return {
      count: all.length,
      next: p * limit < all.length ? link(p + 1) : null,
      previous: p > 1 ? link(p - 1) : null,
      [key]: all.slice((p - 1) * limit, p * limit).map(shape)
    }
  }

  app.post('/v2/payment_requests/', async (request, reply) => create('v2', request, reply))
  app.post('/api/1.1/payment-requests/', async (request, reply) => create('v1', request, reply))

  app.get('/v2/payment_requests/', async (request, reply) => {
    if (!await v2Auth(request, reply)) return reply
    if (!await simulate(request, reply, 'read')) return reply
    const { limit, page: p } = page(request)
    const all = listFiltered(request)
    const base = baseOf(request)
    const link = (n: number) => `${base}/v2/payment_requests/?limit=${limit}&page=${n}`
    return {
      count: all.length,
      next: p * limit < all.length ? link(p + 1) : null,
      previous: p > 1 ? link(p - 1) : null,
      payment_requests: (await settleAll(all.slice((p - 1) * limit, p * limit))).map(r => v2Request(store, r, base, userId))
    }
  })
  app.get('/api/1.1/payment-requests/', async (request, reply) => {
    if (!v1Auth(request, reply)) return reply
    if (!await simulate(request, reply, 'read')) return reply
    const { limit, page: p } = page(request)
    return { success: true, payment_requests: (await settleAll(listFiltered(request).slice((p - 1) * limit, p * limit))).map(r => v1Request(store, r)) }
  })

  app.get<{ Params: { id: string } }>('/v2/payment_requests/:id/', async (request, reply) => {
    if (!await v2Auth(request, reply)) return reply
    if (!await simulate(request, reply, 'read')) return reply
    const r = await read(request.params.id)
    return r ? v2Request(store, await settle(r), baseOf(request), userId) : notFound(reply)
  })
  app.get<{ Params: { id: string } }>('/api/1.1/payment-requests/:id/', async (request, reply) => {
    if (!v1Auth(request, reply)) return reply
    if (!await simulate(request, reply, 'read')) return reply
    const r = await read(request.params.id)
    if (!r) return notFound(reply)
    const settled = await settle(r)
    const payments = (await Promise.all(settled.paymentIds.map(p => store.findPayment(p)))).filter((p): p is PaymentRecord => !!p).map(v1Payment)
    return { success: true, payment_request: { ...v1Request(store, settled), payments } }
  })
  app.get<{ Params: { id: string, payment_id: string } }>('/api/1.1/payment-requests/:id/:payment_id/', async (request, reply) => {
    if (!v1Auth(request, reply)) return reply
    if (!await simulate(request, reply, 'read')) return reply
    const r = await read(request.params.id)
    const p = await store.findPayment(request.params.payment_id)
    if (!r || !p || p.requestId !== r.id) return notFound(reply)
    return { success: true, payment_request: { ...v1Request(store, await settle(r)), payment: v1Payment(p) } }
  })
  // Every payment of the account, newest first: those made on the checkout page (or completed
  // through /_switchboard) included. The Node SDK's test reads {count, payments}; next and
  // previous as on the payment-request list.
  app.get('/v2/payments/', async (request, reply) => {
    if (!await v2Auth(request, reply)) return reply
    if (!await simulate(request, reply, 'read')) return reply
    const base = baseOf(request)
    return listPage(request, '/v2/payments/', 'payments', [...store.payments.values()].reverse(), p => v2Payment(store, p, base))
  })

  // --- disabling a payment request (Java SDK: POST …/disable/ and …/enable/, answered {success}) ---
  // A disabled request takes no payment (its checkout page is closed) until it is enabled again.
  // Its `status` is left as it was: the reference records no status or field for it (unverified).
  // Like reads, these never lose the success-rate draw: the rate is documented for creating links.
  for (const action of ['disable', 'enable'] as const) {
    app.post<{ Params: { id: string } }>(`/v2/payment_requests/:id/${action}/`, async (request, reply) => {
      if (!await v2Auth(request, reply)) return reply
      if (!await simulate(request, reply, 'read')) return reply
      const r = await read(request.params.id)
      if (!r) return notFound(reply)
      const disabled = action === 'disable'
      await store.changeRequest(r.id, stored => {
        if ((stored.disabled ?? false) === disabled) return false
        stored.disabled = disabled
        stored.modified_at = stamp()
        return true
      })
      return { success: true }
    })
  }

  // --- refunds (providers.md §3; the Node SDK's test: 201 {success: true, refund: {id, payment_id, status}}) ---
  app.post<{ Params: { id: string } }>('/v2/payments/:id/refund/', async (request, reply) => {
    if (!await v2Auth(request, reply)) return reply
    return await refundPayment(request, reply, request.params.id)
  })
  // v1.1 names the payment in the form (providers.md §3, Legacy v1.1: POST /api/1.1/refunds/
  // payment_id, type, body, refund_amount) and answers as v2 does, {success, refund} (unverified).
  app.post('/api/1.1/refunds/', async (request, reply) => {
    if (!v1Auth(request, reply)) return reply
    const paymentId = (request.body as Record<string, unknown> | undefined)?.payment_id
    if (typeof paymentId !== 'string' || paymentId === '') return reply.code(400).send(fail({ payment_id: ['This field is required.'] }))
    return await refundPayment(request, reply, paymentId)
  })

  /** Refunds a payment (all of it, or refund_amount): one handler for v2's route and v1.1's. */
  async function refundPayment (request: FastifyRequest, reply: FastifyReply, paymentId: string) {
    const result = validateRefund(request.body, { json: isJson(request) })
    if (!await simulate(request, reply, 'read')) return reply
    const p = await store.findPayment(paymentId)
    if (!p) return notFound(reply)
    if (result.errors) return reply.code(400).send(fail(result.errors))
    // (unverified) wordings: a failed payment moved no money, and no more than was paid goes back.
    if (p.status !== 'Credit') return reply.code(400).send(fail('This payment cannot be refunded: it was not successful.'))
    const { type, body, transaction_id: transactionId } = result.value
    let refund: RefundRecord | undefined
    // Taken on the payment's stored copy: two instances refunding it at once give back no more than was paid.
    const taken = await store.refund(p.id, result.value.refundPaise, refundPaise => {
      refund = { id: newRefundId(), paymentId: p.id, type, body, refundPaise, totalPaise: p.amountPaise, transaction_id: transactionId, created_at: stamp() }
      store.addRefund(refund)
    })
    if (!taken) return notFound(reply)
    if ('remaining' in taken) {
      if (taken.remaining <= 0) return reply.code(400).send(fail('This payment has already been refunded in full.'))
      return reply.code(400).send(fail({ refund_amount: [`Ensure this value is less than or equal to ${fromPaise(taken.remaining)}.`] }))
    }
    return reply.code(201).send({ success: true, refund: v2Refund(refund!) })
  }
  // The list's envelope follows the other v2 lists (unverified for refunds); a refund alone is
  // answered bare, as every other v2 object read by id is.
  app.get('/v2/refunds/', async (request, reply) => {
    if (!await v2Auth(request, reply)) return reply
    if (!await simulate(request, reply, 'read')) return reply
    return listPage(request, '/v2/refunds/', 'refunds', [...store.refunds.values()].reverse(), v2Refund)
  })
  app.get<{ Params: { id: string } }>('/v2/refunds/:id/', async (request, reply) => {
    if (!await v2Auth(request, reply)) return reply
    if (!await simulate(request, reply, 'read')) return reply
    const r = await store.findRefund(request.params.id)
    return r ? v2Refund(r) : notFound(reply)
  })

  // v1.1's refunds read as its other objects do: wrapped, {success, refunds} and {success, refund}.
  app.get('/api/1.1/refunds/', async (request, reply) => {
    if (!v1Auth(request, reply)) return reply
    if (!await simulate(request, reply, 'read')) return reply
    const { limit, page: p } = page(request)
    return { success: true, refunds: [...store.refunds.values()].reverse().slice((p - 1) * limit, p * limit).map(v2Refund) }
  })
  app.get<{ Params: { id: string } }>('/api/1.1/refunds/:id/', async (request, reply) => {
    if (!v1Auth(request, reply)) return reply
    if (!await simulate(request, reply, 'read')) return reply
    const r = await store.findRefund(request.params.id)
    return r ? { success: true, refund: v2Refund(r) } : notFound(reply)
  })

  app.get<{ Params: { id: string } }>('/v2/payments/:id/', async (request, reply) => {
    if (!await v2Auth(request, reply)) return reply
    if (!await simulate(request, reply, 'read')) return reply
    const p = await store.findPayment(request.params.id)
    return p ? v2Payment(store, p, baseOf(request)) : notFound(reply)
  })
  app.get<{ Params: { id: string } }>('/api/1.1/payments/:id/', async (request, reply) => {
    if (!v1Auth(request, reply)) return reply
    if (!await simulate(request, reply, 'read')) return reply
    const p = await store.findPayment(request.params.id)
    return p ? { success: true, payment: v1Payment(p) } : notFound(reply)
  })

  // --- gateway orders (v2) ----------------------------------------------------------------------
  // What the official C# SDK (Instamojo/instamojo-csharp: PaymentOrder, Order, CreatePaymentOrderResponse,
  // PaymentOrderListResponse) and Instamojo's sample SDK server (Instamojo/sample-sdk-server:
  // createOrderForPR, model.Order) send and read. Each order is paid through a payment request of
  // this store made for it (allow_repeated_payments false), so its checkout page, payments,
  // webhooks (to its webhook_url, signed as every other), refunds, the clock, scenarios and the
  // database work on it unchanged; its status and payments are read from that request's payments.

  // (unverified) Django's unique-field wording; the C# SDK only reads that transaction_id has an error.
  const DUPLICATE_TRANSACTION_ID = 'Order with this transaction id already exists.'
  // Field errors bare, {"transaction_id": ["…"]}: the official C# SDK's InvalidPaymentOrderException
  // reads the field map at the top level (its IsTransactionIDValid(), IsCurrencyValid(), …), and
  // Instamojo's v2 answers field errors bare as well as wrapped (providers.md: both observed).
  const orderErrors = (errors: Record<string, string[]>) => errors

  /** An order's payment as an order lists it: what the emulator's payment record holds of it. */
  const orderPayment = (p: PaymentRecord) => ({
    id: p.id,
    // (unverified) Instamojo's sample SDK server (its commented-out refund code) compares an order's
    // payment status with "successful"; "failed" for the others is chosen by analogy.
    status: p.status === 'Credit' ? 'successful' : 'failed',
    instrument_type: p.instrument_type,
    billing_instrument: INSTRUMENTS[p.instrument_type],
    failure: p.failure
  })

  /** The order object (the C# SDK's Order and PaymentOrderDetailsResponse), payments included. */
  async function orderView (o: OrderRecord, base: string) {
    const r = await read(o.requestId)
    const payments = r ? (await Promise.all(r.paymentIds.slice(o.firstPayment).map(id => store.findPayment(id)))).filter((p): p is PaymentRecord => !!p) : []
    return {
      id: o.id,
      transaction_id: o.transaction_id,
      // (unverified) "pending" is the C# SDK's default; "completed" once a payment succeeded is a guess
      // (the payment request's own word, lower-cased). A failed payment leaves the order pending.
      status: payments.some(p => p.status === 'Credit') ? 'completed' : 'pending',
      currency: o.currency,
      amount: fromPaise(o.amountPaise),
      name: o.name,
      email: o.email,
      phone: o.phone,
      description: o.description,
      redirect_url: o.redirect_url,
      webhook_url: o.webhook_url,
      created_at: o.created_at,
      resource_uri: `${base}/v2/gateway/orders/id:${o.id}/`, // (unverified) shaped like the read route
      payments: payments.map(orderPayment)
    }
  }

  app.post('/v2/gateway/orders/', async (request, reply) => {
    if (!await v2Auth(request, reply)) return reply
    const result = validateNewOrder(request.body, { json: isJson(request) })
    if (result.errors) return reply.code(400).send(orderErrors(result.errors))
    const input = result.value
    const duplicate = () => reply.code(400).send(orderErrors({ transaction_id: [DUPLICATE_TRANSACTION_ID] }))
    if (await store.findOrderByTransactionId(input.transaction_id)) return duplicate()
    const purpose = input.description ?? `Order ${input.transaction_id}`
    const fate = amountFate(fromPaise(input.amountPaise))
    const facts = factsOf({ amountPaise: input.amountPaise, purpose, buyer_name: input.name, email: input.email, phone: input.phone })
    const ok = await simulate(request, reply, 'write', fate === 'create_fails' ? 'failure' : fate === 'always_succeeds' ? 'success' : undefined, simulator.forRequest(facts))
    if (!ok) return reply
    // Taken by another call on this instance while this one waited.
    if (store.orderTids.has(input.transaction_id)) return duplicate()
    const base = baseOf(request)
    const now = stamp()
    const requestId = newRequestId()
    const slug = newShortSlug(slugLength)
    const order: OrderRecord = {
      id: newRequestId(), // 32 hex, like the C# SDK test's order id 3189cff7c68245bface8915cac1f89df
      transaction_id: input.transaction_id,
      requestId,
      firstPayment: 0,
      currency: input.currency,
      amountPaise: input.amountPaise,
      name: input.name,
      email: input.email,
      phone: input.phone,
      description: input.description,
      redirect_url: input.redirect_url,
      webhook_url: input.webhook_url,
      created_at: now
    }
    store.addRequest({
      id: requestId,
      amountPaise: input.amountPaise,
      purpose,
      buyer_name: input.name,
      email: input.email,
      phone: input.phone,
      send_email: false,
      send_sms: false,
      redirect_url: input.redirect_url,
      webhook: input.webhook_url,
      allow_repeated_payments: false,
      expires_at: null,
      created_at: now,
      modified_at: now,
      completed: false,
      paymentIds: [],
      longurl: `${base}/@${username}/${requestId}`,
      shorturl: `${base}/s/${slug}`,
      settled: true,
      currency: input.currency,
      orderId: order.id
    }, slug)
    store.addOrder(order)
    // (unverified) payment_url: the emulator's checkout page of the order's payment request.
    return reply.code(201).send({ order: await orderView(order, base), payment_options: { payment_url: `${base}/@${username}/${requestId}` } })
  })

  // An order for a payment request made before (the sample SDK server's createOrderForPR: {id}),
  // answered {order_id, name, email, phone, amount} (its model.Order).
  app.post('/v2/gateway/orders/payment-request/', async (request, reply) => {
    if (!await v2Auth(request, reply)) return reply
    const result = validateOrderForRequest(request.body, { json: isJson(request) })
    if (result.errors) return reply.code(400).send(orderErrors(result.errors))
    const input = result.value
    const r = await read(input.id)
    if (!r) return notFound(reply)
    // (unverified) A payment request that takes no payment (paid, expired, disabled) gets no order.
    const closed = closedReason(r)
    if (closed) return reply.code(400).send(fail(closed))
    const fate = amountFate(fromPaise(r.amountPaise))
    const ok = await simulate(request, reply, 'write', fate === 'create_fails' ? 'failure' : fate === 'always_succeeds' ? 'success' : undefined, simulator.forRequest(['order', ...factsOf(r)]))
    if (!ok) return reply
    const order: OrderRecord = {
      id: newRequestId(),
      // (unverified) The caller gave none; Instamojo's own choice for it is not recorded.
      transaction_id: null,
      requestId: r.id,
      // Its payments are those made from now on: the request may have been paid before.
      firstPayment: r.paymentIds.length,
      currency: r.currency ?? 'INR',
      amountPaise: r.amountPaise,
      name: input.name ?? r.buyer_name,
      email: input.email ?? r.email,
      phone: input.phone ?? r.phone,
      description: r.purpose,
      redirect_url: r.redirect_url,
      webhook_url: r.webhook,
      created_at: stamp()
    }
    store.addOrder(order)
    // (unverified) 201 as for every other creation; the sample server reads the body only.
    return reply.code(201).send({ order_id: order.id, name: order.name, email: order.email, phone: order.phone, amount: fromPaise(order.amountPaise) })
  })

  // The C# SDK's getPaymentOrderList: page, limit (default 50, at most 500) and the filters id and
  // transaction_id its README documents (it sends them empty when unset: an empty one is no filter).
  app.get('/v2/gateway/orders/', async (request, reply) => {
    if (!await v2Auth(request, reply)) return reply
    if (!await simulate(request, reply, 'read')) return reply
    const q = request.query as Record<string, string | undefined>
    const all = [...store.orders.values()].reverse().filter(o => (!q.id || o.id === q.id) && (!q.transaction_id || o.transaction_id === q.transaction_id))
    const { limit, page: p } = page(request)
    const base = baseOf(request)
    const link = (n: number) => `${base}/v2/gateway/orders/?limit=${limit}&page=${n}`
    return {
      count: all.length,
      next: p * limit < all.length ? link(p + 1) : null,
      previous: p > 1 ? link(p - 1) : null,
      orders: await Promise.all(all.slice((p - 1) * limit, p * limit).map(o => orderView(o, base)))
    }
  })

  // GET /v2/gateway/orders/id:<order id>/ and /v2/gateway/orders/transaction_id:<transaction id>/
  // (the C# SDK's getPaymentOrderDetails and getPaymentOrderDetailsByTransactionId).
  app.get<{ Params: { ref: string } }>('/v2/gateway/orders/:ref/', async (request, reply) => {
    if (!await v2Auth(request, reply)) return reply
    const m = /^(id|transaction_id):(.+)$/.exec(request.params.ref)
    if (!m) return notFound(reply)
    if (!await simulate(request, reply, 'read')) return reply
    const o = m[1] === 'id' ? await store.findOrder(m[2]!) : await store.findOrderByTransactionId(m[2]!)
    return o ? await orderView(o, baseOf(request)) : notFound(reply)
  })

  // --- completing a payment ---------------------------------------------------------------------
  function closedReason (r: RequestRecord): string | undefined {
    const status = store.statusOf(r)
    if (status === 'Completed' && !r.allow_repeated_payments) return 'This payment request has already been paid.'
    if (status === 'Expired') return 'This payment request has expired.'
    if (r.disabled) return 'This payment request has been disabled.' // (unverified) wording
    return undefined
  }

  /**
   * A payment on the request: decided here, then recorded on the database's copy of the request,
   * which another instance may have paid (or disabled) a moment ago. Then it is answered why the
   * request is closed, and nothing is stored or posted: each payment is taken by one instance,
   * and one instance's payment is never undone by another's copy. Undefined: no such request now.
   */
  async function complete (r: RequestRecord, o: CompleteOptions): Promise<{ payment: PaymentRecord, request: RequestRecord } | { closed: string } | undefined> {
    const fate = amountFate(fromPaise(r.amountPaise))
    // A scripted scenario's story (e.g. fails twice, then succeeds) is above magic amounts and
    // rates; an outcome asked for explicitly still wins.
    const story = o.outcome === undefined || o.page ? simulator.story(r.phone ?? r.email, o.scenario) : undefined
    const storyOutcome = story?.outcome ?? (story?.fate === 'payment_fails' ? 'failure' : story?.fate === 'always_succeeds' ? 'success' : undefined)
    let credit: boolean
    if (storyOutcome) credit = storyOutcome === 'success'
    else if (fate === 'payment_fails') credit = false
    else if (o.outcome) credit = o.outcome === 'success'
    else if (fate === 'always_succeeds') credit = true
    else credit = simulator.forRequest(['payment', ...factsOf(r)]).random() < (o.successRate ?? simulator.settings.successRate)
    const now = stamp()
    const payment: PaymentRecord = {
      id: newPaymentId(),
      requestId: r.id,
      status: credit ? 'Credit' : 'Failed',
      amountPaise: r.amountPaise,
      feesPaise: credit ? feesFor(r.amountPaise) : 0,
      instrument_type: o.instrument ?? 'UPI',
      // (unverified) reason/message wording.
      failure: credit ? null : { reason: 'Declined', message: fate === 'payment_fails' ? 'The bank declined the payment (magic amount ….13).' : 'The payment failed or was cancelled by the buyer.' },
      buyer_name: o.buyer?.buyer_name || r.buyer_name,
      email: o.buyer?.email || r.email,
      phone: o.buyer?.phone || r.phone,
      created_at: now
    }
    const recorded = await store.changeRequest(r.id, stored => {
      if (closedReason(stored)) return false
      stored.paymentIds.push(payment.id)
      if (credit) stored.completed = true
      stored.modified_at = now
      stored.settled = true
      return true
    })
    if (!recorded) return undefined
    if (!recorded.changed) return { closed: closedReason(recorded.request) ?? 'This payment request takes no payment.' }
    store.addPayment(payment)
    postWebhook(recorded.request, payment)
    return { payment, request: recorded.request }
  }

  /** The form-encoded webhook with its MAC, retried by the sender on failure. */
  function postWebhook (r: RequestRecord, p: PaymentRecord): void {
    if (!r.webhook) return
    const fields: PaymentWebhookFields = {
      amount: fromPaise(p.amountPaise),
      buyer: p.email ?? '',
      buyer_name: p.buyer_name ?? '',
      buyer_phone: p.phone ?? '',
      currency: r.currency ?? 'INR',
      fees: fromPaise(p.feesPaise),
      longurl: r.longurl,
      payment_id: p.id,
      payment_request_id: r.id,
      purpose: r.purpose,
      shorturl: r.shorturl,
      status: p.status
    }
    webhookSender.send({ url: r.webhook, body: webhookBody(fields, salt), headers: { ...WEBHOOK_POST_HEADERS }, label: 'instamojo.payment' })
  }

  /** Where the buyer goes next: redirect_url with payment_id, payment_status and payment_request_id. */
  function redirectFor (r: RequestRecord, p: PaymentRecord): string | null {
    if (!r.redirect_url) return null
    const q = new URLSearchParams({ payment_id: p.id, payment_status: p.status, payment_request_id: r.id })
    return `${r.redirect_url}${r.redirect_url.includes('?') ? '&' : '?'}${q.toString()}`
  }

  const instrumentOf = (v: unknown): Instrument | undefined => typeof v === 'string' && v.toUpperCase() in INSTRUMENTS ? v.toUpperCase() as Instrument : undefined

  app.post<{ Params: { id: string } }>('/_switchboard/payment_requests/:id/complete', async (request, reply) => {
    const b = (request.body ?? {}) as Record<string, unknown>
    const outcome = b.outcome === 'success' || b.outcome === 'failure' ? b.outcome : undefined
    if (b.outcome !== undefined && !outcome) return reply.code(400).send(fail({ outcome: ['Must be "success" or "failure".'] }))
    const rate = b.success_rate === undefined || b.success_rate === '' ? undefined : Number(b.success_rate)
    if (rate !== undefined && !(rate >= 0 && rate <= 1)) return reply.code(400).send(fail({ success_rate: ['Must be a number from 0 to 1.'] }))
    if (!await simulate(request, reply, 'read')) return reply
    const r = await read(request.params.id)
    if (!r) return notFound(reply)
    const closed = closedReason(r)
    if (closed) return reply.code(400).send(fail(closed))
    const scenario = readSimulationHeaders(request.headers).scenario
    const done = await complete(r, { outcome, successRate: rate, instrument: instrumentOf(b.instrument_type), scenario })
    if (!done) return notFound(reply)
    if ('closed' in done) return reply.code(400).send(fail(done.closed))
    const base = baseOf(request)
    const { payment, request: paid } = done
    return {
      success: true,
      payment: v2Payment(store, payment, base),
      payment_request: v2Request(store, paid, base, userId),
      redirect_to: redirectFor(paid, payment)
    }
  })

  // The developers page of this fake account: the salt its webhooks are signed with.
  app.get('/_switchboard/developers', async () => ({ username, salt, webhook_signature: 'HMAC-SHA1 over the values sorted by key (case-insensitive), joined by |, lowercase hex, in the form field mac' }))

  // --- the hosted checkout page -----------------------------------------------------------------
  const html = (reply: FastifyReply, code: number, body: string) => reply.code(code).type('text/html; charset=utf-8').send(body)

  app.get<{ Params: { slug: string } }>('/s/:slug', async (request, reply) => {
    const r = await store.findSlug(request.params.slug)
    return r ? reply.redirect(r.longurl, 302) : html(reply, 404, notFoundPage())
  })

  app.get<{ Params: { id: string } }>(`/@${username}/:id`, async (request, reply) => {
    const r = await read(request.params.id)
    if (!r) return html(reply, 404, notFoundPage())
    return html(reply, 200, checkoutPage({ requestId: r.id, purpose: r.purpose, amount: fromPaise(r.amountPaise), buyerName: r.buyer_name, email: r.email, phone: r.phone, action: `${prefix}/@${username}/${r.id}`, closed: closedReason(r) }))
  })

  const closedPage = (r: RequestRecord) => ({ requestId: r.id, purpose: r.purpose, amount: fromPaise(r.amountPaise), buyerName: null, email: null, phone: null, action: '' })
  app.post<{ Params: { id: string } }>(`/@${username}/:id`, async (request, reply) => {
    const r = await read(request.params.id)
    if (!r) return html(reply, 404, notFoundPage())
    const closed = closedReason(r)
    if (closed) return html(reply, 409, checkoutPage({ ...closedPage(r), closed }))
    const b = (request.body ?? {}) as Record<string, unknown>
    const s = (v: unknown) => typeof v === 'string' ? v.trim() : undefined
    // The buyer pressed Pay or Fail: the page's choice decides (a magic ….13 amount still fails).
    await simulator.wait(simulator.latency(), () => clientGone(reply.raw))
    const buyer = { buyer_name: s(b.buyer_name), email: s(b.email), phone: normalisePhone(s(b.phone) ?? '') }
    const done = await complete(r, { page: true, outcome: b.outcome === 'failure' ? 'failure' : 'success', instrument: instrumentOf(b.instrument), buyer })
    if (!done) return html(reply, 404, notFoundPage())
    // Paid (or disabled) through another instance a moment ago: closed, as above.
    if ('closed' in done) return html(reply, 409, checkoutPage({ ...closedPage(r), closed: done.closed }))
    const p = done.payment
    const to = redirectFor(r, p)
    if (to) return reply.redirect(to, 303)
    return html(reply, 200, receiptPage({ purpose: r.purpose, amount: fromPaise(p.amountPaise), paymentId: p.id, status: p.status, failure: p.failure?.message ?? null }))
  })
}
