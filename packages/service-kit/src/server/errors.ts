import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { randomUUID } from 'node:crypto'
import { maxHeaderSize, STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { ActivityLogFullError, ActivityLogUnavailableError } from '@switchboard/activity-log'
import { PREFIXED_ERRORS, statusOf, type ErrorCode, type PrefixedReason } from './error-codes.ts'

/**
 * An error our API answers on purpose: a status, a stable code (<SERVICE>_<REASON>) and a message
 * that says what happened and what to do. Anything else that reaches the error handler is a bug
 * and is answered as a masked 500.
 */
export class ServiceError extends Error {
  readonly statusCode: number
  readonly code: string
  readonly details: unknown
  readonly headers: Record<string, string>

  constructor (statusCode: number, code: string, message: string, extra: { details?: unknown, headers?: Record<string, string>, cause?: unknown } = {}) {
    super(message, { cause: extra.cause })
    this.name = 'ServiceError'
    this.statusCode = statusCode
    this.code = code
    this.details = extra.details
    this.headers = extra.headers ?? {}
  }
}

type ErrorExtra = ConstructorParameters<typeof ServiceError>[3]

/** A ServiceError with a code of the catalogue (error-codes.ts), which gives its status. */
export function appError (code: ErrorCode, message: string, extra?: ErrorExtra): ServiceError {
  return new ServiceError(statusOf(code), code, message, extra)
}

/** A ServiceError with a shared reason under an app's prefix: `<prefix>_<reason>`, its status from the catalogue. */
export function prefixedError (prefix: string, reason: PrefixedReason, message: string, extra?: ErrorExtra): ServiceError {
  return new ServiceError(PREFIXED_ERRORS[reason].status, `${prefix}_${reason}`, message, extra)
}

/** `<prefix>_<reason>` for a shared reason of the catalogue. */
export function prefixedCode (prefix: string, reason: PrefixedReason): string {
  return `${prefix}_${reason}`
}

/** Answers `code` (status from the catalogue) in the error envelope, for hooks that reply rather than throw. */
export function sendError (reply: FastifyReply, code: ErrorCode, message: string, details?: unknown): FastifyReply {
  const status = statusOf(code)
  return reply.code(status).send(errorBody(status, code, message, reply.request.id, details))
}

/** The provider's real-mode credentials are missing: the one error every service shares. */
export function providerNotConfigured (provider: string, missing: string[]): ServiceError {
  return appError('PROVIDER_NOT_CONFIGURED',
    `${provider} is in live mode but ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set. ` +
    `Set ${missing.length > 1 ? 'them' : 'it'} in the environment, or switch this service back to mock mode.`,
    { details: { missing } })
}

const fastifyClientErrors: Record<string, PrefixedReason> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST'
}

/** 10485760 → "10 MB", 65536 → "64 KB": a body limit as people write it. */
export function sizeText (bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / 1024 / 1024} MB`
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KB`
  return `${bytes} bytes`
}

/**
 * Fastify's words for a refused body say what is wrong but not what to do ("Unsupported Media
 * Type", "Request body is too large"): ours name the content type and the limit the route takes.
 */
function clientErrorMessage (fe: FastifyError, request: FastifyRequest): string {
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const type = request.headers['content-type']
    return `${type ? `A body of type ${JSON.stringify(type)}` : 'A body without a Content-Type'} is not taken here: this route takes JSON, send Content-Type: application/json.`
  }
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return `The body is larger than this route takes (at most ${sizeText(request.routeOptions.bodyLimit)}). Send a smaller one: a bulk send can be split into several.`
  }
  if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return 'The request says Content-Type: application/json but has no body. Send a JSON body ({} when the route needs nothing), or leave the header out.'
  }
  return fe.message
}

/** What Ajv reports of one failed check (Fastify's `error.validation` items). */
interface ValidationIssue {
  keyword: string
  instancePath: string
  schemaPath: string
  params: Record<string, unknown>
  message?: string
}

/**
 * The values a union of literals (or an enum) allows, null included, or undefined when the schema
 * is anything else: `Type.Union([Type.Literal('a'), Type.Literal('b')])`, `Nullable` of one.
 */
function allowedValues (schema: unknown): unknown[] | undefined {
  if (schema === null || typeof schema !== 'object') return undefined
  const s = schema as { const?: unknown, enum?: unknown, type?: unknown, anyOf?: unknown, oneOf?: unknown }
  if ('const' in s) return [s.const]
  if (Array.isArray(s.enum)) return s.enum
  const branches = s.anyOf ?? s.oneOf
  if (Array.isArray(branches)) {
    const values: unknown[] = []
    for (const branch of branches) {
      const v = (branch as { type?: unknown })?.type === 'null' ? [null] : allowedValues(branch)
      if (v === undefined) return undefined
      values.push(...v)
    }
    return values
  }
  return undefined
}

