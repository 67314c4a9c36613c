import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { request as httpRequest } from 'undici'
import { ClockAdvanceSchema, ClockReplySchema, ClockSetSchema, type ClockReply } from '@switchboard/schemas/clock'
import { errorResponses } from '@switchboard/schemas/common'
import { clockMode, REAL_TIME, type ClockState } from '@switchboard/service-kit/clock'
import { appError } from '@switchboard/service-kit/errors'
import type { RuntimeSettings } from '@switchboard/service-kit/runtime-settings'
import type { ServiceName } from '@switchboard/service-kit/services'

export interface AdminClockOptions {
  services: ServiceName[]
  runtime: RuntimeSettings
}

const tags = ['admin']
const security = [{ adminToken: [] }]
const who = (request: FastifyRequest) => `admin@${request.ip}`

/**
 * The instants the clock may stand at: years 0001 to 9999, what PostgreSQL reads back from the
 * ISO strings rows are stamped with. At 0000-06-01 (or past 9999 after an advance) every new row
 * was stamped with a time the database refused, and a send answered 202 lost its row.
 */
const EARLIEST = Date.parse('0001-01-01T00:00:00Z')
const LATEST = Date.parse('9999-12-31T23:59:59.999Z')
function inRange (target: number, field: string): number {
  if (target < EARLIEST || target > LATEST) {
    throw appError('ADMIN_INVALID_REQUEST', `${field}: the clock goes from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z; ${new Date(target).toISOString()} is outside.`, { details: [{ field, message: 'must be an instant from year 0001 to 9999' }] })
  }
  return target
}

/**
 * The test clock (Stripe's test clocks are the model): freeze the emulators' time, advance it, and
 * resume or go back to real time. The state is a setting in the database, so every instance of
 * every service agrees; after storing it the gateway asks each service to apply it at once, so a
 * scheduled meeting, send or call due within the advance fires before the answer comes back.
 */
export const adminClockRoutes: FastifyPluginAsyncTypebox<AdminClockOptions> = async (app, { services, runtime }) => {
  async function fanOut (method: 'GET' | 'POST'): Promise<Record<string, string>> {
    const out: Record<string, string> = {}
    await Promise.all(services.map(async (name) => {
      try {
        const res = await httpRequest(`${app.upstreams[name]}/admin/clock${method === 'POST' ? '/sync' : ''}`, { method, headers: app.upstreamHeaders, headersTimeout: 3000, bodyTimeout: 3000 })
        if (res.statusCode !== 200) { await res.body.dump(); out[name] = `failed (HTTP ${res.statusCode})`; return }
        const body = await res.body.json() as { mode: string, now: string }
        out[name] = method === 'POST' ? `applied (${body.mode}, now ${body.now})` : `${body.mode}, now ${body.now}`
      } catch (err) {
        out[name] = `unreachable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`
      }
    }))
    return out
  }

  const view = (state: ClockState, servicesOut: Record<string, string>): ClockReply => ({
    mode: clockMode(state),
    now: new Date(state.frozen_at ?? Date.now() + state.offset_ms).toISOString(),
    frozen_at: state.frozen_at === null ? null : new Date(state.frozen_at).toISOString(),
    offset_ms: Math.round(state.offset_ms),
    services: servicesOut
  })

  async function change (request: FastifyRequest, next: (current: ClockState, now: number) => ClockState): Promise<ClockReply> {
    await runtime.refresh()
    const current = runtime.clock.state
    const state = next(current, runtime.clock.now())
    if (state.frozen_at !== current.frozen_at || state.offset_ms !== current.offset_ms) await runtime.setClock(state, who(request))
    return view(runtime.clock.state, await fanOut('POST'))
  }

  app.get('/api/admin/clock', {
    schema: { tags, security, summary: 'The emulators\' clock: real, frozen or shifted, and what each service reads as now', response: { 200: ClockReplySchema, ...errorResponses } }
  }, async () => {
    await runtime.refresh()
    return view(runtime.clock.state, await fanOut('GET'))
  })

  app.post('/api/admin/clock/freeze', {
    schema: { tags, security, summary: 'Freeze the emulators\' clock at its current time: nothing scheduled falls due until it is advanced', response: { 200: ClockReplySchema, ...errorResponses } }
  }, async (request) => change(request, (cur, now) => cur.frozen_at !== null ? cur : { frozen_at: now, offset_ms: 0 }))

  app.post('/api/admin/clock/advance', {
    schema: { tags, security, summary: 'Move the emulators\' clock forward by seconds or to an instant; everything scheduled in between falls due, in order', body: ClockAdvanceSchema, response: { 200: ClockReplySchema, ...errorResponses } }
  }, async (request) => {
    const { seconds, to } = request.body
    if ((seconds === undefined) === (to === undefined)) throw appError('ADMIN_INVALID_REQUEST', 'body: give exactly one of seconds (how far) or to (an instant).')
    return change(request, (cur, now) => {
      const target = to === undefined ? now + Math.round(seconds! * 1000) : Date.parse(to)
      if (Number.isNaN(target)) throw appError('ADMIN_INVALID_REQUEST', 'body/to: not a date-time.')
      inRange(target, to === undefined ? 'body/seconds' : 'body/to')
      if (target < now) throw appError('ADMIN_INVALID_REQUEST', `body/to: ${to} is before the clock's now (${new Date(now).toISOString()}); an advance only moves the clock forward: set it to any instant, the past too, with POST /api/admin/clock/set (POST /api/admin/clock/real goes back to real time).`)
      const by = target - now
      return cur.frozen_at !== null ? { frozen_at: cur.frozen_at + by, offset_ms: 0 } : { frozen_at: null, offset_ms: cur.offset_ms + by }
    })
  })

  // Unlike Stripe's test clocks, this one may go back: a data set's history is loaded on a clock set
  // a few days back and moved forward through them (packages/datasets). Nothing fires on the way
  // back; what was scheduled stays due at its own instant.
  app.post('/api/admin/clock/set', {
    schema: { tags, security, summary: 'Freeze the emulators\' clock at any instant, its past too (loading a history over past days); new rows are stamped on it', body: ClockSetSchema, response: { 200: ClockReplySchema, ...errorResponses } }
  }, async (request) => {
    const target = Date.parse(request.body.to)
    if (Number.isNaN(target)) throw appError('ADMIN_INVALID_REQUEST', 'body/to: not a date-time.')
    inRange(target, 'body/to')
    return change(request, () => ({ frozen_at: target, offset_ms: 0 }))
  })

  app.post('/api/admin/clock/resume', {
    schema: { tags, security, summary: 'Let a frozen clock run again at real speed from where it stands', response: { 200: ClockReplySchema, ...errorResponses } }
  }, async (request) => change(request, (cur) => cur.frozen_at === null ? cur : { frozen_at: null, offset_ms: cur.frozen_at - Date.now() }))

  app.post('/api/admin/clock/real', {
    schema: { tags, security, summary: 'Back to real time (the default): what was scheduled falls due at its real time', response: { 200: ClockReplySchema, ...errorResponses } }
  }, async (request) => change(request, () => ({ ...REAL_TIME })))
}
