/**
 * An emulator's answers checked against its provider's own published OpenAPI document (the files
 * in ../shared/reference/specs beside the repository, see its README): the status must be one the
 * operation lists and the body must match the schema the document gives for that status, $refs
 * and all. OpenAPI 3.1 documents are JSON Schema 2020-12; Swagger 2.0 (Zoom's stale 2018 file) is
 * read as draft-07 and only its types are checked (it marks nothing required).
 *
 * Where providers.md (live-verified notes) says the provider answers otherwise than its document,
 * a test states it as an override with its reason: a status the document does not list (or lists
 * without a body) and the body it has, or a patch to one of the document's schemas. A patch that
 * no longer finds its place in the document fails loudly, so an updated spec gets a fresh look.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import { parse as parseYaml } from 'yaml'

export type SpecDocument = Record<string, any>

/** The repository's root: the nearest folder above this file with pnpm-workspace.yaml. */
function repoRoot (): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir
    if (dirname(dir) === dir) throw new Error(`no pnpm-workspace.yaml above ${import.meta.dirname}`)
  }
}

/** Where the providers' specs are: ../shared/reference/specs from the repository's root. */
export const SPECS_DIR = resolve(repoRoot(), '..', 'shared', 'reference', 'specs')

/**
 * A provider's document, e.g. loadSpec('sendgrid/tsg_mail_v3.json') (YAML when it ends .yml or
 * .yaml). A missing file is an error naming where it was looked for: the check must not pass by
 * checking nothing.
 */
export function loadSpec (relativePath: string): SpecDocument {
  const path = join(SPECS_DIR, relativePath)
  if (!existsSync(path)) {
    throw new Error(`The provider spec ${relativePath} is missing: expected at ${path} (../shared/reference/specs beside the repository, ` +
      'as CI checks it out). The spec-conformance tests cannot run without it.')
  }
  const text = readFileSync(path, 'utf8')
  return /\.ya?ml$/.test(path) ? parseYaml(text) : JSON.parse(text)
}

/** What an emulator answered: the shape JsonReply has. */
export interface SpecReply {
  status: number
  headers?: Record<string, unknown>
  /** The body parsed as JSON when it is JSON, else its text; undefined when empty. */
  body: unknown
  text?: string
}

/** A status an operation may answer beyond its document's list, or whose body the document leaves undescribed. */
export interface StatusOverride {
  status: number
  /** 'METHOD /path/template' of the operations it holds for; every operation when absent. */
  operations?: string[]
  /** The body's JSON schema ('#/…' refs point into the document); absent: no body. */
  schema?: object
  /** Where the reference says so (providers.md §…). */
  reason: string
}

/** Keys set on one of the document's schemas, e.g. a field the reference shows null. */
export interface SchemaPatch {
  /** A JSON pointer into the document: '#/components/schemas/Error/properties/help'. */
  at: string
  /** Each key set to its value there; a key set to undefined is removed. */
  set: Record<string, unknown>
  reason: string
}

export interface ConformanceOptions {
  statuses?: StatusOverride[]
  patches?: SchemaPatch[]
}

const DOC_ID = 'https://switchboard.local/provider-spec.json'
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options']

const escape = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1')
const unescape = (s: string) => s.replace(/~1/g, '/').replace(/~0/g, '~')

function nodeAt (doc: SpecDocument, pointer: string): any {
  if (!pointer.startsWith('#/')) throw new Error(`not a local JSON pointer: ${pointer}`)
  let node: any = doc
  for (const part of pointer.slice(2).split('/')) {
    node = node?.[unescape(part)]
    if (node === undefined) return undefined
  }
  return node
}

/**
 * OpenAPI 3.0's `nullable: true`, which generated 3.1 documents (SendGrid's, Bolna's) still carry,
 * read as its authors meant it: null is allowed too. JSON Schema 2020-12 alone would ignore the
 * keyword and refuse null.
 */
function allowNullables (node: unknown): void {
  if (node === null || typeof node !== 'object') return
  if (Array.isArray(node)) { node.forEach(allowNullables); return }
  const o = node as Record<string, any>
  if (o.nullable === true) {
    if (typeof o.type === 'string') o.type = [o.type, 'null']
    else if (Array.isArray(o.type) && !o.type.includes('null')) o.type.push('null')
    if (Array.isArray(o.enum) && !o.enum.includes(null)) o.enum.push(null)
    if (o.type === undefined && (o.$ref !== undefined || o.allOf !== undefined)) {
      const { nullable: _nullable, ...rest } = o
      for (const k of Object.keys(o)) delete o[k]
      o.anyOf = [rest, { type: 'null' }]
    }
  }
  for (const v of Object.values(o)) allowNullables(v)
}

