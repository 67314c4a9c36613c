/**
 * Bad and odd requests for every operation of an OpenAPI 3 document, from a seed: a valid request
 * is built from each operation's schemas, then one thing about it is broken (a field's type, a
 * missing or extra field, a huge or strange string, a number out of range, the JSON itself, the
 * content type, a path parameter, the query string). Same seed, same requests.
 */

export type Rng = () => number
type Schema = Record<string, any>

export interface Operation {
  method: string
  /** OpenAPI path template, e.g. /api/automation/email/{id} */
  path: string
  auth: 'api' | 'admin' | 'none'
  pathParams: Array<{ name: string, schema: Schema }>
  queryParams: Array<{ name: string, schema: Schema, required: boolean }>
  body?: Schema
  /** A route whose body is read raw (webhooks): no JSON schema. */
  rawBody: boolean
}

export interface FuzzCase {
  op: Operation
  kind: string
  method: string
  /** Path and query, ready to append to the base URL. */
  url: string
  headers: Record<string, string>
  body?: string | Buffer
  /** For a validation error, a word its message must contain (the field at fault). */
  field?: string
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete']

/** Every operation in the document, with its auth from `security` (or, failing that, its path). */
export function operations (doc: Schema): Operation[] {
  const out: Operation[] = []
  for (const [path, item] of Object.entries<Schema>(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method]
      if (!op) continue
      // A server-sent event stream answers 200 and never ends: nothing for a request/answer fuzz.
      if (op.responses?.['200']?.content?.['text/event-stream'] && !op.responses['200'].content['application/json']) continue
      const schemes = (op.security ?? []).flatMap((s: Schema) => Object.keys(s))
      // A route the API token opens lists the admin token too (it opens every route): the API token decides.
      const auth = schemes.includes('apiToken') ? 'api' : schemes.includes('adminToken') ? 'admin' : 'none'
      const params: Schema[] = [...(item.parameters ?? []), ...(op.parameters ?? [])].map(p => resolve(doc, p))
      const json = op.requestBody?.content?.['application/json']?.schema
      out.push({
        method: method.toUpperCase(),
        path,
        auth,
        pathParams: params.filter(p => p.in === 'path').map(p => ({ name: p.name, schema: resolve(doc, p.schema ?? {}) })),
        queryParams: params.filter(p => p.in === 'query').map(p => ({ name: p.name, schema: resolve(doc, p.schema ?? {}), required: !!p.required })),
        ...(json ? { body: deref(doc, json) } : {}),
        rawBody: !json && method !== 'get' && method !== 'delete'
      })
    }
  }
  return out
}

