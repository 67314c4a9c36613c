import type { FastifyReply } from 'fastify'

export { UUID } from '@switchboard/schemas/common'

/**
 * Bolna's error bodies, by evidence (providers.md §4):
 * - 400 / 404 / 5xx: the spec's generic Error, {"error": <status>, "message": "..."};
 * - 403 on a refused key: {"detail": "..."} (live observation, see the auth hook);
 * - 422 on a malformed request: FastAPI's pydantic list, {"detail": [{type, loc, msg, input}]}
 *   (Bolna runs FastAPI, as its auth errors show; the exact items are unverified).
 */
export interface DetailItem { type: string, loc: Array<string | number>, msg: string, input: unknown, ctx?: Record<string, unknown> }

export const detail = (type: string, loc: Array<string | number>, msg: string, input: unknown): DetailItem => ({ type, loc, msg, input: input ?? null })

export const unprocessable = (reply: FastifyReply, items: DetailItem[]) => reply.code(422).send({ detail: items })
export const badRequest = (reply: FastifyReply, message: string) => reply.code(400).send({ error: 400, message })
export const notFound = (reply: FastifyReply, message: string) => reply.code(404).send({ error: 404, message })

const RETRY_STATUSES = ['no-answer', 'busy', 'failed', 'error']
/** The longest retry interval taken: a year. */
export const MAX_RETRY_INTERVAL_MINUTES = 525_600

/**
 * POST /call's retry_config as the spec types it (specs/bolna/openapi.yml): enabled and
 * retry_on_voicemail booleans, max_retries an integer from 1 to 3, retry_on_statuses a list of
 * no-answer|busy|failed|error, retry_intervals_minutes a list of integers. Each problem is
 * pydantic v2's item for it (type, msg and ctx as pydantic words them; that Bolna's model
 * declares the bounds with ge/le, as the spec's minimum/maximum suggest, is unverified).
 */
export function retryConfigProblems (v: unknown): DetailItem[] {
  const at = (...loc: Array<string | number>) => ['body', 'retry_config', ...loc]
  if (typeof v !== 'object' || Array.isArray(v) || v === null) return [detail('model_attributes_type', at(), 'Input should be a valid dictionary or object to extract fields from', v)]
  const c = v as Record<string, unknown>
  const out: DetailItem[] = []
  // pydantic's lax mode: booleans also from 0/1 and "true"/"false"-like strings; integers from integral numbers and digit strings.
  const bool = (x: unknown) => typeof x === 'boolean' || x === 0 || x === 1 || (typeof x === 'string' && /^(true|false|yes|no|on|off|t|f|y|n|1|0)$/i.test(x))
  const int = (x: unknown, loc: Array<string | number>): number | undefined => {
    if (typeof x === 'number' && Number.isInteger(x)) return x
    if (typeof x === 'string' && /^\s*[+-]?\d+\s*$/.test(x)) return Number(x)
    if (typeof x === 'number' && Number.isFinite(x)) out.push(detail('int_from_float', loc, 'Input should be a valid integer, got a number with a fractional part', x))
    else if (typeof x === 'string') out.push(detail('int_parsing', loc, 'Input should be a valid integer, unable to parse string as an integer', x))
    else out.push(detail('int_type', loc, 'Input should be a valid integer', x))
    return undefined
  }
  for (const key of ['enabled', 'retry_on_voicemail']) {
    if (c[key] !== undefined && !bool(c[key])) out.push(detail(typeof c[key] === 'string' ? 'bool_parsing' : 'bool_type', at(key), typeof c[key] === 'string' ? 'Input should be a valid boolean, unable to interpret input' : 'Input should be a valid boolean', c[key]))
  }
  if (c.max_retries !== undefined) {
    const n = int(c.max_retries, at('max_retries'))
    if (n !== undefined && n < 1) out.push({ ...detail('greater_than_equal', at('max_retries'), 'Input should be greater than or equal to 1', c.max_retries), ctx: { ge: 1 } })
    if (n !== undefined && n > 3) out.push({ ...detail('less_than_equal', at('max_retries'), 'Input should be less than or equal to 3', c.max_retries), ctx: { le: 3 } })
  }
  if (c.retry_on_statuses !== undefined) {
    if (!Array.isArray(c.retry_on_statuses)) out.push(detail('list_type', at('retry_on_statuses'), 'Input should be a valid list', c.retry_on_statuses))
    else {
      c.retry_on_statuses.forEach((s, i) => {
        if (!RETRY_STATUSES.includes(s as string)) out.push({ ...detail('enum', at('retry_on_statuses', i), "Input should be 'no-answer', 'busy', 'failed' or 'error'", s), ctx: { expected: "'no-answer', 'busy', 'failed' or 'error'" } })
      })
    }
  }
  if (c.retry_intervals_minutes !== undefined) {
    if (!Array.isArray(c.retry_intervals_minutes)) out.push(detail('list_type', at('retry_intervals_minutes'), 'Input should be a valid list', c.retry_intervals_minutes))
    else {
      c.retry_intervals_minutes.forEach((m, i) => {
        const n = int(m, at('retry_intervals_minutes', i))
        // Bounds of ours (unverified: Bolna's model shows none): a negative wait means nothing, and
        // past a year the retry's scheduled_at leaves the dates a clock can hold.
        if (n !== undefined && n < 0) out.push({ ...detail('greater_than_equal', at('retry_intervals_minutes', i), 'Input should be greater than or equal to 0', m), ctx: { ge: 0 } })
        if (n !== undefined && n > MAX_RETRY_INTERVAL_MINUTES) out.push({ ...detail('less_than_equal', at('retry_intervals_minutes', i), `Input should be less than or equal to ${MAX_RETRY_INTERVAL_MINUTES}`, m), ctx: { le: MAX_RETRY_INTERVAL_MINUTES } })
      })
    }
  }
  return out
}
