/**
 * The SQL both PGlite and PostgreSQL run (they speak the same dialect with $1 parameters): one
 * statement builder, one Backend on top of a two-method driver. Identifiers come from the fixed
 * Table union and from names checked against /^[a-z_][a-z0-9_]*$/; every value is a parameter.
 */
import type { Backend, Condition, Filter, Row, SelectQuery, Table } from '../types.ts'
import { CHANGE_TRACKED, checkIdentifier, checkTable, primaryKey, sqlError, storable, storableJson, toIsoTimestamp } from '../tables.ts'

/** Set by every update of a CHANGE_TRACKED table: when the row changed, in real time. */
const CHANGED_NOW = '"changed_at" = clock_timestamp()'

export interface SqlDriver {
  query (text: string, values?: unknown[]): Promise<{ rows: Row[], rowCount: number }>
  /** Several statements, no parameters (DDL, migrations). */
  exec (sql: string): Promise<void>
  close (): Promise<void>
}

/** A Backend that also runs raw SQL on its own connection (tests, tooling). */
export interface SqlBackend extends Backend {
  readonly kind: 'pglite' | 'postgres'
  exec (sql: string): Promise<void>
  /** Raw SQL with parameters, for migrations' checks and tests; services use the Backend methods. */
  query (text: string, values?: unknown[]): Promise<{ rows: Row[], rowCount: number }>
}

/**
 * Text parsers by type oid, shared by both drivers so rows come back identical: numeric stays an
 * exact decimal string, timestamps become ISO strings, dates stay 'YYYY-MM-DD', bigint becomes a
 * number (as PostgREST's JSON has it).
 */
export const TYPE_PARSERS: Record<number, (text: string) => unknown> = {
  20: Number,
  1082: text => text,
  1114: text => text.replace(' ', 'T'),
  1184: toIsoTimestamp,
  1700: text => text
}

const OPERATORS = { gte: '>=', lte: '<=', gt: '>', lt: '<', neq: '<>' } as const

class Statement {
  readonly values: unknown[] = []
  readonly #json: Map<string, string>

  constructor (json: Map<string, string>) {
    this.#json = json
  }

  /**
   * A value bound for `column`. json/jsonb columns get the JSON text cast through text, so a JS
   * string is stored as a JSON string (as PostgREST does) and no driver re-encodes it.
   */
  param (column: string, raw: unknown): string {
    const value = storable(raw)
    const jsonType = this.#json.get(column)
    if (jsonType !== undefined) {
      this.values.push(value === null ? null : JSON.stringify(value))
      return `$${this.values.length}::text::${jsonType}`
    }
    this.values.push(value)
    return `$${this.values.length}`
  }

  where (filter: Filter | undefined): string {
    const parts = Object.entries(filter ?? {}).map(([column, condition]) => this.#condition(column, condition))
    return parts.length > 0 ? ` WHERE ${parts.join(' AND ')}` : ''
  }

  #condition (column: string, condition: Condition): string {
    const col = quote(column)
    if (condition === null) return `${col} IS NULL`
    if (typeof condition !== 'object') return `${col} = ${this.param(column, condition)}`
    const entries = Object.entries(condition)
    const [op, value] = entries[0] ?? []
    if (entries.length === 1 && op === 'in' && Array.isArray(value)) {
      return value.length > 0 ? `${col} IN (${value.map(v => this.param(column, v)).join(', ')})` : 'false'
    }
    if (entries.length === 1 && op !== undefined && op in OPERATORS) {
      return `${col} ${OPERATORS[op as keyof typeof OPERATORS]} ${this.param(column, value)}`
    }
    throw sqlError(`invalid condition on ${column}: ${JSON.stringify(condition)}`, '22023')
  }
}

function quote (name: string): string {
  return `"${checkIdentifier(name)}"`
}

