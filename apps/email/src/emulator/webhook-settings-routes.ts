import { Type, type TProperties } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { EVENT_FLAGS, MAX_WEBHOOKS, validUrl, type EventWebhook, type SettingsError, type WebhookChanges, type WebhookSettings } from './webhook-settings.ts'

const flagProps = (): TProperties => Object.fromEntries(EVENT_FLAGS.map(f => [f, Type.Optional(Type.Boolean())]))
const nullableString = Type.Optional(Type.Union([Type.String({ maxLength: 2048 }), Type.Null()]))

// tsg_webhooks_v3 EventWebhookRequest: only `url` is required (POST); PATCH takes the same body.
const oauthAndName = { friendly_name: nullableString, oauth_client_id: nullableString, oauth_client_secret: nullableString, oauth_token_url: nullableString }
const CreateBody = Type.Object({ enabled: Type.Optional(Type.Boolean()), url: Type.String({ maxLength: 2048 }), ...flagProps(), ...oauthAndName })
const UpdateBody = Type.Object({ enabled: Type.Optional(Type.Boolean()), url: Type.Optional(Type.String({ maxLength: 2048 })), ...flagProps(), ...oauthAndName })
const LegacyBody = Type.Object({ enabled: Type.Optional(Type.Boolean()), url: Type.Optional(Type.String({ maxLength: 2048 })), ...flagProps() })
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) })
const IncludeQuery = Type.Object({ include: Type.Optional(Type.String({ maxLength: 100 })) })
const SignedBody = Type.Object({ enabled: Type.Boolean() })
// tsg_webhooks_v3 EventWebhookTestRequest: `url` is required (the test post goes there).
const TestBody = Type.Object({ id: Type.Optional(Type.String({ maxLength: 100 })), url: Type.String({ maxLength: 2048 }), ...oauthAndName })

const WebhookView = Type.Object({
  enabled: Type.Boolean(),
  url: Type.String(),
  account_status_change: Type.Optional(Type.Boolean()),
  ...Object.fromEntries(EVENT_FLAGS.map(f => [f, Type.Boolean()])),
  friendly_name: Type.Union([Type.String(), Type.Null()]),
  id: Type.String(),
  oauth_client_id: Type.Union([Type.String(), Type.Null()]),
  oauth_token_url: Type.Union([Type.String(), Type.Null()]),
  public_key: Type.Optional(Type.String()),
  created_date: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  updated_date: Type.Optional(Type.String())
})
const LegacyView = Type.Object({ enabled: Type.Boolean(), url: Type.String(), ...Object.fromEntries(EVENT_FLAGS.map(f => [f, Type.Boolean()])) })
const Errors = Type.Object({ errors: Type.Array(Type.Object({ message: Type.String(), field: Type.Optional(Type.Union([Type.String(), Type.Null()])), id: Type.Optional(Type.String()), url: Type.Optional(Type.String()) })) })
const PublicKey = Type.Object({ id: Type.String(), public_key: Type.String() })

/** tsg_webhooks_v3's 404 for every by-id route. */
const invalidId = () => ({ errors: [{ message: 'Invalid id provided.' }] })

/** tsg_webhooks_v3's 400 examples, word for word ("Bad URL", "Exists", "Max webhooks reached"). */
function settingsError (reply: FastifyReply, error: SettingsError) {
  switch (error.kind) {
    case 'invalid_url': return reply.code(400).send({ errors: [{ message: `'${error.url}' is not a valid url` }] })
    case 'url_taken': return reply.code(400).send({ errors: [{ id: error.id, message: `Webhook at '${error.url}' already exists. Please provide a unique URL.`, url: error.url }] })
    case 'max_reached': return reply.code(400).send({ errors: [{ message: 'You have reached the maximum number of webhooks per your current billing plan.' }] })
  }
}

/**
 * The Event Webhook settings API: the current several-webhooks routes (…/settings/all, POST
 * …/settings, …/settings/{id}, …/settings/signed/{id}) and the legacy single-webhook ones, which
 * operate on the oldest webhook.
 */
