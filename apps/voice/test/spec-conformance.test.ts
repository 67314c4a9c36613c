/**
 * The Bolna emulator against Bolna's own OpenAPI document (bolna-ai/skills references/openapi.yml,
 * read from ../shared/reference/specs): every operation of it the emulator serves, its success
 * and its errors, each status one the document lists and each body matching its schema; and the
 * webhook posts, which carry the execution object (the document's AgentExecution). Where
 * providers.md (the live-verified notes) says Bolna answers otherwise, the override says so and why.
 */
import t, { type Test } from 'tap'
import { request } from 'undici'
import { loadSpec, SpecConformance, type SchemaPatch, type SpecReply, type StatusOverride } from '@switchboard/service-kit/spec-conformance'
import { startRecorder, type JsonReply } from '@switchboard/service-kit/testing'
import { AGENTS, auth, eventually, NUMBERS, startVoiceApp } from './helper.ts'

const ERROR = { $ref: '#/components/schemas/Error' }
const statuses: StatusOverride[] = [
  {
    status: 403,
    schema: { type: 'object', required: ['detail'], properties: { detail: { type: 'string' } } },
    reason: 'providers.md §4: a refused key is 403 {"detail": "..."} on the live API (MCP authors, 2026-07-13), not the spec\'s 401'
  },
  { status: 404, operations: ['POST /batches/{batch_id}/stop'], schema: { type: 'object', required: ['message'], properties: { message: { type: 'string' } } }, reason: 'providers.md §4: 404 {"message":"Batch is not queued or running"}' },
  { status: 404, schema: ERROR, reason: 'providers.md §4: 404 for an unknown agent or execution (the spec\'s Error body)' },
  {
    status: 422,
    schema: {
      type: 'object',
      required: ['detail'],
      properties: { detail: { type: 'array', minItems: 1, items: { type: 'object', required: ['type', 'loc', 'msg'], properties: { type: { type: 'string' }, loc: { type: 'array' }, msg: { type: 'string' } } } } }
    },
    reason: 'providers.md §4: 422 on validation, FastAPI\'s {"detail":[{loc,msg,type}]} (unverified)'
  },
  { status: 429, schema: ERROR, reason: 'providers.md §4: 429 with an optional Retry-After (rate limits per minute)' },
  {
    status: 201,
    operations: ['POST /batches'],
    schema: { $ref: '#/paths/~1batches/post/responses/200/content/application~1json/schema' },
    reason: 'providers.md §4: POST /batches is 201 per the docs (AGENTS.md), 200 per the spec; unverified which is live'
  }
]

/**
 * What Bolna sends as null while it is unknown (a call not in a batch, not ended, not recorded):
 * providers.md §4 gives batch_id as "32-hex or null"; recorded live execution payloads (third
 * parties' fixtures) carry null for error_message, scheduled_at and the telephony fields below.
 * The spec types them as plain strings and integers.
 */
const nullable = (at: string, fields: string[]): SchemaPatch[] =>
  fields.map(f => ({ at: `#/components/schemas/${at}/properties/${f}`, set: { nullable: true }, reason: 'providers.md §4 and recorded live payloads: null while unknown' }))
const patches: SchemaPatch[] = [
  ...nullable('AgentExecution', ['batch_id', 'error_message']),
  ...nullable('TelephonyData', ['recording_url', 'provider_call_id', 'hangup_by', 'hangup_reason', 'hangup_provider_code', 'ring_duration', 'post_dial_delay', 'to_number_carrier']),
  // A batch not scheduled yet (the official CLI reads scheduled_at as a nullable string).
  ...nullable('Batch', ['scheduled_at']),
  {
    at: '#/components/schemas/LlmAgentV2/properties/llm_config',
    set: { oneOf: undefined, anyOf: [{ $ref: '#/components/schemas/SimpleLlmAgent' }, { $ref: '#/components/schemas/KnowledgebaseAgent' }] },
    reason: 'a defect of the spec: KnowledgebaseAgent is SimpleLlmAgent plus an optional vector_store, so no llm_config can match exactly one of them'
  },
  {
    at: '#/components/schemas/Toolchain/properties/pipelines',
    set: { items: { type: 'array', items: { type: 'string', enum: ['transcriber', 'llm', 'synthesizer'] } } },
    reason: 'a defect of the spec: its own example (and Bolna\'s agent examples) give pipelines as a list of lists, [["transcriber","llm","synthesizer"]]'
  }
]
const spec = new SpecConformance(loadSpec('bolna/openapi.yml'), { statuses, patches })