function resolve (doc: Schema, s: Schema): Schema {
  if (!s?.$ref) return s
  const parts = String(s.$ref).replace(/^#\//, '').split('/')
  let node: any = doc
  for (const p of parts) node = node?.[p]
  return node ?? {}
}

function deref (doc: Schema, s: Schema, depth = 0): Schema {
  if (depth > 20 || s === null || typeof s !== 'object') return s
  const r = resolve(doc, s)
  if (Array.isArray(r)) return r.map(x => deref(doc, x, depth + 1)) as unknown as Schema
  const out: Schema = {}
  for (const [k, v] of Object.entries(r)) out[k] = v && typeof v === 'object' ? deref(doc, v, depth + 1) : v
  return out
}

// ---------------------------------------------------------------------------------------------
// Valid values from a schema

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!
const int = (rng: Rng, min: number, max: number) => min + Math.floor(rng() * (max - min + 1))

/** The schema's alternatives, nulls last. */
function branches (s: Schema): Schema[] {
  const alts = s.anyOf ?? s.oneOf
  if (!alts) return [s]
  return [...alts].sort((a: Schema, b: Schema) => Number(a.type === 'null') - Number(b.type === 'null'))
}

export function typeOf (s: Schema): string | undefined {
  if (s.enum) return typeof s.enum[0] === 'number' ? (Number.isInteger(s.enum[0]) ? 'integer' : 'number') : typeof s.enum[0]
  if (s.const !== undefined) return typeof s.const
  if (Array.isArray(s.type)) return s.type.find((t: string) => t !== 'null')
  if (s.type) return s.type
  if (s.properties) return 'object'
  const alts = s.anyOf ?? s.oneOf
  if (alts) return typeOf(branches(s)[0]!)
  return undefined
}

let counter = 0

/** A value the schema accepts (best effort: formats and simple patterns are honoured). */
export function sample (s: Schema, rng: Rng, depth = 0, minimal = false): unknown {
  if (s.const !== undefined) return s.const
  if (s.enum) return pick(rng, s.enum)
  if (s.anyOf || s.oneOf) {
    const nonNull = branches(s).filter(b => b.type !== 'null')
    return sample(pick(rng, nonNull.length ? nonNull : branches(s)), rng, depth, minimal)
  }
  if (s.allOf) return Object.assign({}, ...s.allOf.map((x: Schema) => sample(x, rng, depth, minimal)))
  switch (typeOf(s)) {
    case 'object': {
      const out: Record<string, unknown> = {}
      const required = new Set<string>(s.required ?? [])
      const props = Object.entries<Schema>(s.properties ?? {})
      for (const [k, v] of props) {
        // Optional fields half the time; never deeper than a few levels of optional objects.
        if (required.has(k) || (!minimal && depth < 4 && rng() < 0.5)) out[k] = sample(v, rng, depth + 1, minimal)
      }
      if ((s.minProperties ?? 0) > Object.keys(out).length) {
        for (const [k, v] of props) {
          if (Object.keys(out).length >= s.minProperties) break
          if (!(k in out)) out[k] = sample(v, rng, depth + 1, minimal)
        }
      }
      return out
    }
    case 'array': {
      const min = s.minItems ?? 0
      const n = Math.min(s.maxItems ?? Infinity, Math.max(min, int(rng, 1, 3)))
      return Array.from({ length: n }, () => sample(s.items ?? { type: 'string' }, rng, depth + 1, minimal))
    }
    case 'integer': return sampleNumber(s, rng, true)
    case 'number': return sampleNumber(s, rng, false)
    case 'boolean': return rng() < 0.5
    case 'string': return sampleString(s, rng)
    case 'null': return null
    default: return `fuzz${counter++}`
  }
}

function sampleNumber (s: Schema, rng: Rng, integer: boolean): number {
  const lo = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1)
  const hi = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : lo + 100)
  if (!integer && hi - lo <= 1) return lo + (hi - lo) * rng() // e.g. a rate in [0, 1]
  // Whole numbers only: fractional amounts can carry magic meanings (….19 fails a payment link).
  const n = int(rng, Math.ceil(lo), Math.floor(Math.min(hi, lo + 100)))
  return s.multipleOf ? Math.ceil(n / s.multipleOf) * s.multipleOf : n
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789'

/**
 * As for numbers: a decimal string ("9134.19", a payment amount's pattern) gets a zero fraction
 * when the pattern allows it, since the paise of an amount can carry a magic meaning.
 */
function zeroFraction (value: string, re: RegExp): string {
  const whole = value.replace(/^(\d+)\.(\d+)$/, (_match, units: string, fraction: string) => `${units}.${'0'.repeat(fraction.length)}`)
  return whole !== value && re.test(whole) ? whole : value
}

function sampleString (s: Schema, rng: Rng): string {
  switch (s.format) {
    case 'email': return `fuzz${counter++}@example.com`
    case 'uuid': return crypto.randomUUID()
    case 'date-time': return new Date(Date.now() + 86_400_000).toISOString()
    case 'date': return '2030-01-15'
    case 'uri': case 'url': return 'https://example.com/fuzz'
  }
  if (s.pattern) {
    const re = new RegExp(s.pattern, 'u')
    for (let i = 0; i < 20; i++) {
      const v = fromPattern(s.pattern, rng)
      if (v !== undefined && re.test(v) && v.length >= (s.minLength ?? 0) && v.length <= (s.maxLength ?? Infinity)) return zeroFraction(v, re)
    }
  }
  const len = Math.min(s.maxLength ?? 24, Math.max(s.minLength ?? 1, int(rng, 4, 16)))
  let out = ''
  for (let i = 0; i < len; i++) out += ALNUM[Math.floor(rng() * ALNUM.length)]
  return out
}