export async function webhookSettingsRoutes (app: FastifyInstance, opts: { settings: WebhookSettings, find?: (id: string) => Promise<EventWebhook | undefined>, stored?: () => Promise<void>, postTest: (url: string, hook: EventWebhook | undefined) => void }): Promise<void> {
  const { settings, stored } = opts
  // A change is stored before it is answered: the next call may reach another instance.
  if (stored) app.addHook('onSend', async (request, _reply, payload) => { if (request.method !== 'GET') await stored(); return payload })
  // A webhook by id: held here, or (created through another instance) read from the database.
  const find = opts.find ?? (async (id: string) => settings.get(id))
  const base = '/v3/user/webhooks/event/settings'

  /**
   * A webhook as the spec's responses show it: dates on the list, create and update answers (not
   * on GET by id), the public key only while signing is on, account_status_change only when asked
   * for with `include=account_status_change` (and then false: the emulator sends none).
   */
  const view = (hook: EventWebhook, o: { dates: boolean, publicKey: boolean, include?: string | undefined }) => {
    const out: Record<string, unknown> = { enabled: hook.enabled, url: settings.urlOf(hook) ?? '' }
    if (o.include?.split(',').includes('account_status_change')) out.account_status_change = false
    for (const f of EVENT_FLAGS) out[f] = hook.events[f]
    Object.assign(out, { friendly_name: hook.friendly_name, id: hook.id, oauth_client_id: hook.oauth_client_id, oauth_token_url: hook.oauth_token_url })
    if (o.publicKey && hook.signed) out.public_key = hook.key.publicKeyBase64
    if (o.dates) Object.assign(out, { created_date: hook.created_date, updated_date: hook.updated_date })
    return out
  }
  const legacyView = (hook: EventWebhook | undefined) => {
    const out: Record<string, unknown> = { enabled: hook?.enabled ?? false, url: (hook && settings.urlOf(hook)) ?? '' }
    for (const f of EVENT_FLAGS) out[f] = hook?.events[f] ?? false
    return out
  }

  // ---- several webhooks -----------------------------------------------------------------------

  app.get(`${base}/all`, { schema: { querystring: IncludeQuery, response: { 200: Type.Object({ max_allowed: Type.Number(), webhooks: Type.Array(WebhookView) }) } } }, async (request) => {
    const { include } = request.query as { include?: string }
    return { max_allowed: MAX_WEBHOOKS, webhooks: settings.all().map(h => view(h, { dates: true, publicKey: true, include })) }
  })

  app.post(base, { schema: { body: CreateBody, response: { 201: WebhookView, 400: Errors } } }, async (request, reply) => {
    const result = settings.create(request.body as WebhookChanges & { url: string })
    if ('kind' in result) return settingsError(reply, result)
    return reply.code(201).send(view(result, { dates: true, publicKey: false }))
  })

  app.get(`${base}/:id`, { schema: { params: IdParams, querystring: IncludeQuery, response: { 200: WebhookView, 404: Errors } } }, async (request, reply) => {
    const hook = await find((request.params as { id: string }).id)
    if (!hook) return reply.code(404).send(invalidId())
    return view(hook, { dates: false, publicKey: true, include: (request.query as { include?: string }).include })
  })

  app.patch(`${base}/:id`, { schema: { params: IdParams, querystring: IncludeQuery, body: UpdateBody, response: { 200: WebhookView, 400: Errors, 404: Errors } } }, async (request, reply) => {
    const hook = await find((request.params as { id: string }).id)
    if (!hook) return reply.code(404).send(invalidId())
    const result = await settings.update(hook, request.body as WebhookChanges)
    if ('kind' in result) return settingsError(reply, result)
    return view(result, { dates: true, publicKey: false, include: (request.query as { include?: string }).include })
  })

  app.delete(`${base}/:id`, { schema: { params: IdParams, response: { 204: Type.Null(), 404: Errors } } }, async (request, reply) => {
    const hook = await find((request.params as { id: string }).id)
    if (!hook || !settings.delete(hook.id)) return reply.code(404).send(invalidId())
    return reply.code(204).send()
  })

  app.get(`${base}/signed/:id`, { schema: { params: IdParams, response: { 200: PublicKey, 404: Errors } } }, async (request, reply) => {
    const hook = await find((request.params as { id: string }).id)
    if (!hook) return reply.code(404).send(invalidId())
    return { id: hook.id, public_key: hook.signed ? hook.key.publicKeyBase64 : '' }
  })

  // "returns the public key … if it is enabled or an empty string if signing is disabled"
  app.patch(`${base}/signed/:id`, { schema: { params: IdParams, body: SignedBody, response: { 200: PublicKey, 404: Errors } } }, async (request, reply) => {
    const hook = await find((request.params as { id: string }).id)
    if (!hook) return reply.code(404).send(invalidId())
    const signed = await settings.setSigned(hook, (request.body as { enabled: boolean }).enabled)
    return { id: signed.id, public_key: signed.signed ? signed.key.publicKeyBase64 : '' }
  })

  // ---- the legacy single webhook: the oldest one ----------------------------------------------

  app.get(base, { schema: { response: { 200: LegacyView } } }, async () => legacyView(settings.oldest()))

  app.patch(base, { schema: { body: LegacyBody, response: { 200: LegacyView, 400: Errors } } }, async (request, reply) => {
    const result = await settings.update(settings.ensureLegacy(), request.body as WebhookChanges)
    if ('kind' in result) return settingsError(reply, result)
    return legacyView(result)
  })

  // The public key the service's receiver trusts for mock sends: the oldest webhook's, always
  // given (also while signing is off, so a receiver can be set up before it is switched on).
  // Without an id the answer's id is "", as tsg_webhooks_v3's "No ID" example shows it (which of
  // the webhooks a live account answers for here is (unverified)).
  const NoIdKey = Type.Object({ id: Type.Literal(''), public_key: Type.String() })
  app.get(`${base}/signed`, { schema: { response: { 200: NoIdKey } } }, async () =>
    ({ id: '' as const, public_key: (settings.oldest() ?? settings.ensureLegacy()).key.publicKeyBase64 }))

  app.patch(`${base}/signed`, { schema: { body: SignedBody, response: { 200: NoIdKey } } }, async (request) => {
    const hook = await settings.setSigned(settings.ensureLegacy(), (request.body as { enabled: boolean }).enabled)
    return { id: '' as const, public_key: hook.signed ? hook.key.publicKeyBase64 : '' }
  })

  // POST …/event/test: a fake event to the URL given, signed as the webhook named by `id` is (when
  // it names one). The spec requires the url; an id alone does not say where to post.
  app.post('/v3/user/webhooks/event/test', { schema: { body: TestBody, response: { 204: Type.Null(), 400: Errors, 404: Errors } } }, async (request, reply) => {
    const body = request.body as { id?: string, url: string }
    const hook = body.id ? await find(body.id) : undefined
    if (body.id && !hook) return reply.code(404).send(invalidId())
    if (!validUrl(body.url)) return settingsError(reply, { kind: 'invalid_url', url: body.url })
    opts.postTest(body.url, hook)
    return reply.code(204).send()
  })
}