function conforms (t: Test, operation: string, reply: SpecReply, status: number): void {
  t.equal(reply.status, status, `${operation}: ${status}`)
  t.same(spec.response(operation, reply), [], `${operation} ${reply.status} conforms to the spec`)
}

const { url, call } = await startVoiceApp(t)
const B = '/bolna'
const MISSING = '00000000-0000-4000-8000-000000000000'

/** multipart/form-data as the spec describes POST /batches and its schedule (curl -F). */
async function form (path: string, fields: Array<[string, string, string?]>): Promise<JsonReply> {
  const boundary = '----switchboard-spec'
  const body = fields.map(([name, value, file]) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file ? `; filename="${file}"\r\nContent-Type: text/csv` : ''}\r\n\r\n${value}\r\n`).join('') + `--${boundary}--\r\n`
  const res = await request(`${url}${B}${path}`, { method: 'POST', headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` }, body })
  const raw = Buffer.from(await res.body.arrayBuffer())
  const text = raw.toString('utf8')
  return { status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : undefined, text, raw, ms: 0 }
}

t.test('calls: POST /call, stop, the execution, its log and the legacy paths to it', async t => {
  const hook = await startRecorder(t)
  await call('PATCH', `${B}/v2/agent/${AGENTS.reminder}`, { agent_config: { webhook_url: `${hook.origin}/bolna` } }, auth)

  const body = { agent_id: AGENTS.reminder, recipient_phone_number: NUMBERS.completed, from_phone_number: '+919876543210', user_data: { name: 'Priya' } }
  t.same(spec.request('POST /call', body), [], 'the test\'s request is valid per the spec')
  const placed = await call('POST', `${B}/call`, body, auth)
  conforms(t, 'POST /call', placed, 200)
  const id = placed.body.execution_id as string
  conforms(t, 'POST /call', await call('POST', `${B}/call`, { ...body, recipient_phone_number: '12345' }, auth), 400)
  conforms(t, 'POST /call', await call('POST', `${B}/call`, { recipient_phone_number: NUMBERS.completed }, auth), 422)
  conforms(t, 'POST /call', await call('POST', `${B}/call`, { ...body, agent_id: MISSING }, auth), 404)
  conforms(t, 'POST /call', await call('POST', `${B}/call`, body), 403)
  conforms(t, 'POST /call', await call('POST', `${B}/call`, body, { ...auth, 'x-switchboard-outcome': 'rate_limited' }), 429)

  // Every status change is posted with the execution object: each one is the spec's AgentExecution.
  const posted = () => hook.received.map(r => JSON.parse(r.body)).filter(e => e.id === id)
  const posts = await eventually(async () => posted().some(e => e.status === 'completed') && posted())
  t.same(posts.flatMap(e => spec.schema('#/components/schemas/AgentExecution', e)), [], 'every webhook post is an AgentExecution')
  t.same(posts.map(e => e.status).sort(), ['call-disconnected', 'completed', 'in-progress', 'initiated', 'queued', 'ringing'], 'one post per status, queued included')

  conforms(t, 'GET /executions/{execution_id}', await call('GET', `${B}/executions/${id}`, undefined, auth), 200)
  conforms(t, 'GET /executions/{execution_id}', await call('GET', `${B}/executions/${MISSING}`, undefined, auth), 404)
  conforms(t, 'GET /executions/{execution_id}', await call('GET', `${B}/executions/not-a-uuid`, undefined, auth), 422)
  conforms(t, 'GET /executions/{execution_id}/log', await call('GET', `${B}/executions/${id}/log`, undefined, auth), 200)
  conforms(t, 'GET /executions/{execution_id}/log', await call('GET', `${B}/executions/${MISSING}/log`, undefined, auth), 404)
  conforms(t, 'GET /agent/{agent_id}/execution/{execution_id}', await call('GET', `${B}/agent/${AGENTS.reminder}/execution/${id}`, undefined, auth), 200)
  conforms(t, 'GET /agent/{agent_id}/execution/{execution_id}', await call('GET', `${B}/agent/${AGENTS.payment}/execution/${id}`, undefined, auth), 404)
  conforms(t, 'GET /agent/{agent_id}/executions', await call('GET', `${B}/agent/${AGENTS.reminder}/executions`, undefined, auth), 200)
  conforms(t, 'GET /agent/{agent_id}/executions', await call('GET', `${B}/agent/${MISSING}/executions`, undefined, auth), 404)
  const v2 = 'GET /v2/agent/{agent_id}/executions'
  const page = await call('GET', `${B}/v2/agent/${AGENTS.reminder}/executions?page_number=1&page_size=10&status=completed&call_type=outbound`, undefined, auth)
  conforms(t, v2, page, 200)
  t.ok(page.body.data.some((e: { id: string }) => e.id === id), 'the call is listed')
  conforms(t, v2, await call('GET', `${B}/v2/agent/${AGENTS.reminder}/executions?page_size=500`, undefined, auth), 422)

  // A call scheduled for later can be stopped; a finished one cannot.
  const later = await call('POST', `${B}/call`, { ...body, scheduled_at: new Date(Date.now() + 3_600_000).toISOString().replace('Z', '+00:00') }, auth)
  conforms(t, 'POST /call', later, 200)
  conforms(t, 'POST /call/{execution_id}/stop', await call('POST', `${B}/call/${later.body.execution_id}/stop`, undefined, auth), 200)
  conforms(t, 'POST /call/{execution_id}/stop', await call('POST', `${B}/call/${id}/stop`, undefined, auth), 400)
  conforms(t, 'POST /call/{execution_id}/stop', await call('POST', `${B}/call/${MISSING}/stop`, undefined, auth), 404)
})