/** A string matching a simple regular expression (classes, groups, alternation, quantifiers). */
export function fromPattern (pattern: string, rng: Rng): string | undefined {
  let i = 0
  const src = pattern
  function atom (): (() => string) | undefined {
    const c = src[i]!
    if (c === '(') {
      i++
      if (src.startsWith('?:', i)) i += 2
      const alts: Array<Array<() => string>> = [[]]
      while (i < src.length && src[i] !== ')') {
        if (src[i] === '|') { alts.push([]); i++; continue }
        const p = piece()
        if (!p) return undefined
        alts.at(-1)!.push(p)
      }
      i++
      return () => pick(rng, alts).map(f => f()).join('')
    }
    if (c === '[') {
      i++
      let negate = false
      if (src[i] === '^') { negate = true; i++ }
      const chars: string[] = []
      while (i < src.length && src[i] !== ']') {
        let ch = src[i++]!
        if (ch === '\\') {
          const e = src[i++]!
          const cls = escapeClass(e)
          if (cls) { chars.push(...cls); continue }
          ch = e
        }
        if (src[i] === '-' && src[i + 1] !== ']' && i + 1 < src.length) {
          i++
          let end = src[i++]!
          if (end === '\\') end = src[i++]!
          for (let k = ch.charCodeAt(0); k <= end.charCodeAt(0); k++) chars.push(String.fromCharCode(k))
        } else chars.push(ch)
      }
      i++
      const set = negate ? ALNUM.split('').filter(x => !chars.includes(x)) : chars
      return () => pick(rng, set)
    }
    if (c === '\\') {
      i++
      const e = src[i++]!
      const cls = escapeClass(e)
      return cls ? () => pick(rng, cls) : () => e
    }
    if (c === '.') { i++; return () => pick(rng, ALNUM.split('')) }
    if (c === '^' || c === '$') { i++; return () => '' }
    i++
    return () => c
  }
  function piece (): (() => string) | undefined {
    const a = atom()
    if (!a) return undefined
    let min = 1
    let max = 1
    const q = src[i]
    if (q === '?') { min = 0; max = 1; i++ } else if (q === '*') { min = 0; max = 3; i++ } else if (q === '+') { min = 1; max = 3; i++ } else if (q === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i))
      if (m) {
        min = Number(m[1])
        max = m[2] ? (m[3] ? Number(m[3]) : min + 3) : min
        i += m[0].length
      }
    }
    if (src[i] === '?') i++ // lazy
    return () => {
      const n = int(rng, min, Math.min(max, min + 8))
      let out = ''
      for (let k = 0; k < n; k++) out += a()
      return out
    }
  }
  const parts: Array<() => string> = []
  const alts: Array<Array<() => string>> = [parts]
  while (i < src.length) {
    if (src[i] === '|') { alts.push([]); i++; continue }
    const p = piece()
    if (!p) return undefined
    alts.at(-1)!.push(p)
  }
  return pick(rng, alts).map(f => f()).join('')
}