/** Union of the rows' columns in first-seen order; a row without a column gets its DEFAULT. */
function valuesList (st: Statement, rows: Row[]): { columns: string[], values: string } {
  const columns = [...new Set(rows.flatMap(row => Object.keys(row).filter(k => row[k] !== undefined)))]
  if (columns.length === 0) throw sqlError('cannot insert a row without columns', '22023')
  const values = rows.map(row =>
    `(${columns.map(c => row[c] === undefined ? 'DEFAULT' : st.param(c, row[c])).join(', ')})`
  ).join(', ')
  return { columns, values }
}

/** Rows grouped by the (defined) columns they carry, in first-seen order. */
function byColumns (rows: Row[]): Array<[columns: string[], rows: Row[]]> {
  const groups = new Map<string, [string[], Row[]]>()
  for (const row of rows) {
    const columns = Object.keys(row).filter(k => row[k] !== undefined)
    if (columns.length === 0) throw sqlError('cannot insert a row without columns', '22023')
    const key = columns.join('\u0000')
    const group = groups.get(key)
    if (group) group[1].push(row)
    else groups.set(key, [columns, [row]])
  }
  return [...groups.values()]
}

/** A row as jsonb_populate_recordset reads it (the columns were checked when the statement was built; storableJson cleans the values). */
function jsonRow (row: Row, columns: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const c of columns) out[c] = row[c]
  return out
}