t.test('agents: create, list, read, update, replace, stop and delete (/v2/agent)', async t => {
  // A conversation task as the spec's TasksConfigV2 describes one (its example values).
  const task = {
    task_type: 'conversation',
    tools_config: {
      llm_agent: { agent_type: 'simple_llm_agent', agent_flow_type: 'streaming', llm_config: { provider: 'openai', family: 'openai', model: 'gpt-4.1-mini', max_tokens: 150, temperature: 0.1 } },
      synthesizer: { provider: 'elevenlabs', provider_config: { voice: 'Nila', voice_id: 'V9LCAAi4tTlqe9JadbCo', model: 'eleven_turbo_v2_5' }, stream: true, buffer_size: 250, audio_format: 'wav' },
      transcriber: { provider: 'deepgram', model: 'nova-3', language: 'hi', stream: true, sampling_rate: 16000, encoding: 'linear16', endpointing: 250 },
      input: { provider: 'plivo', format: 'wav' },
      output: { provider: 'plivo', format: 'wav' }
    },
    toolchain: { execution: 'parallel', pipelines: [['transcriber', 'llm', 'synthesizer']] },
    task_config: { hangup_after_silence: 10, call_terminate: 90 }
  }
  const agent = {
    agent_config: { agent_name: 'Spec agent', agent_welcome_message: 'Hello', webhook_url: 'https://example.com/hook', tasks: [task] },
    agent_prompts: { task_1: { system_prompt: 'Be brief.' } }
  }
  t.same(spec.request('POST /v2/agent', agent), [], 'the test\'s request is valid per the spec')
  const created = await call('POST', `${B}/v2/agent`, agent, auth)
  conforms(t, 'POST /v2/agent', created, 200)
  const id = created.body.agent_id as string
  conforms(t, 'POST /v2/agent', await call('POST', `${B}/v2/agent`, { agent_prompts: agent.agent_prompts }, auth), 422)
  conforms(t, 'GET /v2/agent/all', await call('GET', `${B}/v2/agent/all`, undefined, auth), 200)
  conforms(t, 'GET /v2/agent/{agent_id}', await call('GET', `${B}/v2/agent/${id}`, undefined, auth), 200)
  conforms(t, 'GET /v2/agent/{agent_id}', await call('GET', `${B}/v2/agent/${AGENTS.lead}`, undefined, auth), 200)
  conforms(t, 'GET /v2/agent/{agent_id}', await call('GET', `${B}/v2/agent/${MISSING}`, undefined, auth), 404)
  conforms(t, 'PATCH /v2/agent/{agent_id}', await call('PATCH', `${B}/v2/agent/${id}`, { agent_config: { agent_name: 'Renamed' } }, auth), 200)
  conforms(t, 'PATCH /v2/agent/{agent_id}', await call('PATCH', `${B}/v2/agent/${id}`, { agent_config: { webhook_url: 'not a url' } }, auth), 422)
  conforms(t, 'PATCH /v2/agent/{agent_id}', await call('PATCH', `${B}/v2/agent/${MISSING}`, { agent_config: { agent_name: 'X' } }, auth), 404)
  conforms(t, 'PUT /v2/agent/{agent_id}', await call('PUT', `${B}/v2/agent/${id}`, agent, auth), 200)
  conforms(t, 'PUT /v2/agent/{agent_id}', await call('PUT', `${B}/v2/agent/${MISSING}`, agent, auth), 404)
  conforms(t, 'POST /v2/agent/{agent_id}/stop', await call('POST', `${B}/v2/agent/${id}/stop`, undefined, auth), 200)
  conforms(t, 'POST /v2/agent/{agent_id}/stop', await call('POST', `${B}/v2/agent/${MISSING}/stop`, undefined, auth), 404)
  conforms(t, 'DELETE /v2/agent/{agent_id}', await call('DELETE', `${B}/v2/agent/${id}`, undefined, auth), 200)
  conforms(t, 'DELETE /v2/agent/{agent_id}', await call('DELETE', `${B}/v2/agent/${id}`, undefined, auth), 404)
})

