import type { Dispatcher } from 'undici'
import { kindForStatus, ProviderError, providerRequest } from '@switchboard/service-kit/provider-client'
import type { BolnaExecution } from '../bolna-webhooks.ts'

/** POST /call's body (Bolna's field names). */
export interface MakeCallBody {
  agent_id: string
  recipient_phone_number: string
  from_phone_number?: string
  scheduled_at?: string
  user_data?: Record<string, unknown>
}

// The execution object is also what the webhooks carry: its type lives with them.
export type { BolnaExecution }

export interface BolnaAgent {
  id: string
  agent_name: string
  agent_welcome_message?: string | null
  webhook_url?: string | null
  agent_prompts?: Record<string, { system_prompt?: string }> | null
  agent_config?: { agent_name?: string, agent_welcome_message?: string | null, webhook_url?: string | null } | null
  [k: string]: unknown
}

export interface BolnaClientOptions {
  /** https://api.bolna.ai in live mode; the emulator (…/bolna) in mock mode. */
  baseUrl: string
  apiKey: string
  timeoutMs?: number
  dispatcher?: Dispatcher
}

const PROVIDER = 'Bolna'

/**
 * Bolna's bodies "inconsistently use message, detail (auth errors), or error" (its official CLI);
 * 422s carry FastAPI's list of {loc, msg}. Reads them in that order, as the CLI and MCP server do.
 */
export function bolnaErrorMessage (status: number, body: unknown): string {
  if (body && typeof body === 'object') {
    const b = body as { message?: unknown, detail?: unknown, error?: unknown }
    if (typeof b.message === 'string' && b.message) return b.message
    if (typeof b.detail === 'string' && b.detail) return b.detail
    if (Array.isArray(b.detail) && b.detail.length) {
      return b.detail.map((d: { loc?: unknown[], msg?: string }) => {
        const field = Array.isArray(d.loc) ? d.loc.filter(p => p !== 'body').join('.') : ''
        return field ? `${field}: ${d.msg ?? 'invalid'}` : (d.msg ?? 'invalid')
      }).join('; ')
    }
    if (typeof b.error === 'string' && b.error) return b.error
  }
  if (typeof body === 'string' && body.trim()) return body.trim().slice(0, 300)
  return `HTTP ${status}`
}

function toProviderError (status: number, body: unknown, retryAfter?: unknown): ProviderError {
  return new ProviderError(PROVIDER, kindForStatus(status), bolnaErrorMessage(status, body), {
    statusCode: status,
    providerBody: body,
    ...(typeof retryAfter === 'string' ? { retryAfter } : {})
  })
}

/**
 * A typed Bolna client on undici. The same client runs in both modes; only baseUrl and the key
 * differ. Non-2xx answers become ProviderError with Bolna's body kept as providerBody.
 * @see https://www.bolna.ai/docs/api-reference
 */
export function createBolnaClient (opts: BolnaClientOptions) {
  const call = async <T>(method: Dispatcher.HttpMethod, path: string, rest: { json?: unknown, query?: Record<string, string | number | undefined>, headers?: Record<string, string> } = {}): Promise<T> => {
    const res = await providerRequest<T>(PROVIDER, {
      method,
      path,
      baseUrl: opts.baseUrl,
      headers: { authorization: `Bearer ${opts.apiKey}`, 'user-agent': 'switchboard/1.0', ...rest.headers },
      json: rest.json,
      query: rest.query,
      timeoutMs: opts.timeoutMs
    }, opts.dispatcher)
    if (res.statusCode >= 200 && res.statusCode < 300) return res.body
    throw toProviderError(res.statusCode, res.body, res.headers['retry-after'])
  }
  const id = (value: string) => encodeURIComponent(value)

  return {
    /** POST /call → {message: "done", status: "queued", execution_id}. */
    makeCall: (body: MakeCallBody, headers?: Record<string, string>) =>
      call<{ message: string, status: string, execution_id: string }>('POST', '/call', { json: body, headers }),

    /** POST /call/{execution_id}/stop: only queued or scheduled calls can be stopped. */
    stopCall: (executionId: string, headers?: Record<string, string>) =>
      call<{ message: string, status: string, execution_id: string }>('POST', `/call/${id(executionId)}/stop`, { headers }),

    /** GET /executions/{execution_id}: the same object the webhooks carry. */
    getExecution: (executionId: string, headers?: Record<string, string>) =>
      call<BolnaExecution>('GET', `/executions/${id(executionId)}`, { headers }),

    /** GET /v2/agent/all: every agent (no server-side pagination). */
    listAgents: (headers?: Record<string, string>) => call<BolnaAgent[]>('GET', '/v2/agent/all', { headers }),

    getAgent: (agentId: string, headers?: Record<string, string>) => call<BolnaAgent>('GET', `/v2/agent/${id(agentId)}`, { headers }),

    /** PATCH /v2/agent/{id} with {agent_config: {webhook_url}} points the agent's webhooks somewhere. */
    setAgentWebhook: (agentId: string, webhookUrl: string | null, headers?: Record<string, string>) =>
      call<{ message: string, state: string }>('PATCH', `/v2/agent/${id(agentId)}`, { json: { agent_config: { webhook_url: webhookUrl } }, headers })
  }
}

export type BolnaClient = ReturnType<typeof createBolnaClient>
