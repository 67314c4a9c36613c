import type { FastifyBaseLogger, FastifyRequest, FastifyServerOptions } from 'fastify'
import { pino, type DestinationStream } from 'pino'
import { PinoPretty } from 'pino-pretty'
import { maskUrlSecrets } from '../outbound/url-secrets.ts'

/** Where a credential could sit in a log line; pino replaces it with [Redacted]. */
export const LOG_REDACT = ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers["x-auth-token"]']

/** Fastify's request serializer, with a secret in a webhook URL's path masked (url-secrets.ts). */
const LOG_SERIALIZERS = {
  req: (request: { method: string, url: string, host?: string, ip?: string, socket?: { remotePort?: number } }) =>
    ({ method: request.method, url: maskUrlSecrets(request.url), host: request.host, remoteAddress: request.ip, remotePort: request.socket?.remotePort })
}

export type LogFormat = 'json' | 'pretty'

/** JSON off a terminal (collectors read it) and whenever LOG_FORMAT=json; readable lines at a terminal. */
export function logFormat (env: { LOG_FORMAT?: LogFormat | undefined }, isTTY = process.stdout.isTTY === true): LogFormat {
  return env.LOG_FORMAT ?? (isTTY ? 'pretty' : 'json')
}

/**
 * Readable lines for a person: time, level, server, message, one line per event (the message says
 * what matters); an unexpected error keeps its stack. Written synchronously, so lines of the
 * stack's six servers never interleave mid-line.
 */
export function prettyStream (destination?: NodeJS.WritableStream, colorize = process.stdout.isTTY === true): DestinationStream {
  return PinoPretty({
    sync: true,
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    hideObject: true,
    messageFormat: (log, key) => {
      const stack = (log.err as { stack?: unknown } | undefined)?.stack
      return typeof stack === 'string' ? `${String(log[key] ?? '')}\n${stack}` : String(log[key] ?? '')
    },
    ...(destination ? { destination } : {})
  })
}

// One for every server of the process (the stack runs six).
let sharedPretty: DestinationStream | undefined
const pretty = () => (sharedPretty ??= prettyStream())

/**
 * The logger options (or instance) a server gets: the redaction whatever a caller passes, and for
 * the default logger the level and format from the environment, named after the server.
 */
export function loggerOptions (logger: FastifyServerOptions['logger'], env: { LOG_LEVEL: string, LOG_FORMAT?: LogFormat | undefined }, name: string):
  { logger: FastifyServerOptions['logger'] } | { loggerInstance: FastifyBaseLogger } {
  if (logger === undefined) {
    if (logFormat(env) === 'pretty') return { loggerInstance: pino({ level: env.LOG_LEVEL, redact: LOG_REDACT, serializers: LOG_SERIALIZERS, name }, pretty()) }
    return { logger: { level: env.LOG_LEVEL, redact: LOG_REDACT, serializers: LOG_SERIALIZERS, name } }
  }
  return { logger: typeof logger === 'object' && logger !== null && !('redact' in logger) ? { serializers: LOG_SERIALIZERS, ...logger, redact: LOG_REDACT } : logger }
}

/**
 * A logger for what runs beside the servers rather than in one (the stack's shared activity log),
 * made as the servers' own are: the same level, format and redaction, silent when they are off.
 */
export function processLogger (logger: boolean | object | undefined, env: { LOG_LEVEL: string, LOG_FORMAT?: LogFormat | undefined }, name: string): FastifyBaseLogger {
  if (logger === false) return pino({ level: 'silent' })
  const options = loggerOptions(logger === true ? undefined : logger as FastifyServerOptions['logger'], env, name)
  if ('loggerInstance' in options) return options.loggerInstance
  const given = options.logger
  return pino(typeof given === 'object' && given !== null ? given as pino.LoggerOptions : { level: env.LOG_LEVEL, redact: LOG_REDACT, serializers: LOG_SERIALIZERS, name })
}

/**
 * One line per request when it is answered (Fastify's own two are off): at info for what a person
 * sent, at debug for internal hops (gateway → service → emulator) and polling, which would
 * otherwise bury everything else (thousands of lines in one campaign).
 */
export type RequestLogLevel = 'info' | 'debug' | 'none'

export function logResponse (request: FastifyRequest, statusCode: number, elapsedMs: number, level: RequestLogLevel): void {
  if (level === 'none' || (pino.levels.values[request.log.level] ?? 0) > pino.levels.values[level]!) return
  const url = maskUrlSecrets(request.url)
  request.log[level]({ method: request.method, url, statusCode, ms: Math.round(elapsedMs) }, `${request.method} ${url.split('?')[0]} → ${statusCode} (${Math.round(elapsedMs)} ms)`)
}

export interface ProgressLog {
  /** Counts one more item done; logs when another 10 % is done or 10 s passed since the last line. */
  advance: (n?: number) => void
  /** Logs the end, with how many items were done and how long it took. */
  end: (outcome: string) => void
}

/**
 * Start, progress (every 10 % or 10 s) and end of a long run such as a campaign, at info: what a
 * person watching the terminal wants to know. Campaign runners call this; nothing else about them.
 */
export function progressLog (log: Pick<FastifyBaseLogger, 'info'> | undefined, what: string, fields: Record<string, unknown>, total: number, now: () => number = Date.now): ProgressLog {
  const started = now()
  let done = 0
  let lastAt = started
  let lastTenth = 0
  log?.info({ ...fields, total }, `${what} started: ${total} to go`)
  return {
    advance (n = 1) {
      done += n
      const tenth = total > 0 ? Math.floor((done * 10) / total) : 10
      const t = now()
      if ((tenth > lastTenth && done < total) || t - lastAt >= 10_000) {
        lastTenth = tenth
        lastAt = t
        log?.info({ ...fields, done, total }, `${what}: ${done} of ${total} (${total > 0 ? Math.round((done * 100) / total) : 100} %)`)
      }
    },
    end (outcome) {
      log?.info({ ...fields, done, total, outcome, ms: now() - started }, `${what} ${outcome}: ${done} of ${total} in ${((now() - started) / 1000).toFixed(1)} s`)
    }
  }
}