/** A schema of the test's own, its '#/…' refs pointed into the document. */
function intoDocument (schema: unknown): unknown {
  if (schema === null || typeof schema !== 'object') return schema
  if (Array.isArray(schema)) return schema.map(intoDocument)
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? DOC_ID + v : intoDocument(v)]))
}

const describe = (errors: ErrorObject[] | null | undefined) =>
  (errors ?? []).slice(0, 8).map(e => `${e.instancePath || '(body)'} ${e.message ?? 'is invalid'}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`).join('; ')

const preview = (value: unknown) => {
  const s = JSON.stringify(value) ?? String(value)
  return s.length > 300 ? `${s.slice(0, 300)}…` : s
}

/** The body as JSON: from its text when there is one (a JSON string body and a text body look alike parsed). */
function parseBody (reply: SpecReply): { ok: true, value: unknown } | { ok: false } {
  if (reply.text === undefined) return { ok: true, value: reply.body }
  try {
    return { ok: true, value: JSON.parse(reply.text) }
  } catch {
    return { ok: false }
  }
}

/**
 * One provider document, ready to check answers against. `response('POST /v3/mail/send', reply)`
 * returns the problems found (none: the answer conforms); every operation and status it was asked
 * about is remembered (checked()) so a test can prove it covered what the emulator serves.
 */
export class SpecConformance {
  readonly doc: SpecDocument
  readonly swagger2: boolean
  readonly #ajv: Ajv
  readonly #validators = new Map<string, ValidateFunction>()
  readonly #statuses: StatusOverride[]
  readonly #checked = new Set<string>()

