import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { BUILT_IN, loadDataset, readDataset, type LoadReport } from '@switchboard/datasets/load'
import { seedOf } from '@switchboard/datasets/plan'
import { errorResponses } from '@switchboard/schemas/common'
import { appError } from '@switchboard/service-kit/errors'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import { emptyBodyIsEmptyObject } from './optional-body.ts'

export interface AdminDatasetsOptions {
  tokens: { apiToken: string, adminToken: string }
}

const tags = ['admin']
const security = [{ adminToken: [] }]

const LoadStateSchema = Type.Object({
  dataset: Type.String(),
  status: Type.Union([Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')]),
  started_at: Type.String({ format: 'date-time' }),
  seed: Type.Union([Type.Integer(), Type.Null()], { description: 'The seed the data set is planned with' }),
  steps: Type.Integer(),
  ok: Type.Union([Type.Integer(), Type.Null()]),
  failures: Type.Array(Type.String()),
  error: Type.Union([Type.String(), Type.Null()])
})
const LoadRequestSchema = Type.Object({
  seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, description: 'The same seed, the same data (default 42, as ./switchboard dataset)' })),
  latency_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000, description: 'Each request\'s provider latency in ms; unset: a realistic 80-600 ms' }))
}, { additionalProperties: false })
const DatasetsReplySchema = Type.Object({ items: Type.Array(Type.String()), load: Type.Union([LoadStateSchema, Type.Null()]) })
type LoadState = typeof LoadStateSchema.static

/**
 * The admin page's "Load data set" button: plays a built-in data set through this gateway's own
 * public API (the same code paths as live traffic, as `./switchboard dataset` does), in the
 * background, one at a time. GET shows how the last load went.
 */
export const adminDatasetRoutes: FastifyPluginAsyncTypebox<AdminDatasetsOptions> = async (app, { tokens }) => {
  let load: LoadState | null = null

  app.get('/api/admin/datasets', {
    schema: { tags, security, summary: 'The built-in data sets, and how the last load from the admin API went', response: { 200: DatasetsReplySchema, ...errorResponses } }
  }, async () => ({ items: [...BUILT_IN], load }))

  app.post('/api/admin/datasets/:name/load', {
    preValidation: emptyBodyIsEmptyObject,
    schema: { tags, security, summary: 'Load a built-in data set through the public API, in the background (GET /api/admin/datasets shows progress)', params: Type.Object({ name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }) }), body: LoadRequestSchema, response: { 202: DatasetsReplySchema, ...errorResponses } }
  }, async (request, reply) => {
    const name = request.params.name
    if (!(BUILT_IN as readonly string[]).includes(name)) throw appError('ADMIN_DATASET_NOT_FOUND', `No built-in data set "${name}". Known: ${BUILT_IN.join(', ')}. Load your own file with ./switchboard dataset <path> from a clone of Switchboard.`)
    if (load?.status === 'running') throw appError('ADMIN_DATASET_LOADING', `The data set ${load.dataset} is still loading; wait for it to finish.`)
    const dataset = readDataset(name)
    const state: LoadState = { dataset: name, status: 'running', started_at: new Date().toISOString(), seed: seedOf(dataset, request.body.seed), steps: 0, ok: null, failures: [], error: null }
    load = state
    const { seed, latency_ms: latency } = request.body
    loadDataset(dataset, {
      baseUrl: selfBaseUrl(app),
      apiToken: tokens.apiToken,
      adminToken: tokens.adminToken,
      ...(seed === undefined ? {} : { seed }),
      ...(latency === undefined ? {} : { latency }),
      // Shown while it runs: how many steps there are, and how many went through so far.
      progress: (_done, ok, total) => { if (state.status === 'running') Object.assign(state, { steps: total, ok }) }
    })
      .then((report: LoadReport) => {
        Object.assign(state, { status: 'done', seed: report.seed, steps: report.steps, ok: report.ok, failures: report.failures.slice(0, 20).map(f => `${f.kind} ${f.status}: ${f.message}`.slice(0, 300)) })
      })
      .catch((err: Error) => { Object.assign(state, { status: 'failed', error: err.message }) })
    return reply.code(202).send({ items: [...BUILT_IN], load })
  })
}