/** The schema `pointer` (Ajv's schemaPath, "#/properties/status") names inside `root`, when it can be followed. */
function schemaAt (root: unknown, pointer: string): unknown {
  let node = root
  for (const part of pointer.replace(/^#\/?/, '').split('/').filter(Boolean)) {
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Record<string, unknown>)[decodeURIComponent(part).replaceAll('~1', '/').replaceAll('~0', '~')]
  }
  return node
}

const valueText = (v: unknown) => typeof v === 'string' ? v : JSON.stringify(v)

/**
 * Ajv's failed checks as the answer's details: each names its field (`body/to_email`) and says what
 * is wrong, and `text` is the message's part for it. Two rewrites of Ajv's words:
 * - an unknown field ("body must NOT have additional properties") gets the field's name added;
 * - a union of literals reports every branch ("must be equal to constant" once per value, then
 *   "must match a schema in anyOf": 27 entries for an event type) where one entry with the allowed
 *   values says it: "body/types/0 must be one of: email.delivered, …".
 */
function validationFields (issues: ValidationIssue[], context: string, schema: unknown): Array<{ field: string, message: string, text: string }> {
  const dropped = new Set<ValidationIssue>()
  const oneOf = new Map<ValidationIssue, unknown[]>()
  for (const issue of issues) {
    if (dropped.has(issue)) continue
    let values: unknown[] | undefined
    if (issue.keyword === 'enum' && Array.isArray(issue.params.allowedValues)) values = issue.params.allowedValues
    else if (issue.keyword === 'anyOf' || issue.keyword === 'oneOf') values = allowedValues(schemaAt(schema, issue.schemaPath.replace(/\/(anyOf|oneOf)$/, '')))
    if (values === undefined) continue
    oneOf.set(issue, values)
    // Its branches' own failures ("must be equal to constant") are said by the one message.
    for (const other of issues) if (other.schemaPath.startsWith(`${issue.schemaPath}/`)) dropped.add(other)
  }
  return issues.filter(issue => !dropped.has(issue)).map(issue => {
    const field = `${context}${issue.instancePath}`
    const values = oneOf.get(issue)
    if (values !== undefined) {
      const message = `must be one of: ${values.map(valueText).join(', ')}`
      return { field, message, text: `${field} ${message}` }
    }
    // A pattern says in words what it takes when its schema has a title: "must match pattern
    // "^[\x21-\x7E]+$"" is no help to a person.
    if (issue.keyword === 'pattern') {
      const title = (schemaAt(schema, issue.schemaPath.replace(/\/pattern$/, '')) as { title?: unknown } | undefined)?.title
      if (typeof title === 'string') {
        const message = `must be ${title}`
        return { field, message, text: `${field} ${message}` }
      }
    }
    const extra = issue.keyword === 'additionalProperties' ? issue.params.additionalProperty : undefined
    if (typeof extra === 'string') {
      const message = `must NOT have additional properties: '${extra}' is not a known field`
      return { field: `${field}/${extra}`, message, text: `${field} ${message}` }
    }
    return { field, message: issue.message ?? 'is invalid', text: `${field} ${issue.message ?? 'is invalid'}` }
  })
}

export interface ErrorBody {
  statusCode: number
  code: string
  error: string
  message: string
  requestId: string
  details?: unknown
}

export function errorBody (statusCode: number, code: string, message: string, requestId: string, details?: unknown): ErrorBody {
  const body: ErrorBody = { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message, requestId }
  if (details !== undefined) body.details = details
  return body
}

/**
 * The activity log refused a write (its queue is full) or could not make it durable: the request
 * is answered 503 with Retry-After, never 2xx, so a client retries instead of trusting an answer
 * whose record could be lost. The one place this mapping lives.
 */
export function storageRefusal (error: unknown, prefix: string): ServiceError | undefined {
  if (error instanceof ActivityLogFullError) {
    return prefixedError(prefix, 'WRITE_QUEUE_FULL', error.message, { headers: { 'retry-after': String(error.retryAfterSeconds) }, details: { pending: error.pending }, cause: error })
  }
  if (error instanceof ActivityLogUnavailableError) {
    return prefixedError(prefix, 'STORAGE_UNAVAILABLE', error.message, { headers: { 'retry-after': String(error.retryAfterSeconds) }, cause: error })
  }
  return undefined
}

