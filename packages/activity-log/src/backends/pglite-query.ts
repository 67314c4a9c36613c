/**
 * Parameterised queries on PGlite as prepared statements, each sent in one trip into the database.
 *
 * PGlite's `query()` parses and plans every statement afresh, and sends Parse, Describe, Bind,
 * Describe, Execute and Sync as six separate calls into the WASM backend, so that it can ask the
 * database for the parameters' types before serialising them. Planning an activity-log insert
 * (`INSERT … SELECT … FROM jsonb_populate_recordset($1) ON CONFLICT DO NOTHING`) is most of its cost
 * on the embedded database. Measured in one thread: an insert of one row 180–320 µs through
 * `query()`, 50–60 µs as a prepared statement executed again; a status update 100–150 against 50.
 * Here each distinct statement text is parsed once under a name, and every execution is one
 * message (Bind, Describe, Execute, Sync), as a PostgreSQL driver pipelines them.
 *
 * Parameters are serialised by their JavaScript type, the way node-postgres does (the same SQL runs
 * on PostgreSQL through `pg`, so these are the semantics it was written for): strings as they are,
 * numbers, bigints and booleans as text, dates as ISO-8601. A value of any other kind (an array, an
 * object, bytes) needs the database's parameter types to be serialised as `query()` does: such a
 * query is left to `query()` (`undefined` is returned).
 */
import { parse, protocol, type PGlite } from '@electric-sql/pglite'

type Text = string | null
export interface QueryResult { rows: Array<Record<string, unknown>>, rowCount: number }

/**
 * Errors after which a statement prepared earlier is prepared again from its text: a table it reads
 * changed its columns since (0A000, "cached plan must not change result type"), or the session's
 * statements were dropped (26000, after a DEALLOCATE ALL or DISCARD ALL sent through exec()).
 */
const PREPARE_AGAIN = new Set(['0A000', '26000'])

/** The parameter as text, or undefined when its serialisation depends on the parameter's type. */
function asText (value: unknown): Text | undefined {
  if (value === null || value === undefined) return null
  switch (typeof value) {
    case 'string': return value
    case 'number': case 'bigint': return String(value)
    case 'boolean': return value ? 'true' : 'false'
  }
  if (value instanceof Date) return value.toISOString()
  return undefined
}

function concat (parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const p of parts) length += p.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

export interface PreparedQueriesOptions {
  /**
   * Most statements kept prepared; the least recently used is closed first. Each holds its plan in
   * the database's memory, and a text built per call (an IN list of varying length) would
   * otherwise pile up.
   */
  maxStatements?: number
}

export class PreparedQueries {
  readonly #db: PGlite
  readonly #max: number
  /** Statement text → its prepared name, least recently used first. */
  readonly #names = new Map<string, string>()
  #counter = 0

  constructor (db: PGlite, opts: PreparedQueriesOptions = {}) {
    this.#db = db
    this.#max = Math.max(1, opts.maxStatements ?? 128)
  }

  /** How many statements are prepared now. */
  get size (): number { return this.#names.size }

  /**
   * Runs `text` with `values`. Returns undefined, having run nothing, when a value is not a scalar
   * (see the file comment). Throws the database's error as `query()` does; the session is ready
   * for the next query either way (every message ends in Sync).
   */
  async query (text: string, values: readonly unknown[] = []): Promise<QueryResult | undefined> {
    const params: Text[] = new Array(values.length)
    for (let i = 0; i < values.length; i++) {
      const param = asText(values[i])
      if (param === undefined) return undefined
      params[i] = param
    }
    return await this.#run(text, params, true)
  }

  async #run (text: string, params: Text[], retry: boolean): Promise<QueryResult> {
    const { serialize } = protocol
    const parts: Uint8Array[] = []
    let name = this.#names.get(text)
    const fresh = name === undefined
    if (name !== undefined) {
      this.#names.delete(text)
      this.#names.set(text, name)
    } else {
      if (this.#names.size >= this.#max) {
        const [oldest, oldName] = this.#names.entries().next().value!
        this.#names.delete(oldest)
        parts.push(serialize.close({ type: 'S', name: oldName }))
      }
      name = `sb_${++this.#counter}`
      parts.push(serialize.parse({ text, name }))
    }
    parts.push(serialize.bind({ values: params, statement: name }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync())
    try {
      const { messages } = await this.#send(parts)
      if (fresh) this.#names.set(text, name)
      const result = parse.parseResults(messages, this.#db.parsers)[0]!
      return { rows: result.rows as Array<Record<string, unknown>>, rowCount: result.affectedRows ?? 0 }
    } catch (err) {
      // Parsed but failed at execution: the name exists and nothing refers to it any more.
      if (fresh) await this.#close(name)
      else if (PREPARE_AGAIN.has(String((err as { code?: unknown }).code)) && retry) {
        this.#names.delete(text)
        await this.#close(name)
        return await this.#run(text, params, false)
      }
      throw err
    }
  }

  async #close (name: string): Promise<void> {
    // Closing a name that does not exist is not an error in PostgreSQL.
    await this.#send([protocol.serialize.close({ type: 'S', name }), protocol.serialize.sync()]).catch(() => {})
  }

  async #send (parts: Uint8Array[]) {
    // PGlite's own lock for queries: nothing else of PGlite's runs in between.
    return await this.#db.runExclusive(async () => await this.#db.execProtocol(concat(parts)))
  }
}
