/**
 * The activity log through a Supabase project's REST API (PostgREST, via supabase-js).
 *
 * No migrations here: a Supabase project's schema is applied from supabase/migrations by
 * `supabase db push`, not by the services using it.
 */
import { createClient } from '@supabase/supabase-js'
import type { Backend, Filter, Row, Table } from '../types.ts'
import { checkIdentifier, checkTable, primaryKey, sqlError, storable, toIsoTimestamp } from '../tables.ts'

export interface SupabaseConfig {
  url: string
  serviceKey: string
}

interface PostgrestResult<T> {
  data: T | null
  error: { message: string, code?: string, details?: string | null, hint?: string | null } | null
  count?: number | null
}

/** The filter methods every postgrest-js filter builder has. */
interface Filterable<Self> {
  eq (column: string, value: unknown): Self
  neq (column: string, value: unknown): Self
  gt (column: string, value: unknown): Self
  gte (column: string, value: unknown): Self
  lt (column: string, value: unknown): Self
  lte (column: string, value: unknown): Self
  in (column: string, values: readonly unknown[]): Self
  is (column: string, value: null): Self
  not (column: string, operator: string, value: unknown): Self
}

function applyFilter<Q extends Filterable<Q>> (query: Q, table: Table, where: Filter | undefined, matchAllIfEmpty = false): Q {
  const entries = Object.entries(storable(where ?? {}))
  // PostgREST refuses (and Supabase's safeupdate forbids) UPDATE/DELETE without a filter.
  if (entries.length === 0 && matchAllIfEmpty) return query.not(primaryKey(table), 'is', null)
  for (const [column, condition] of entries) {
    checkIdentifier(column)
    if (condition === null) query = query.is(column, null)
    else if (typeof condition !== 'object') query = query.eq(column, condition)
    else if ('in' in condition && Array.isArray(condition.in)) query = query.in(column, condition.in)
    else if ('gte' in condition) query = query.gte(column, condition.gte)
    else if ('lte' in condition) query = query.lte(column, condition.lte)
    else if ('gt' in condition) query = query.gt(column, condition.gt)
    else if ('lt' in condition) query = query.lt(column, condition.lt)
    else if ('neq' in condition) query = query.neq(column, condition.neq)
    else throw sqlError(`invalid condition on ${column}: ${JSON.stringify(condition)}`, '22023')
  }
  return query
}

/** PostgREST errors carry the SQLSTATE (or a PGRST code): keep it, the writer's retry policy reads it. */
function unwrap<T> (result: PostgrestResult<T>, what: string): PostgrestResult<T> {
  if (result.error !== null) {
    const { message, code = '', details, hint } = result.error
    throw Object.assign(new Error(`supabase ${what}: ${message}`), { code, details, hint })
  }
  return result
}

interface TableShape {
  /** The `select` list: numeric columns cast to text so amounts stay exact decimal strings. */
  select: string
  timestamps: string[]
}

/**
 * supabase-js builds a Realtime client inside createClient, and without a WebSocket (Node 20 has no
 * global one; the npm package supports it) that throws. This backend uses the REST API only, so
 * Realtime gets a transport that is never opened.
 */
class NoRealtime {
  constructor () { throw new Error('the activity log does not use Supabase Realtime') }
}