/** Socket and PostgreSQL (SQLSTATE) codes that mean "the database cannot be reached right now". */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', '57P01', '57P02', '57P03', '53300'])
// What node-postgres and supabase-js (fetch) say when they lose or cannot open a connection.
const UNREACHABLE_TEXT = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused|fetch failed|ECONNREFUSED|ECONNRESET|socket hang up/i

/**
 * Why `err` says the database is unreachable (a code or a phrase), or undefined when it is some
 * other failure. Follows causes and AggregateErrors, as node-postgres, PGlite's worker and
 * supabase-js each wrap the socket error differently. SQLSTATE class 08 is "connection exception".
 */
export function databaseUnreachable (err: unknown): string | undefined {
  const queue: unknown[] = [err]
  for (let seen = 0; queue.length && seen < 12; seen++) {
    const e = queue.shift() as { code?: unknown, message?: unknown, details?: unknown, cause?: unknown, errors?: unknown } | null | undefined
    if (!e || typeof e !== 'object') continue
    const code = typeof e.code === 'string' ? e.code : ''
    if (UNREACHABLE_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return code
    const text = `${typeof e.message === 'string' ? e.message : ''} ${typeof e.details === 'string' ? e.details : ''}`
    const phrase = UNREACHABLE_TEXT.exec(text)
    if (phrase) return phrase[0]
    if (e.cause) queue.push(e.cause)
    if (Array.isArray(e.errors)) queue.push(...e.errors)
  }
  return undefined
}

/** Seconds a caller is asked to wait while the database is away. */
const DATABASE_RETRY_AFTER_S = 5

/** One error handler for every app: `prefix` is the service's code prefix, e.g. EMAIL. */
export function createErrorHandler (prefix: string) {
  return function errorHandler (error: FastifyError | ServiceError, request: FastifyRequest, reply: FastifyReply) {
    const refusal = storageRefusal(error, prefix)
    if (refusal) error = refusal
    if (error instanceof ServiceError) {
      // An answer we chose (a provider down, a simulated failure): one line, no stack trace; the
      // cause's own words when there is one.
      if (error.statusCode >= 500) {
        const cause = error.cause instanceof Error ? error.cause.message : undefined
        request.log.warn({ code: error.code, statusCode: error.statusCode, ...(cause ? { cause } : {}) }, `${error.code}: ${error.message}`)
      }
      return reply.code(error.statusCode).headers(error.headers)
        .send(errorBody(error.statusCode, error.code, error.message, request.id, error.details))
    }
    const fe = error as FastifyError
    if (fe.validation) {
      const context = fe.validationContext ?? 'body'
      const schema = (request.routeOptions.schema as Record<string, unknown> | undefined)?.[context]
      const fields = validationFields(fe.validation as ValidationIssue[], context, schema)
      const message = fields.map(f => f.text).join(', ')
      return reply.code(400).send(errorBody(400, prefixedCode(prefix, 'INVALID_REQUEST'), message, request.id, fields.map(({ field, message }) => ({ field, message }))))
    }
    const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500
    if (status < 500) {
      const reason: PrefixedReason = (fe.code ? fastifyClientErrors[fe.code] : undefined) ?? (status === 429 ? 'RATE_LIMITED' : 'BAD_REQUEST')
      return reply.code(status).send(errorBody(status, prefixedCode(prefix, reason), clientErrorMessage(fe, request), request.id))
    }
    const unreachable = databaseUnreachable(error)
    if (unreachable !== undefined) {
      // A read while the database is away: say so, and when to retry, rather than a bare 500.
      request.log.warn({ err: error }, 'database unreachable')
      return reply.code(503).header('retry-after', String(DATABASE_RETRY_AFTER_S)).send(errorBody(503, prefixedCode(prefix, 'DATABASE_UNAVAILABLE'),
        `The database is unreachable (${unreachable}), so this cannot be read right now. Accepted writes are kept and stored once it is back. Retry in ${DATABASE_RETRY_AFTER_S} s.`, request.id))
    }
    request.log.error({ err: error }, 'unhandled error')
    return reply.code(500).send(errorBody(500, prefixedCode(prefix, 'INTERNAL_ERROR'),
      `Something went wrong on our side. The logs have the details under request id ${request.id}.`, request.id))
  }
}

/**
 * Fastify's framework errors, answered before any route runs (a URL that does not decode, a path
 * parameter longer than maxParamLength): our envelope too, not Fastify's own.
 */
export function createFrameworkErrorHandler (prefix: string) {
  return function frameworkErrors (error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400
    return reply.code(status).header('x-request-id', request.id)
      .send(errorBody(status, prefixedCode(prefix, status === 414 ? 'URI_TOO_LONG' : 'BAD_REQUEST'), error.message, request.id))
  }
}

/** What Node's HTTP parser reports with a `clientError`: llhttp's code (HPE_…) and its reason. */
type ClientError = Error & { code?: string, reason?: string }

/**
 * Node's answers to what its HTTP parser refuses before Fastify sees a request (Fastify's
 * `clientErrorHandler`): a Content-Length that is not a number, two different ones, one beside
 * chunked encoding, a bad chunk size, a body longer than its Content-Length (its rest read as the
 * next request), headers too large, a request not received in time. Fastify's own answer there is
 * `{"error":"Bad Request","message":"Client Error","statusCode":400}`, without a code or request
 * id: these carry our envelope like every other error. The connection is closed after it, as Node
 * and Fastify do, since the rest of its bytes cannot be trusted to frame a request.
 */
export function createClientErrorHandler (prefix: string) {
  return function clientErrorHandler (this: { log: FastifyBaseLogger }, err: ClientError, socket: Duplex): void {
    // A connection reset: nobody is left to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const [status, reason, message]: [number, PrefixedReason, string] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'REQUEST_TIMEOUT', 'The request was not received in full in time. Send it again, whole.']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'HEADERS_TOO_LARGE', `The request's headers are larger than this server takes (${sizeText(maxHeaderSize)}). Send fewer or shorter headers.`]
        : [400, 'BAD_REQUEST', `The request is not well-formed HTTP (${err.reason ?? err.code ?? err.message}). Check its Content-Length and Transfer-Encoding: one valid length, or chunked encoding alone, and a body that matches it.`]
    const requestId = randomUUID()
    this.log.debug({ err, requestId }, `client error: ${message}`)
    // Not into the middle of an answer already going out on this connection (a keep-alive
    // request's), as Node's own handler does not: it would corrupt that answer.
    const answering = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage?.headersSent === true
    if (socket.writable && !answering) {
      const body = JSON.stringify(errorBody(status, prefixedCode(prefix, reason), message, requestId))
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`)
    }
    socket.destroy(err)
  }
}

/**
 * Type coercion turns the strings "Infinity" and "1e999" into Infinity, and Ajv then skips
 * minimum/maximum for a non-finite number: `?limit=1e999` would reach a handler as Infinity.
 * No valid input is ever a non-finite number, so any left after validation is refused here.
 * Returns the path of the first one found.
 */
export function findNonFiniteNumber (value: unknown, path: string): string | undefined {
  const stack: Array<[unknown, string]> = [[value, path]]
  while (stack.length) {
    const [v, p] = stack.pop()!
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return p
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (typeof v[i] === 'object' || typeof v[i] === 'number') stack.push([v[i], `${p}/${i}`])
    } else if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) {
      for (const k in v) {
        const x = (v as Record<string, unknown>)[k]
        if (typeof x === 'object' || typeof x === 'number') stack.push([x, `${p}/${k}`])
      }
    }
  }
  return undefined
}

/** How deep a JSON body or query may nest: far beyond any real request, far short of a stack overflow. */
export const MAX_JSON_DEPTH = 64

/**
 * The path of the first value nested deeper than `max` levels, shortened to the field it is under
 * ("body/template_data/data/…"), or undefined. Iterative, so a 5,000-level body cannot overflow it;
 * checked before schema validation, so neither the validator nor the JSON encoder ever walks one.
 */
export function findTooDeep (value: unknown, path: string, max = MAX_JSON_DEPTH): string | undefined {
  const stack: Array<[unknown, number, string]> = [[value, 0, path]]
  while (stack.length) {
    const [v, depth, p] = stack.pop()!
    if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) continue
    if (depth >= max) return p.split('/').slice(0, 4).join('/') + '/…'
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (typeof v[i] === 'object') stack.push([v[i], depth + 1, `${p}/${i}`])
    } else {
      for (const k in v) {
        const x = (v as Record<string, unknown>)[k]
        if (typeof x === 'object') stack.push([x, depth + 1, `${p}/${k}`])
      }
    }
  }
  return undefined
}

export function createNotFoundHandler (prefix: string, hint?: (path: string) => string | undefined) {
  return function notFound (request: FastifyRequest, reply: FastifyReply) {
    const path = request.url.split('?')[0]!
    return reply.code(404).send(errorBody(404, prefixedCode(prefix, 'ROUTE_NOT_FOUND'),
      `No route ${request.method} ${path}. ${hint?.(path) ?? 'The OpenAPI document lists the routes.'}`, request.id))
  }
}