  constructor (source: SpecDocument, options: ConformanceOptions = {}) {
    const doc = structuredClone(source)
    this.swagger2 = doc.swagger === '2.0'
    if (!this.swagger2 && !/^3\.1\./.test(String(doc.openapi))) throw new Error(`unsupported document version: ${doc.openapi ?? doc.swagger}`)
    for (const patch of options.patches ?? []) {
      const node = nodeAt(doc, patch.at)
      if (node === null || typeof node !== 'object') throw new Error(`override ${patch.at} (${patch.reason}): no such schema in the spec any more; review the override`)
      for (const [key, value] of Object.entries(patch.set)) {
        if (value === undefined) delete node[key]
        else node[key] = value
      }
    }
    allowNullables(doc)
    this.doc = doc
    this.#statuses = options.statuses ?? []
    for (const o of this.#statuses) for (const op of o.operations ?? []) this.operation(op)
    const ajvOptions = { strict: false, allErrors: true, validateSchema: false, logger: false } as const
    // The stale 2018 Zoom file is Swagger 2.0: its schemas are draft-04 style, which draft-07 reads.
    this.#ajv = this.swagger2 ? new Ajv(ajvOptions) : new Ajv2020(ajvOptions)
    addFormatsModule.default(this.#ajv)
    this.#ajv.addSchema(doc, DOC_ID)
  }

  /** The document's operation for 'METHOD /path/template'; an error when it has none. */
  operation (operation: string): { pointer: string, object: SpecDocument } {
    const [method = '', path = ''] = operation.split(' ')
    const m = method.toLowerCase()
    const object = METHODS.includes(m) ? this.doc.paths?.[path]?.[m] : undefined
    if (!object) throw new Error(`${operation} is not an operation of the spec`)
    return { pointer: `#/paths/${escape(path)}/${m}`, object }
  }

  /** Every 'METHOD /path status' asked about so far. */
  checked (): Set<string> {
    return new Set(this.#checked)
  }

  /** The problems with one answer of `operation` ('GET /v3/stats'); empty when it conforms. */
  response (operation: string, reply: SpecReply): string[] {
    const op = this.operation(operation)
    this.#checked.add(`${operation} ${reply.status}`)
    const responses = op.object.responses ?? {}
    const listed = [String(reply.status), `${String(reply.status)[0]}XX`, 'default'].find(k => responses[k] !== undefined)
    const where = `${operation} answered ${reply.status}`
    const pointer = listed === undefined ? undefined : this.#follow(`${op.pointer}/responses/${listed}`)
    const response = pointer === undefined ? undefined : nodeAt(this.doc, pointer)

    let schemaRef: string | undefined
    let bodyExpected: 'none' | 'json' | 'any'
    if (this.swagger2) {
      schemaRef = response?.schema ? `${pointer}/schema` : undefined
      bodyExpected = schemaRef ? 'json' : reply.status === 204 ? 'none' : 'any'
    } else {
      const json = response?.content?.['application/json']
      schemaRef = json?.schema ? `${pointer}/content/application~1json/schema` : undefined
      bodyExpected = response === undefined ? 'any' : json ? 'json' : response.content ? 'any' : 'none'
    }

    const problems: string[] = []
    let validate: ValidateFunction | undefined = schemaRef ? this.#compile(DOC_ID + schemaRef) : undefined
    if (response === undefined || (schemaRef === undefined && bodyExpected !== 'none')) {
      const override = this.#statuses.find(o => o.status === reply.status && (o.operations === undefined || o.operations.includes(operation)))
      if (override) {
        validate = override.schema ? this.#compileOwn(override.schema) : undefined
        bodyExpected = override.schema ? 'json' : 'none'
      } else if (response === undefined) {
        return [`${where}, a status the spec does not list for it (${Object.keys(responses).join(', ')}): ${preview(reply.body)}`]
      }
    }

    const empty = reply.body === undefined || reply.body === ''
    if (bodyExpected === 'none' && !empty) problems.push(`${where} with a body where the spec describes none: ${preview(reply.body)}`)
    if (bodyExpected === 'json') {
      const type = String(reply.headers?.['content-type'] ?? '')
      const body = parseBody(reply)
      if (empty) problems.push(`${where} with no body where the spec describes one`)
      else if (reply.headers && !/^application\/json\b/.test(type)) problems.push(`${where} with content-type "${type}" where the spec describes application/json`)
      else if (!body.ok) problems.push(`${where} with a body that is not JSON: ${preview(reply.text)}`)
      else if (validate && !validate(body.value)) problems.push(`${where} with a body the spec's schema refuses: ${describe(validate.errors)} in ${preview(body.value)}`)
    }
    return problems
  }

  /** The problems with a request body the emulator sends or is sent, against the operation's JSON request body. */
  request (operation: string, body: unknown): string[] {
    const op = this.operation(operation)
    let pointer: string | undefined
    if (this.swagger2) {
      const at = ((op.object.parameters ?? []) as Array<{ in?: string }>).findIndex(p => p.in === 'body')
      if (at >= 0) pointer = `${op.pointer}/parameters/${at}/schema`
    } else {
      const requestBody = this.#follow(`${op.pointer}/requestBody`)
      if (nodeAt(this.doc, requestBody)?.content?.['application/json']?.schema) pointer = `${requestBody}/content/application~1json/schema`
    }
    if (pointer === undefined) throw new Error(`${operation} has no JSON request body in the spec`)
    return this.#problems(pointer, body, `${operation}'s request body`)
  }

  /** The problems with a value against the schema at a pointer into the document ('#/components/schemas/AgentExecution'). */
  schema (pointer: string, value: unknown): string[] {
    if (nodeAt(this.doc, pointer) === undefined) throw new Error(`${pointer} is not in the spec`)
    return this.#problems(pointer, value, pointer)
  }

  /** Where a pointer leads once its $refs (a components/responses entry, a requestBodies one) are followed. */
  #follow (pointer: string): string {
    for (let hops = 0; hops < 5; hops++) {
      const ref = nodeAt(this.doc, pointer)?.$ref
      if (typeof ref !== 'string') break
      pointer = ref
    }
    return pointer
  }

  #problems (pointer: string, value: unknown, what: string): string[] {
    const validate = this.#compile(DOC_ID + pointer)
    return validate(value) ? [] : [`${what} is refused by the spec's schema: ${describe(validate.errors)} in ${preview(value)}`]
  }

  #compile (ref: string): ValidateFunction {
    let v = this.#validators.get(ref)
    if (!v) this.#validators.set(ref, v = this.#ajv.compile({ $ref: ref }))
    return v
  }

  #compileOwn (schema: object): ValidateFunction {
    const key = JSON.stringify(schema)
    let v = this.#validators.get(key)
    if (!v) this.#validators.set(key, v = this.#ajv.compile(intoDocument(schema) as object))
    return v
  }
}