export function createSupabaseBackend ({ url, serviceKey }: SupabaseConfig): Backend {
  const baseUrl = url.replace(/\/+$/, '')
  const client = createClient(baseUrl, serviceKey, { auth: { persistSession: false }, realtime: { transport: NoRealtime as never } })
  // setHeader replaces postgrest-js's own Prefer, so each write states its preferences in full:
  // return=minimal because the writer never needs the rows echoed back.
  const insertPrefer = 'resolution=ignore-duplicates,missing=default,return=minimal'
  const upsertPrefer = 'resolution=merge-duplicates,missing=default,return=minimal'
  const countPrefer = 'count=exact,return=minimal'

  // Column types come from PostgREST's OpenAPI description, read once: JSON has no decimal type,
  // so numeric columns are selected as text, and timestamps are normalised like the SQL backends'.
  let shapes: Promise<Map<string, TableShape> | undefined> | undefined
  const loadShapes = () => {
    shapes ??= fetch(`${baseUrl}/rest/v1/`, {
      headers: { apikey: serviceKey, Authorization: `Bearer ${serviceKey}`, Accept: 'application/openapi+json' }
    }).then(async res => {
      // Description turned off on this project: fall back to `*` (numeric comes back as numbers).
      if (!res.ok) return undefined
      const spec = await res.json() as { definitions?: Record<string, { properties?: Record<string, { format?: string }> }> }
      const byTable = new Map<string, TableShape>()
      for (const [table, def] of Object.entries(spec.definitions ?? {})) {
        const columns = Object.entries(def.properties ?? {})
        byTable.set(table, {
          select: columns.map(([c, p]) => p.format === 'numeric' ? `${c}::text` : c).join(','),
          timestamps: columns.filter(([, p]) => p.format === 'timestamp with time zone').map(([c]) => c)
        })
      }
      return byTable
    }, err => {
      shapes = undefined
      throw err
    })
    return shapes
  }
  const normalise = (row: Row, shape: TableShape | undefined): Row => {
    for (const column of shape?.timestamps ?? []) {
      const value = row[column]
      if (typeof value === 'string') row[column] = toIsoTimestamp(value)
    }
    return row
  }

  return {
    kind: 'supabase',

    async insert (table, rows) {
      if (rows.length === 0) return
      unwrap(await client.from(checkTable(table))
        .upsert(storable(rows), { onConflict: primaryKey(table), ignoreDuplicates: true, defaultToNull: false })
        .setHeader('Prefer', insertPrefer), `insert into ${table}`)
    },

    async upsert (table, rows, onConflict) {
      if (rows.length === 0) return
      unwrap(await client.from(checkTable(table))
        .upsert(storable(rows), { onConflict: onConflict.map(checkIdentifier).join(','), defaultToNull: false })
        .setHeader('Prefer', upsertPrefer), `upsert into ${table}`)
    },

    async update (table, where, patch) {
      if (Object.values(patch).every(v => v === undefined)) return 0
      const query = client.from(checkTable(table)).update(storable(patch), { count: 'exact' }).setHeader('Prefer', countPrefer)
      return unwrap(await applyFilter(query, table, where, true), `update ${table}`).count ?? 0
    },

    // One request for the whole run (the SQL function builds the statement the SQL backends send).
    async updateEach (table, key, moves, from) {
      if (moves.length === 0) return 0
      const args = { p_table: checkTable(table), p_key: checkIdentifier(key), p_rows: storable(moves), p_from: from ?? null }
      return unwrap(await client.rpc('activity_update_each', args), `update ${table}`).data as number
    },

    async select (table, query = {}) {
      if (query.limit === 0) return []
      const shape = (await loadShapes())?.get(checkTable(table))
      let q = applyFilter(client.from(table).select<string, Row>(shape?.select ?? '*'), table, query.where)
      if (query.orderBy !== undefined) q = q.order(checkIdentifier(query.orderBy.column), { ascending: query.orderBy.ascending !== false })
      if (query.limit !== undefined || query.offset !== undefined) {
        const from = query.offset ?? 0
        q = q.range(from, from + (query.limit ?? 1_000_000_000) - 1)
      }
      const { data } = unwrap(await q, `select from ${table}`)
      return (data as unknown as Row[] ?? []).map(row => normalise(row, shape))
    },

    async count (table, where) {
      const query = client.from(checkTable(table)).select('*', { count: 'exact', head: true })
      return unwrap(await applyFilter(query, table, where), `count ${table}`).count ?? 0
    },

    async delete (table, where) {
      const query = client.from(checkTable(table)).delete({ count: 'exact' }).setHeader('Prefer', countPrefer)
      return unwrap(await applyFilter(query, table, where, true), `delete from ${table}`).count ?? 0
    },

    async rpc<T> (fn: string, args: Record<string, unknown> = {}) {
      return unwrap(await client.rpc(checkIdentifier(fn), storable(args)), `rpc ${fn}`).data as T
    },

    async ping () {
      // No built-in retries: readiness wants the answer now.
      unwrap(await client.from('settings').select('key', { head: true }).limit(1).retry(false), 'ping')
    },

    // Nothing to release: no realtime channel is ever opened (removeAllChannels would only arm a
    // 10 s disconnect timer that keeps the process alive), and idle HTTP sockets do not.
    async close () {}
  }
}