function escapeClass (e: string): string[] | undefined {
  if (e === 'd') return '0123456789'.split('')
  if (e === 'w') return (ALNUM + '_').split('')
  if (e === 's') return [' ']
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Breaking things

/** Strings that have broken parsers, databases, loggers and templates before. */
export const ODD_STRINGS = [
  '', ' ', '\u0000', 'a\u0000b', '\u0007\b\f\v\u001b[31m', '\r\n\r\nX-Injected: 1', '\t\n',
  '\u202Eevil\u202C', '\u200B\u200D\uFEFF', 'Zalgo: Z\u0351\u0364\u0364\u0300A\u0350\u0351L', '😀👍🏽🇮🇳', '\uD800', '\uDFFF\uD800',
  'नमस्ते दुनिया', 'مرحبا', '日本語テキスト', 'ﷺ', '\uFFFF\uFFFE', 'ǅ', '𝕳𝖊𝖑𝖑𝖔',
  '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "' OR '1'='1' --", '1; DROP TABLE email_logs; --',
  // eslint-disable-next-line no-template-curly-in-string -- a log4j-style payload, on purpose
  '${jndi:ldap://x/a}', '{{7*7}}', '%s%s%s%n', '../../../../etc/passwd', '..\\..\\windows\\win.ini', 'file:///etc/passwd',
  '__proto__', 'constructor', 'null', 'undefined', 'NaN', 'Infinity', '-Infinity', '1e309', '0x1F', 'true', '[]', '{}',
  'A'.repeat(5000), '😀'.repeat(2000)
]

// eslint-disable-next-line @typescript-eslint/no-loss-of-precision -- a number JSON carries but a double cannot hold, on purpose
export const ODD_NUMBERS = [-1, 0, -0, 0.5, -2147483649, 2147483648, 2 ** 53 + 2, -(2 ** 53) - 2, 1e308, -1e308, 5e-324, 1.0000000000000002, 123456789012345678901234567890]

type Path = Array<string | number>

interface Node { path: Path, value: unknown, schema: Schema | undefined, requiredHere: boolean }

/** Every place in a value, with the schema that governs it. */
function nodes (value: unknown, schema: Schema | undefined, path: Path = [], requiredHere = true, out: Node[] = []): Node[] {
  out.push({ path, value, schema, requiredHere })
  if (Array.isArray(value)) {
    value.forEach((v, i) => nodes(v, schema?.items, [...path, i], true, out))
  } else if (value && typeof value === 'object') {
    const s = schema && (schema.anyOf || schema.oneOf) ? branches(schema).find(b => b.properties) ?? schema : schema
    const required = new Set<string>(s?.required ?? [])
    for (const [k, v] of Object.entries(value)) nodes(v, s?.properties?.[k], [...path, k], required.has(k), out)
  }
  return out
}

function setAt (root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value
  const copy = structuredClone(root) as any
  let node = copy
  for (const k of path.slice(0, -1)) node = node[k]
  node[path.at(-1)!] = value
  return copy
}

function deleteAt (root: unknown, path: Path): unknown {
  const copy = structuredClone(root) as any
  let node = copy
  for (const k of path.slice(0, -1)) node = node[k]
  if (Array.isArray(node)) node.splice(Number(path.at(-1)), 1)
  else delete node[path.at(-1)!]
  return copy
}

/** The last named key on a path: what a good validation message names. */
function fieldOf (path: Path): string | undefined {
  for (let i = path.length - 1; i >= 0; i--) if (typeof path[i] === 'string') return path[i] as string
  return undefined
}

/** A value of another type than the schema wants. */
function wrongType (s: Schema | undefined, rng: Rng): unknown {
  const t = s ? typeOf(s) : undefined
  const options: unknown[] = [{ nested: { deeper: [1, 'two', null] } }, [1, 2, 3], ['a'], true, false, 12345, -7.25, 'a string', null]
  return pick(rng, options.filter(v => {
    if (t === 'object') return Array.isArray(v) || typeof v !== 'object' || v === null
    if (t === 'array') return !Array.isArray(v)
    if (t === 'string') return typeof v !== 'string'
    if (t === 'integer' || t === 'number') return typeof v !== 'number'
    if (t === 'boolean') return typeof v !== 'boolean'
    return true
  }))
}

function hugeString (rng: Rng, maxBytes: number): string {
  const n = int(rng, 20_000, maxBytes)
  const unit = pick(rng, ['x', 'é', '😀', '<p>hi</p>', '\\"'])
  return unit.repeat(Math.max(1, Math.floor(n / Buffer.byteLength(unit))))
}

function oddNumberFor (s: Schema | undefined, rng: Rng): number {
  const candidates = [...ODD_NUMBERS]
  if (s?.minimum !== undefined) candidates.push(s.minimum - 1, s.minimum - 0.5)
  if (s?.maximum !== undefined) candidates.push(s.maximum + 1, s.maximum + 0.5)
  return pick(rng, candidates)
}

function encodePath (op: Operation, params: Record<string, string>): string {
  return op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => params[name] ?? '')
}

/** encodeURIComponent, which throws on a lone surrogate: those go as U+FFFD. */
const enc = (s: string) => encodeURIComponent(s.toWellFormed())

function queryString (q: Record<string, unknown>): string {
  const parts = Object.entries(q).map(([k, v]) => `${enc(k)}=${enc(typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))}`)
  return parts.length ? `?${parts.join('&')}` : ''
}

export interface Valid {
  params: Record<string, string>
  query: Record<string, unknown>
  body: unknown
}

/** A request the operation's schemas accept; `minimal`: required fields only. */
export function validRequest (op: Operation, rng: Rng, minimal = false): Valid {
  const params: Record<string, string> = {}
  for (const p of op.pathParams) params[p.name] = enc(String(sample(p.schema, rng)))
  const query: Record<string, unknown> = {}
  for (const q of op.queryParams) if (q.required || (!minimal && rng() < 0.4)) query[q.name] = sample(q.schema, rng)
  return { params, query, body: op.body ? sample(op.body, rng, 0, minimal) : undefined }
}

export interface Limits {
  /** Largest body to send (the services' limit is 10 MiB). */
  maxBodyBytes: number
}

