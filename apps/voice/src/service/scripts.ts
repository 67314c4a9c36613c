import { type Mode, UUID } from '@switchboard/schemas/common'
import type { ScriptsReply } from '@switchboard/schemas/voice'
import { appError } from '@switchboard/service-kit/errors'
import type { BolnaAgent, BolnaClient } from '../client/bolna-client.ts'

const CACHE_MS = 5 * 60_000

/** "Appointment Reminder" → "appointment_reminder". */
export const slug = (name: string) => name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '')

export const variablesIn = (...texts: Array<string | null | undefined>) => {
  const seen = new Set<string>()
  for (const text of texts) for (const m of (text ?? '').matchAll(/\{(\w+)\}/g)) seen.add(m[1]!)
  return [...seen]
}

export interface ResolvedScript { scriptId: string, agentId: string }

/**
 * How a script_id maps to a Bolna agent (on Bolna the script — prompt and welcome message — lives in
 * the agent, so a script is an agent):
 *   1. agent_id given: that agent places the call; script_id is recorded as given.
 *   2. an alias from BOLNA_SCRIPTS ("reminder=<agent uuid>").
 *   3. a Bolna agent id itself.
 *   4. the agent's name as a slug ("appointment_reminder" for "Appointment Reminder"), looked up in
 *      GET /v2/agent/all (cached for 5 minutes; a miss asks again).
 */
export function createScripts (deps: { clientFor: (mode: Mode) => BolnaClient, aliases: ReadonlyMap<string, string> }) {
  const cache = new Map<Mode, { at: number, agents: BolnaAgent[] }>()
  const aliasOf = new Map([...deps.aliases].map(([alias, agentId]) => [agentId, alias]))

  async function agents (mode: Mode, fresh = false, headers?: Record<string, string>): Promise<BolnaAgent[]> {
    const hit = cache.get(mode)
    if (hit && !fresh && Date.now() - hit.at < CACHE_MS) return hit.agents
    const list = await deps.clientFor(mode).listAgents(headers)
    cache.set(mode, { at: Date.now(), agents: list })
    return list
  }

  async function resolve (mode: Mode, scriptId: string, agentId?: string): Promise<ResolvedScript> {
    if (agentId) return { scriptId, agentId: agentId.toLowerCase() }
    const alias = deps.aliases.get(scriptId.toLowerCase())
    if (alias) return { scriptId, agentId: alias }
    if (UUID.test(scriptId)) return { scriptId, agentId: scriptId.toLowerCase() }
    const wanted = slug(scriptId)
    for (const fresh of [false, true]) {
      const list = await agents(mode, fresh)
      const match = list.find(a => slug(a.agent_name ?? '') === wanted)
      if (match) return { scriptId, agentId: match.id }
    }
    const known = (await agents(mode)).map(a => aliasOf.get(a.id) ?? slug(a.agent_name ?? '')).join(', ')
    throw appError('VOICE_SCRIPT_NOT_FOUND',
      `No script "${scriptId}". Use one of: ${known || '(no agents on this Bolna account)'} — GET /api/automation/call/scripts lists them — or pass a Bolna agent_id.`)
  }

  /** get_available_scripts(): the account's agents as scripts. */
  async function list (mode: Mode, headers?: Record<string, string>): Promise<ScriptsReply> {
    const all = await agents(mode, true, headers)
    return {
      mode,
      scripts: all.map(a => {
        const welcome = a.agent_welcome_message ?? a.agent_config?.agent_welcome_message ?? null
        const prompt = a.agent_prompts?.task_1?.system_prompt ?? null
        return { script_id: aliasOf.get(a.id) ?? slug(a.agent_name ?? a.id), agent_id: a.id, name: a.agent_name ?? a.id, welcome_message: welcome, prompt, variables: variablesIn(welcome, prompt) }
      })
    }
  }

  return { resolve, list }
}