t.test('batches: create, schedule, read, list, executions, stop and delete', async t => {
  const csv = 'contact_number,name\r\n+919855550100,Priya\r\n+919855550101,Ravi\r\n'
  const created = await form('/batches', [['agent_id', AGENTS.reminder], ['from_phone_numbers', '+919876543210'], ['file', csv, 'contacts.csv']])
  conforms(t, 'POST /batches', created, 201)
  const id = created.body.batch_id as string
  conforms(t, 'POST /batches', await form('/batches', [['agent_id', AGENTS.reminder], ['file', 'phone\r\n+919855550100\r\n', 'contacts.csv']]), 400)
  conforms(t, 'POST /batches', await form('/batches', [['file', csv, 'contacts.csv']]), 422)
  conforms(t, 'GET /batches/{batch_id}', await call('GET', `${B}/batches/${id}`, undefined, auth), 200)
  conforms(t, 'GET /batches/{batch_id}', await call('GET', `${B}/batches/${'0'.repeat(32)}`, undefined, auth), 404)

  const schedule = 'POST /batches/{batch_id}/schedule'
  conforms(t, schedule, await form(`/batches/${id}/schedule`, [['scheduled_at', 'tomorrow']]), 400)
  conforms(t, schedule, await form(`/batches/${id}/schedule`, [['scheduled_at', new Date(Date.now() + 50).toISOString().replace('Z', '+00:00')]]), 200)
  conforms(t, schedule, await form(`/batches/${'0'.repeat(32)}/schedule`, [['scheduled_at', '2030-01-01T10:00:00+05:30']]), 404)
  await eventually(async () => (await call('GET', `${B}/batches/${id}`, undefined, auth)).body.status === 'executed')
  const done = await call('GET', `${B}/batches/${id}`, undefined, auth)
  conforms(t, 'GET /batches/{batch_id}', done, 200)
  const executions = await call('GET', `${B}/batches/${id}/executions`, undefined, auth)
  conforms(t, 'GET /batches/{batch_id}/executions', executions, 200)
  t.equal(executions.body.length, 2)
  conforms(t, 'GET /batches/{batch_id}/executions', await call('GET', `${B}/batches/${'0'.repeat(32)}/executions`, undefined, auth), 404)
  conforms(t, 'GET /batches/{agent_id}/all', await call('GET', `${B}/batches/${AGENTS.reminder}/all`, undefined, auth), 200)
  conforms(t, 'GET /batches/{agent_id}/all', await call('GET', `${B}/batches/${MISSING}/all`, undefined, auth), 404)

  const later = (await form('/batches', [['agent_id', AGENTS.reminder], ['file', csv, 'contacts.csv']])).body.batch_id as string
  await form(`/batches/${later}/schedule`, [['scheduled_at', '2099-01-01T10:00:00+05:30']])
  conforms(t, 'POST /batches/{batch_id}/stop', await call('POST', `${B}/batches/${later}/stop`, undefined, auth), 200)
  conforms(t, 'POST /batches/{batch_id}/stop', await call('POST', `${B}/batches/${later}/stop`, undefined, auth), 404)
  conforms(t, 'DELETE /batches/{batch_id}', await call('DELETE', `${B}/batches/${later}`, undefined, auth), 200)
  conforms(t, 'DELETE /batches/{batch_id}', await call('DELETE', `${B}/batches/${later}`, undefined, auth), 404)
})