/**
 * One broken request for the operation. `i` varies the kind so every operation gets every kind
 * that applies to it; the rest is drawn from rng.
 */
export function fuzzCase (op: Operation, rng: Rng, i: number, limits: Limits): FuzzCase {
  const v = validRequest(op, rng)
  const json = (body: unknown) => JSON.stringify(body)
  const base = (): FuzzCase => ({
    op,
    kind: 'valid',
    method: op.method,
    url: encodePath(op, v.params) + queryString(v.query),
    headers: op.body || op.rawBody ? { 'content-type': 'application/json' } : {},
    ...(op.body ? { body: json(v.body) } : op.rawBody ? { body: '{}' } : {})
  })
  const kinds: Array<() => FuzzCase | undefined> = []
  let overLimit = -1

  if (op.body) {
    const all = nodes(v.body, op.body)
    const fields = all.filter(n => n.path.length > 0)
    const withBody = (kind: string, body: unknown, field?: string): FuzzCase => ({ ...base(), kind, body: json(body), ...(field ? { field } : {}) })
    kinds.push(
      () => { const n = pick(rng, all); return withBody(`wrong type at /${n.path.join('/')}`, setAt(v.body, n.path, wrongType(n.schema, rng)), n.path.length ? fieldOf(n.path) : 'body') },
      () => {
        const req = fields.filter(n => n.requiredHere && typeof n.path.at(-1) === 'string')
        if (!req.length) return undefined
        const n = pick(rng, req)
        return withBody(`missing /${n.path.join('/')}`, deleteAt(v.body, n.path), fieldOf(n.path))
      },
      () => {
        const objects = all.filter(n => n.value && typeof n.value === 'object' && !Array.isArray(n.value))
        if (!objects.length) return undefined
        const n = pick(rng, objects)
        const name = pick(rng, ['fuzz_extra', 'isAdmin', '$where', 'constructor_'])
        return withBody(`extra field ${name} at /${n.path.join('/')}`, setAt(v.body, [...n.path, name], pick(rng, ['x', 1, null, { a: 1 }])), name)
      },
      () => {
        const strings = fields.filter(n => typeof n.value === 'string')
        if (!strings.length) return undefined
        const n = pick(rng, strings)
        return withBody(`huge string at /${n.path.join('/')}`, setAt(v.body, n.path, hugeString(rng, Math.min(2_000_000, limits.maxBodyBytes / 4))), fieldOf(n.path))
      },
      () => {
        const strings = fields.filter(n => typeof n.value === 'string')
        if (!strings.length) return undefined
        const n = pick(rng, strings)
        const odd = pick(rng, ODD_STRINGS)
        return withBody(`odd string ${JSON.stringify(odd.slice(0, 20))} at /${n.path.join('/')}`, setAt(v.body, n.path, odd), fieldOf(n.path))
      },
      () => { const n = pick(rng, fields.length ? fields : all); return withBody(`null at /${n.path.join('/')}`, setAt(v.body, n.path, null), n.path.length ? fieldOf(n.path) : 'body') },
      () => {
        const objects = all.filter(n => n.value && typeof n.value === 'object')
        const n = pick(rng, objects.length ? objects : all)
        const swapped = Array.isArray(n.value) ? { 0: n.value[0] } : [n.value]
        return withBody(`array/object swapped at /${n.path.join('/')}`, setAt(v.body, n.path, swapped), n.path.length ? fieldOf(n.path) : 'body')
      },
      () => {
        const numbers = fields.filter(n => typeof n.value === 'number')
        const n = numbers.length ? pick(rng, numbers) : pick(rng, fields.length ? fields : all)
        const odd = oddNumberFor(n.schema, rng)
        return withBody(`odd number ${odd} at /${n.path.join('/')}`, setAt(v.body, n.path, odd), n.path.length ? fieldOf(n.path) : 'body')
      },
      () => {
        // Numbers JSON.stringify cannot write: NaN, Infinity, 1e999 (parses as Infinity), -0e0.
        const numbers = fields.filter(n => typeof n.value === 'number')
        const n = numbers.length ? pick(rng, numbers) : pick(rng, fields.length ? fields : all)
        const token = pick(rng, ['NaN', 'Infinity', '-Infinity', '1e999', '-1e999', '1.5e-400', '0x10', '01', '+1', '.5'])
        const text = json(setAt(v.body, n.path, '__FUZZ_NUMBER__')).replace('"__FUZZ_NUMBER__"', token)
        return { ...base(), kind: `raw number ${token} at /${n.path.join('/')}`, body: text }
      },
      () => {
        const text = json(v.body)
        const broken = pick(rng, [
          text.slice(0, Math.max(1, Math.floor(text.length / 2))), `${text},`, `${text}garbage`, text.replace(/"/g, "'"), `[${text}`, '{"a":1,}',
          '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}', '\uFEFF' + text, text.replace('{', '{"a":1,"a":2,'),
          '{', '}', '"', 'null', 'true', '0', '-', '{"a":"\\ud800"}', '{"a":"\\u0000"}', `{${'"a":1,'.repeat(10_000)}"b":2}`
        ])
        return { ...base(), kind: `bad JSON ${JSON.stringify(broken.slice(0, 30))}`, body: broken }
      },
      () => ({ ...base(), kind: 'deeply nested', body: '['.repeat(5000) + ']'.repeat(5000) }),
      () => {
        // 5,000 levels inside an otherwise valid body (free-form fields such as template_data take
        // any object): refused at validation, naming the field, never a stack overflow.
        const n = pick(rng, fields.length ? fields : all)
        const deep = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000)
        return { ...base(), kind: `nested 5,000 levels at /${n.path.join('/')}`, body: json(setAt(v.body, n.path, '__FUZZ_DEEP__')).replace('"__FUZZ_DEEP__"', deep), ...(n.path.length ? { field: fieldOf(n.path) } : {}) }
      },
      () => ({ ...base(), kind: 'empty body, JSON content type', body: '' }),
      () => { const { body: _b, ...rest } = base(); return { ...rest, kind: 'no body at all', headers: {} } },
      () => ({ ...base(), kind: 'a scalar body', body: pick(rng, ['42', '"text"', 'null', '[]', '[{}]', 'false']) }),
      () => {
        const type = pick(rng, ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'application/jsonx', 'image/png', '*/*', ''])
        const headers: Record<string, string> = type ? { 'content-type': type } : {}
        return { ...base(), kind: `content type "${type}"`, headers }
      },
      () => {
        const body = Buffer.from(json(v.body) + ' '.repeat(Math.max(0, limits.maxBodyBytes - json(v.body).length + 1024)))
        return { ...base(), kind: 'body over the limit', body }
      }
    )
    overLimit = kinds.length - 1
  } else if (op.rawBody) {
    kinds.push(
      () => ({ ...base(), kind: 'raw junk', headers: { 'content-type': pick(rng, ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream']) }, body: pick(rng, ODD_STRINGS) }),
      () => ({ ...base(), kind: 'raw JSON array', body: json([{ event: 'delivered', sg_event_id: 'x', email: 'a@b.c' }]) }),
      () => ({ ...base(), kind: 'raw huge', headers: { 'content-type': 'application/json' }, body: json({ a: hugeString(rng, 1_000_000) }) }),
      () => ({ ...base(), kind: 'raw empty', body: '' }),
      () => ({ ...base(), kind: 'raw form', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'payment_id=MOJO&status=Credit&mac=deadbeef' }),
      () => ({ ...base(), kind: 'raw with junk signature headers', headers: { 'content-type': 'application/json', 'x-twilio-email-event-webhook-signature': 'AAAA', 'x-twilio-email-event-webhook-timestamp': '1', 'x-zm-signature': 'v0=00', 'x-zm-request-timestamp': 'abc', 'x-aisensy-signature': 'zz' }, body: '[]' })
    )
  } else if (op.method !== 'GET' && op.method !== 'DELETE') {
    kinds.push(() => ({ ...base(), kind: 'unexpected JSON body', headers: { 'content-type': 'application/json' }, body: json({ surprise: pick(rng, ODD_STRINGS) }) }))
  }

  for (const p of op.pathParams) {
    kinds.push(() => {
      const odd = pick(rng, ['not-a-uuid', '0', '-1', '1.5', '99999999999999999999999', 'null', '%00', '%2e%2e%2f%2e%2e', '..', '%F0%9F%98%80', encodeURIComponent("' OR 1=1 --"), 'x'.repeat(99), 'x'.repeat(101), '%zz', 'a%2Fb', encodeURIComponent('<script>'), ' '])
      return { ...base(), kind: `path param ${p.name}=${odd.slice(0, 24)}`, url: encodePath(op, { ...v.params, [p.name]: odd }) + queryString(v.query), field: p.name }
    })
  }
  for (const q of op.queryParams) {
    kinds.push(() => {
      const t = typeOf(q.schema)
      const odd = t === 'integer' || t === 'number' ? pick(rng, [...ODD_NUMBERS.map(String), 'abc', '', '1e999', 'NaN']) : pick(rng, ODD_STRINGS.filter(s => s.length < 200))
      return { ...base(), kind: `query ${q.name}=${String(odd).slice(0, 24)}`, url: encodePath(op, v.params) + queryString({ ...v.query, [q.name]: odd }), field: q.name }
    })
  }
  kinds.push(() => {
    const junk = pick(rng, ['?a=1&a=2&a=3', '?%zz=1', '?__proto__[x]=1', '?constructor[prototype][x]=1', '?' + 'x='.repeat(2000), '?a[b][c]=d', '?=&&=', '?q=%00', '?limit=1&limit=abc', `?${'k'.repeat(4000)}=v`])
    const b = base()
    return { ...b, kind: `junk query ${junk.slice(0, 24)}`, url: b.url + (b.url.includes('?') ? junk.replace('?', '&') : junk) }
  })

  // A body at or over the limit is ~10 MiB on the wire: over it on an operation's first round,
  // just under it (one huge string) on its second, something else after.
  let index = i % kinds.length
  if (index === overLimit && i >= kinds.length) {
    if (i >= 2 * kinds.length || !op.body) index = (index + 1) % kinds.length
    else {
      const strings = nodes(v.body, op.body).filter(n => n.path.length > 0 && typeof n.value === 'string')
      if (strings.length) {
        const n = pick(rng, strings)
        const room = limits.maxBodyBytes - Buffer.byteLength(JSON.stringify(v.body)) - 1024
        return { ...base(), kind: `a string just under the body limit at /${n.path.join('/')}`, body: JSON.stringify(setAt(v.body, n.path, 'x'.repeat(room))), field: fieldOf(n.path) }
      }
      index = (index + 1) % kinds.length
    }
  }
  return kinds[index]!() ?? { ...base(), kind: 'valid (no variant applies)' }
}

/** Names an object lookup finds on Object.prototype: a handler that does map[input] gets a function. */
export const PROTOTYPE_KEYS = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']

/**
 * Deterministic rather than drawn: every string field of the operation's valid request (and every
 * string path or query parameter) set to each prototype key in turn.
 */
export function prototypeCases (op: Operation, rng: Rng): FuzzCase[] {
  const out: FuzzCase[] = []
  // Required fields only: an optional one (an explicit agent_id, say) could bypass the lookup.
  const v = validRequest(op, rng, true)
  const url = (params: Record<string, string>, query: Record<string, unknown>) => encodePath(op, params) + queryString(query)
  const headers: Record<string, string> = op.body ? { 'content-type': 'application/json' } : {}
  for (const key of PROTOTYPE_KEYS) {
    if (op.body) {
      for (const n of nodes(v.body, op.body).filter(n => n.path.length > 0 && typeof n.value === 'string')) {
        out.push({ op, kind: `prototype key ${key} at /${n.path.join('/')}`, method: op.method, url: url(v.params, v.query), headers, body: JSON.stringify(setAt(v.body, n.path, key)), field: fieldOf(n.path) })
      }
    }
    for (const p of op.pathParams.filter(p => typeOf(p.schema) === 'string')) {
      out.push({ op, kind: `prototype key ${key} as path param ${p.name}`, method: op.method, url: url({ ...v.params, [p.name]: key }, v.query), headers, ...(op.body ? { body: JSON.stringify(v.body) } : {}), field: p.name })
    }
    for (const q of op.queryParams.filter(q => typeOf(q.schema) === 'string')) {
      out.push({ op, kind: `prototype key ${key} as query ${q.name}`, method: op.method, url: url(v.params, { ...v.query, [q.name]: key }), headers, ...(op.body ? { body: JSON.stringify(v.body) } : {}), field: q.name })
    }
  }
  return out
}

/** How many variants fuzzCase cycles through for an operation (so a run covers each). */
export function variantCount (op: Operation): number {
  return (op.body ? 16 : op.rawBody ? 6 : op.method !== 'GET' && op.method !== 'DELETE' ? 1 : 0) + op.pathParams.length + op.queryParams.length + 1
}