export function createSqlBackend (kind: SqlBackend['kind'], driver: SqlDriver): SqlBackend {
  // json/jsonb columns by table, read from the catalog once (a failed read is retried next time).
  let jsonColumns: Promise<Map<string, Map<string, string>>> | undefined
  const loadJsonColumns = () => {
    jsonColumns ??= driver.query(
      `SELECT table_name, column_name, data_type FROM information_schema.columns
       WHERE table_schema = current_schema() AND data_type IN ('json', 'jsonb')`
    ).then(({ rows }) => {
      const byTable = new Map<string, Map<string, string>>()
      for (const r of rows) {
        const table = String(r.table_name)
        if (!byTable.has(table)) byTable.set(table, new Map())
        byTable.get(table)!.set(String(r.column_name), String(r.data_type))
      }
      return byTable
    }, err => {
      jsonColumns = undefined
      throw err
    })
    return jsonColumns
  }
  const statement = async (table: Table) => {
    checkTable(table)
    return new Statement((await loadJsonColumns()).get(table) ?? new Map())
  }

  let closed: Promise<void> | undefined

  return {
    kind,

    // The whole batch goes as one JSON parameter that the database unpacks into rows. A VALUES
    // list binds every field as its own parameter: in PGlite (WASM) the per-parameter work was
    // the larger part of a batch's cost, and the statement text changed with every batch size.
    // Rows are grouped by the columns they carry so a column a row leaves out still gets its
    // DEFAULT (jsonb_populate_recordset would give it NULL). The batch is read as jsonb, not json:
    // json_populate_recordset parses each jsonb column's value a second time, and a 1.2 KB
    // captured exchange cost 39 µs a row on PGlite that way against 30–32 read as jsonb
    // (storableJson has already replaced the U+0000 and lone surrogates jsonb refuses).
    async insert (table, rows) {
      if (rows.length === 0) return
      checkTable(table)
      for (const [columns, group] of byColumns(rows)) {
        const list = columns.map(quote).join(', ')
        await driver.query(
          `INSERT INTO "${table}" (${list}) SELECT ${list} FROM jsonb_populate_recordset(NULL::"${table}", $1::text::jsonb) ON CONFLICT ("${primaryKey(table)}") DO NOTHING`,
          [storableJson(group.map(row => jsonRow(row, columns)))]
        )
      }
    },

    async upsert (table, rows, onConflict) {
      if (rows.length === 0) return
      const st = await statement(table)
      const { columns, values } = valuesList(st, rows)
      const updates = columns.filter(c => !onConflict.includes(c)).map(c => `${quote(c)} = EXCLUDED.${quote(c)}`)
      await driver.query(
        `INSERT INTO "${table}" (${columns.map(quote).join(', ')}) VALUES ${values}
         ON CONFLICT (${onConflict.map(quote).join(', ')}) DO ${updates.length > 0 ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`,
        st.values
      )
    },

    async update (table, where, patch) {
      const st = await statement(table)
      const set = Object.entries(patch).filter(([, v]) => v !== undefined).map(([c, v]) => `${quote(c)} = ${st.param(c, v)}`)
      if (set.length === 0) return 0
      if (CHANGE_TRACKED.has(table) && patch.changed_at === undefined) set.push(CHANGED_NOW)
      const { rowCount } = await driver.query(`UPDATE "${table}" SET ${set.join(', ')}${st.where(where)}`, st.values)
      return rowCount
    },

    // One JSON parameter holds every move (as insert's rows); the CASE applies each move's own
    // status rule. Statuses and their allowed predecessors are bound values. Every column is
    // checked by quote() and jsonb_populate_recordset gives each value its column's type.
    async updateEach (table, key, moves, from) {
      if (moves.length === 0) return 0
      const st = await statement(table)
      const columns = Object.keys(moves[0]!).filter(c => c !== key && moves[0]![c] !== undefined)
      const set = columns.map(c => `${quote(c)} = v.${quote(c)}`)
      if (CHANGE_TRACKED.has(table) && !columns.includes('changed_at')) set.push(CHANGED_NOW)
      st.values.push(storableJson(moves.map(m => jsonRow(m, [key, ...columns])))) // $1
      const rule = from === undefined
        ? ''
        : ` AND CASE v."status" ${Object.entries(from).map(([status, previous]) =>
          `WHEN ${st.param('', status)} THEN ${previous.length > 0 ? `t."status" IN (${previous.map(p => st.param('', p)).join(', ')})` : 'false'}`).join(' ')} ELSE false END`
      const { rowCount } = await driver.query(
        `UPDATE "${table}" AS t SET ${set.join(', ')} FROM jsonb_populate_recordset(NULL::"${table}", $1::text::jsonb) AS v
         WHERE t.${quote(key)} = v.${quote(key)}${rule}`,
        st.values
      )
      return rowCount
    },

    async select (table, query: SelectQuery = {}) {
      const st = await statement(table)
      let text = `SELECT * FROM "${table}"${st.where(query.where)}`
      if (query.orderBy !== undefined) text += ` ORDER BY ${quote(query.orderBy.column)} ${query.orderBy.ascending === false ? 'DESC' : 'ASC'}`
      if (query.limit !== undefined) text += ` LIMIT ${st.param('', query.limit)}`
      if (query.offset !== undefined) text += ` OFFSET ${st.param('', query.offset)}`
      return (await driver.query(text, st.values)).rows
    },

    async count (table, where) {
      const st = await statement(table)
      const { rows } = await driver.query(`SELECT count(*) AS count FROM "${table}"${st.where(where)}`, st.values)
      return Number(rows[0]?.count ?? 0)
    },

    async delete (table, where) {
      const st = await statement(table)
      return (await driver.query(`DELETE FROM "${table}"${st.where(where)}`, st.values)).rowCount
    },

    async rpc<T> (fn: string, args: Record<string, unknown> = {}) {
      const values: unknown[] = []
      // Named arguments, as PostgREST calls functions; objects go as JSON text for json/jsonb parameters.
      const list = Object.entries(args).map(([name, value]) => {
        values.push(value !== null && typeof value === 'object' && !(value instanceof Date) ? storableJson(value) : storable(value))
        return `${quote(name)} => $${values.length}`
      })
      const { rows } = await driver.query(`SELECT ${quote(fn)}(${list.join(', ')}) AS result`, values)
      return rows[0]?.result as T
    },

    async ping () {
      await driver.query('SELECT 1')
    },

    exec: sql => driver.exec(sql),
    query: (text, values) => driver.query(text, values),

    close () {
      closed ??= driver.close()
      return closed
    }
  }
}