t.test('the account: GET /user/me', async t => {
  conforms(t, 'GET /user/me', await call('GET', `${B}/user/me`, undefined, auth), 200)
  conforms(t, 'GET /user/me', await call('GET', `${B}/user/me`, undefined, { authorization: 'Bearer nope' }), 403)
})

t.test('every operation of the document the emulator serves was checked', async t => {
  const seen = spec.checked()
  const served = [
    'POST /call 200', 'POST /call 400', 'POST /call/{execution_id}/stop 200', 'POST /call/{execution_id}/stop 400',
    'GET /executions/{execution_id} 200', 'GET /executions/{execution_id}/log 200',
    'GET /agent/{agent_id}/execution/{execution_id} 200', 'GET /agent/{agent_id}/executions 200', 'GET /v2/agent/{agent_id}/executions 200',
    'POST /v2/agent 200', 'GET /v2/agent/all 200', 'GET /v2/agent/{agent_id} 200', 'PATCH /v2/agent/{agent_id} 200', 'PUT /v2/agent/{agent_id} 200',
    'POST /v2/agent/{agent_id}/stop 200', 'DELETE /v2/agent/{agent_id} 200',
    'POST /batches 201', 'POST /batches 400', 'POST /batches/{batch_id}/schedule 200', 'POST /batches/{batch_id}/schedule 400',
    'GET /batches/{batch_id} 200', 'GET /batches/{agent_id}/all 200', 'GET /batches/{batch_id}/executions 200',
    'POST /batches/{batch_id}/stop 200', 'POST /batches/{batch_id}/stop 404', 'DELETE /batches/{batch_id} 200', 'GET /user/me 200'
  ]
  t.same(served.filter(s => !seen.has(s)), [], 'nothing left unchecked')
})
