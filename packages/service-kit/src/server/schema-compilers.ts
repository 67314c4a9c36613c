import { createRequire } from 'node:module'

/**
 * Fastify's validator and serializer compilers, made lazy: a route's schema is compiled by its first
 * request instead of at start. Compiling every route's Ajv validator and fast-json-stringify
 * serializer was 1.3 s of the stack's 3.2 s of main-thread CPU from process start to ready (six
 * servers, a few hundred routes, most of which a given test or demo never calls). A schema that
 * cannot compile still fails: at its route's first request, and in the test that compiles every
 * route of the stack (`compileAllSchemas`).
 */

type ValidateFunction = ((data: unknown) => unknown) & { errors?: unknown }
type Serialize = (data: unknown) => string
interface RouteSchema { method?: string, url?: string, httpPart?: string, httpStatus?: string }
interface AjvLike { addFormat: (name: string, format: unknown) => unknown }
type ValidatorFactory = (externalSchemas: unknown, options: { customOptions: Record<string, unknown>, onCreate?: (ajv: AjvLike) => void }) => (route: RouteSchema) => ValidateFunction
type SerializerFactory = (externalSchemas: unknown, options: unknown) => (route: RouteSchema) => Serialize

// The compilers Fastify itself ships, resolved through Fastify so the versions match.
const requireFromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'))
const ajvCompiler = requireFromFastify('@fastify/ajv-compiler') as () => ValidatorFactory
// ajv-formats, as the Ajv compiler above loads it.
const requireFromCompiler = createRequire(requireFromFastify.resolve('@fastify/ajv-compiler'))
const ajvDateTime = (requireFromCompiler('ajv-formats/dist/formats') as { fullFormats: Record<string, { validate: (s: string) => boolean, compare: (a: string, b: string) => number | undefined }> }).fullFormats['date-time']!

/**
 * `date-time` as RFC 3339 and PostgreSQL both read it: Ajv's check, and besides a year from 0001,
 * `T` (or a space) between date and time, and an offset within ±15:59. Ajv alone took year 0000, any
 * whitespace as the separator (a no-break space) and offsets to ±23:59, which PostgreSQL refuses:
 * `?since=0000-01-01T00:00:00Z` on the admin API was a 500, not a 400 naming the field.
 */
const POSTGRES_DATE_TIME = /^(?!0000)\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-](?:0\d|1[0-5])(?::?\d\d)?)$/
export const DATE_TIME_FORMAT = {
  type: 'string' as const,
  validate: (s: string) => POSTGRES_DATE_TIME.test(s) && ajvDateTime.validate(s),
  compare: ajvDateTime.compare
}
const serializerSelector = requireFromFastify('@fastify/fast-json-stringify-compiler') as () => SerializerFactory

/**
 * Query strings, params and headers are text: their numbers and booleans need coercing, and one
 * `?tag=a` may stand for an array ('array' coercion). A JSON body has real types (README: "Bodies
 * are JSON with real types"), so our own APIs, the gateway's and each service's, coerce none of it:
 * `{"enabled": null}`, `"false"` or `0` must be refused with the field named, not read as a switch
 * turned off, and `{"duration": "30"}` or `{"subject": 123}` is a client's bug to show, not to guess
 * at. (Array coercion in a body was unsafe besides: inside anyOf, Ajv let
 * `{"contacts": [[{"to_number": …}]]}` through unchanged, an array where a contact belongs.)
 *
 * The provider emulators (`emulatorPrefix`) keep the scalar coercion they always had: their
 * providers' APIs take form-encoded bodies, all text, and answer as those providers do.
 */
export interface SchemaCompilerOptions {
  /** Where a service mounts its provider emulator ('/sendgrid'): its bodies are coerced. */
  emulatorPrefix?: string
}

const coercionFor = (route: RouteSchema, opts: SchemaCompilerOptions): 'array' | boolean =>
  route.httpPart !== 'body' ? 'array' : isUnder(route.url, opts.emulatorPrefix)

const isUnder = (url: string | undefined, prefix: string | undefined) =>
  url !== undefined && prefix !== undefined && (url === prefix || url.startsWith(`${prefix}/`))

export interface LazySchemaCompilers {
  buildValidator: ValidatorFactory
  buildSerializer: SerializerFactory
  /**
   * Compiles every schema not compiled yet and returns how many; when some cannot compile, throws
   * an AggregateError naming each one's route (after compiling all the others).
   */
  compileAll: () => number
}

/** One server's compilers (pass both to Fastify's `schemaController.compilersFactory`). */
export function lazySchemaCompilers (opts: SchemaCompilerOptions = {}): LazySchemaCompilers {
  const pending = new Map<() => unknown, string>()
  const later = <F extends (data: unknown) => unknown>(what: string, compile: () => F, call: (compiled: F, data: unknown) => unknown): (data: unknown) => unknown => {
    let compiled: F | undefined
    const ensure = () => { if (compiled === undefined) { compiled = compile(); pending.delete(ensure) } return compiled }
    pending.set(ensure, what)
    return (data) => call(ensure(), data)
  }

  const buildValidator: ValidatorFactory = (externalSchemas, options) => {
    // One Ajv per kind of coercion, created when a route of that kind is first compiled.
    const factories = new Map<string, ReturnType<ValidatorFactory>>()
    const factoryFor = (coerceTypes: 'array' | boolean) => {
      const key = String(coerceTypes)
      let factory = factories.get(key)
      if (!factory) {
        factories.set(key, factory = ajvCompiler()(externalSchemas, {
          ...options,
          customOptions: { ...options.customOptions, coerceTypes },
          // After ajv-formats: its date-time replaced by one PostgreSQL reads too.
          onCreate: ajv => { options.onCreate?.(ajv); ajv.addFormat('date-time', DATE_TIME_FORMAT) }
        }))
      }
      return factory
    }
    return (route) => {
      // Fastify reads a failed validation's errors off the function it was given.
      const validate: ValidateFunction = later(`${route.method} ${route.url} ${route.httpPart}`, () => factoryFor(coercionFor(route, opts))(route), (compiled, data) => {
        const valid = compiled(data)
        validate.errors = compiled.errors
        return valid
      })
      return validate
    }
  }

  const buildSerializer: SerializerFactory = (externalSchemas, options) => {
    const factory = serializerSelector()(externalSchemas, options)
    return (route) => later(`${route.method} ${route.url} response ${route.httpStatus}`, () => factory(route), (serialize, data) => serialize(data)) as Serialize
  }

  return {
    buildValidator,
    buildSerializer,
    compileAll: () => {
      const failures: Error[] = []
      let compiled = 0
      for (const [compile, what] of [...pending]) {
        try {
          compile()
          compiled++
        } catch (err) {
          failures.push(new Error(`${what}: ${(err as Error).message}`, { cause: err }))
        }
      }
      if (failures.length) throw new AggregateError(failures, `${failures.length} route schema(s) do not compile: ${failures.map(f => f.message).join('; ')}`)
      return compiled
    }
  }
}
