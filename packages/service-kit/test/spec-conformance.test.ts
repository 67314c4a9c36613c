import t from 'tap'
import { loadSpec, SPECS_DIR, SpecConformance, type SpecDocument } from '../src/testing/spec-conformance.ts'

const json = (body: unknown) => ({ status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body, text: JSON.stringify(body) })

const doc: SpecDocument = {
  openapi: '3.1.0',
  paths: {
    '/things/{id}': {
      get: {
        responses: {
          200: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } },
          404: { $ref: '#/components/responses/NotFound' }
        }
      },
      delete: { responses: { 204: { description: 'gone' } } },
      put: { requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } }, responses: { 200: { content: { 'application/json': {} } } } }
    }
  },
  components: {
    schemas: {
      Thing: { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' }, note: { type: 'string', nullable: true }, size: { type: 'integer' } } }
    },
    responses: { NotFound: { content: { 'application/json': { schema: { type: 'object', required: ['message'], properties: { message: { type: 'string' } } } } } } }
  }
}
const id = '3f9a6c1e-7b2d-4e8a-9c41-5d2b8e6f0a11'

t.test('a missing spec file is an error that says where it was looked for, never a silent pass', async t => {
  t.throws(() => loadSpec('nowhere/missing.json'), { message: /nowhere\/missing\.json is missing: expected at .*shared\/reference\/specs\/nowhere\/missing\.json/ })
  t.match(SPECS_DIR, /\/shared\/reference\/specs$/)
})

t.test('statuses and bodies are held to the document: $refs followed, formats checked, nullable read as meant', async t => {
  const spec = new SpecConformance(doc)
  t.same(spec.response('GET /things/{id}', json({ id, note: null, size: 3 })), [])
  t.match(spec.response('GET /things/{id}', json({ id: 'nope', size: 1.5 })), [/refuses: \/id must match format "uuid".*\/size must be integer/])
  t.match(spec.response('GET /things/{id}', json({ note: 'x' })), [/must have required property 'id'/])
  t.same(spec.response('GET /things/{id}', { ...json({ message: 'no such thing' }), status: 404 }), [], 'a components/responses $ref')
  t.match(spec.response('GET /things/{id}', { ...json({ error: 'x' }), status: 500 }), [/answered 500, a status the spec does not list for it \(200, 404\)/])
  t.match(spec.response('GET /things/{id}', { status: 200, headers: { 'content-type': 'text/plain' }, body: 'hi', text: 'hi' }), [/content-type "text\/plain"/])
  t.match(spec.response('GET /things/{id}', { status: 200, headers: { 'content-type': 'application/json' }, body: undefined, text: '' }), [/no body where the spec describes one/])
  t.same(spec.response('DELETE /things/{id}', { status: 204, body: undefined, text: '' }), [])
  t.match(spec.response('DELETE /things/{id}', { ...json({ gone: true }), status: 204 }), [/with a body where the spec describes none/])
  t.same(spec.response('PUT /things/{id}', json(['any', 'json'])), [], 'a media type without a schema takes any JSON')
  t.match(spec.response('PUT /things/{id}', { status: 200, headers: { 'content-type': 'application/json' }, body: '{', text: '{' }), [/not JSON/])
  t.same(spec.request('PUT /things/{id}', { id }), [])
  t.match(spec.request('PUT /things/{id}', { id: 7 }), [/request body is refused.*\/id must be string/])
  t.throws(() => spec.response('POST /things/{id}', json({})), { message: /not an operation of the spec/ })
  t.same([...spec.checked()].sort(), ['DELETE /things/{id} 204', 'GET /things/{id} 200', 'GET /things/{id} 404', 'GET /things/{id} 500', 'PUT /things/{id} 200'])
})

t.test('overrides: a status the reference documents, and a patch that must find its place', async t => {
  const spec = new SpecConformance(doc, {
    statuses: [
      { status: 403, schema: { type: 'object', required: ['detail'] }, reason: 'test' },
      { status: 202, operations: ['DELETE /things/{id}'], reason: 'test: no body' }
    ],
    patches: [{ at: '#/components/schemas/Thing/properties/size', set: { type: 'number' }, reason: 'test' }]
  })
  t.same(spec.response('GET /things/{id}', json({ id, size: 1.5 })), [], 'the patched type')
  t.same(spec.response('GET /things/{id}', { ...json({ detail: 'no' }), status: 403 }), [])
  t.match(spec.response('GET /things/{id}', { ...json({ message: 'no' }), status: 403 }), [/refuses: .*required property 'detail'/])
  t.same(spec.response('DELETE /things/{id}', { status: 202, body: undefined, text: '' }), [])
  t.match(spec.response('GET /things/{id}', { ...json({}), status: 202 }), [/a status the spec does not list/], 'only for the operations it names')
  t.throws(() => new SpecConformance(doc, { patches: [{ at: '#/components/schemas/Gone/properties/x', set: {}, reason: 'r' }] }), { message: /no such schema in the spec any more/ })
  t.throws(() => new SpecConformance(doc, { statuses: [{ status: 400, operations: ['GET /nope'], reason: 'r' }] }), { message: /GET \/nope is not an operation/ })
})

t.test('Swagger 2.0 (draft-07 schemas): types checked, a 204 has no body', async t => {
  const spec = new SpecConformance({
    swagger: '2.0',
    paths: { '/m/{id}': { get: { responses: { 200: { schema: { $ref: '#/definitions/M' } }, 404: { description: 'none' } } }, delete: { responses: { 204: { description: 'gone' } } } } },
    definitions: { M: { type: 'object', properties: { id: { type: 'integer' }, topic: { type: 'string' } } } }
  })
  t.same(spec.response('GET /m/{id}', json({ id: 1, topic: 'x' })), [])
  t.match(spec.response('GET /m/{id}', json({ id: '1' })), [/\/id must be integer/])
  t.same(spec.response('GET /m/{id}', { ...json({ code: 3001 }), status: 404 }), [], 'a response the file gives no schema takes any body')
  t.match(spec.response('DELETE /m/{id}', { ...json({}), status: 204 }), [/body where the spec describes none/])
})
