/**
 * The emulator's seeded Bolna agents. Each is a voice agent with a welcome message and a prompt,
 * as on Bolna, plus the conversation the emulator plays when a call is answered (the transcript).
 * Ids are fixed so scripts and agent ids stay the same across restarts.
 */

export type Speaker = 'assistant' | 'user'

export interface AgentState {
  id: string
  name: string
  welcomeMessage: string
  prompt: string
  /** The answered call's conversation, with {variables}. */
  conversation: Array<[Speaker, string]>
  /** Values for variables the caller did not pass, so a demo never reads "{name}". */
  defaults: Record<string, string>
  /** What Bolna's extraction would pull out of this conversation; null: no extraction. */
  extracted: Record<string, unknown> | null
  /**
   * undefined (seeded agents only): the emulator's default receiver; null: no webhook, as on
   * Bolna for an agent without one; else the URL given at creation or by PATCH.
   */
  webhookUrl: string | null | undefined
  /** The tasks given at creation (served back as given); seeded agents have the default below. */
  tasks?: unknown[]
  createdAt: string
  updatedAt: string
}

const SEEDED_AT = '2026-01-05T09:30:00Z'

const seeds: Array<Omit<AgentState, 'webhookUrl' | 'createdAt' | 'updatedAt'>> = [
  {
    id: '3f9a6c1e-7b2d-4e8a-9c41-5d2b8e6f0a11',
    name: 'Appointment Reminder',
    welcomeMessage: 'Hello {name}, this is Asha calling from {clinic} about your appointment on {date} at {time}.',
    prompt: 'You are Asha, a warm and brief receptionist at {clinic}. Confirm the appointment of {name} on {date} at {time}. If they cannot make it, offer to reschedule. Never give medical advice.',
    conversation: [
      ['assistant', 'Hello {name}, this is Asha calling from {clinic} about your appointment on {date} at {time}.'],
      ['user', 'Oh yes, hi. I remember.'],
      ['assistant', 'Wonderful. Can you confirm you will be able to come at {time}?'],
      ['user', 'Yes, I will be there.'],
      ['assistant', 'Thank you, {name}. Please arrive ten minutes early. Have a good day!'],
      ['user', 'Thanks, bye.']
    ],
    defaults: { name: 'there', clinic: 'City Care Clinic', date: 'Monday', time: '10:30 AM' },
    extracted: { appointment_confirmed: true, reschedule_requested: false }
  },
  {
    id: '8c2e4b7a-1d3f-4a6b-8e2c-9f0a1b2c3d44',
    name: 'Payment Reminder',
    welcomeMessage: 'Hi {name}, this is Ravi from {company}. I am calling about the invoice of {amount} due on {due_date}.',
    prompt: 'You are Ravi from {company}. Politely remind {name} that {amount} is due on {due_date}. Offer to send the payment link again. Be courteous and do not pressure.',
    conversation: [
      ['assistant', 'Hi {name}, this is Ravi from {company}. I am calling about the invoice of {amount} due on {due_date}.'],
      ['user', 'Right, I had forgotten about it.'],
      ['assistant', 'No problem at all. Shall I send the payment link to your phone again?'],
      ['user', 'Yes please, send it on WhatsApp.'],
      ['assistant', 'Done. You will receive it in a minute. Thank you, {name}!']
    ],
    defaults: { name: 'there', company: 'Acme Services', amount: '₹2,500', due_date: 'the 15th' },
    extracted: { payment_link_requested: true, channel: 'whatsapp', promised_to_pay: true }
  },
  {
    id: 'b51d0f3a-6e2c-4d8b-a7f9-2c4e6a8b0d55',
    name: 'Lead Qualification',
    welcomeMessage: 'Hello {name}! I am Meera from {company}. You showed interest in {product}. Do you have a minute?',
    prompt: 'You are Meera, a sales development representative at {company}. Qualify {name}\'s interest in {product}: budget, timeline and decision maker. Book a demo if they are interested.',
    conversation: [
      ['assistant', 'Hello {name}! I am Meera from {company}. You showed interest in {product}. Do you have a minute?'],
      ['user', 'Sure, go ahead.'],
      ['assistant', 'Great. Are you looking to start in the next three months?'],
      ['user', 'Yes, probably next month.'],
      ['assistant', 'And will you be the one deciding on the purchase?'],
      ['user', 'Me and my manager.'],
      ['assistant', 'Perfect. I will book a demo for you both and send the invite by email. Thank you, {name}!']
    ],
    defaults: { name: 'there', company: 'Switchboard', product: 'our product' },
    extracted: { interested: true, timeline: 'next month', decision_maker: 'shared', demo_booked: true }
  },
  {
    id: 'e7a3c9d1-2b4f-4c6e-9a8d-0f1e2d3c4b66',
    name: 'Feedback Survey',
    welcomeMessage: 'Hi {name}, thank you for choosing {company}. Could you spare two minutes to rate your recent {service}?',
    prompt: 'You are a friendly survey agent for {company}. Ask {name} to rate their recent {service} from 1 to 5 and what could be better. Keep it under two minutes.',
    conversation: [
      ['assistant', 'Hi {name}, thank you for choosing {company}. Could you spare two minutes to rate your recent {service}?'],
      ['user', 'Okay.'],
      ['assistant', 'On a scale of one to five, how would you rate it?'],
      ['user', 'I would say four.'],
      ['assistant', 'Thank you! What could we do better?'],
      ['user', 'The delivery could be a little faster.'],
      ['assistant', 'Noted, {name}. We appreciate your feedback. Have a great day!']
    ],
    defaults: { name: 'there', company: 'Acme Services', service: 'order' },
    extracted: { rating: 4, improvement: 'faster delivery' }
  }
]

export function seedAgents (): Map<string, AgentState> {
  return new Map(seeds.map(s => [s.id, { ...structuredClone(s), webhookUrl: undefined, createdAt: SEEDED_AT, updatedAt: SEEDED_AT }]))
}

/**
 * An agent made through POST /v2/agent. It answers calls with its welcome message and a short
 * generic exchange (the emulator has no LLM), extracts nothing, and posts webhooks only if it was
 * given a webhook_url, as on Bolna.
 */
export function createdAgent (input: { id: string, name: string, welcomeMessage: string | undefined, prompt: string, webhookUrl: string | null, tasks: unknown[], at: string }): AgentState {
  const welcome = input.welcomeMessage ?? `Hello, this is ${input.name}.`
  return {
    id: input.id,
    name: input.name,
    welcomeMessage: input.welcomeMessage ?? '',
    prompt: input.prompt,
    conversation: [
      ['assistant', welcome],
      ['user', 'Hi, yes, speaking.'],
      ['assistant', 'Thank you for your time. Have a good day!'],
      ['user', 'Thanks, bye.']
    ],
    defaults: {},
    extracted: null,
    webhookUrl: input.webhookUrl,
    tasks: input.tasks,
    createdAt: input.at,
    updatedAt: input.at
  }
}

/** Replaces {variable} with the caller's user_data, else the agent's default, else leaves it. */
export function fillVariables (text: string, values: Record<string, unknown>, defaults: Record<string, string>): string {
  return text.replace(/\{(\w+)\}/g, (whole, key: string) => {
    const v = values[key] ?? defaults[key]
    return v === undefined || v === null ? whole : String(v)
  })
}

/** The {variables} a text uses, in order of first use. */
export function variablesIn (...texts: string[]): string[] {
  const seen = new Set<string>()
  for (const text of texts) for (const m of text.matchAll(/\{(\w+)\}/g)) seen.add(m[1]!)
  return [...seen]
}

/**
 * GET /v2/agent/{id} as Bolna answers it: the spec's AgentV2 fields at the top level, and the
 * {agent_config, agent_prompts} shape the official CLI reads from the live API (the two sources
 * disagree on nesting; serving both satisfies either reader) (unverified).
 */
export function agentBody (agent: AgentState, defaultWebhookUrl: string | undefined) {
  const webhookUrl = agent.webhookUrl === undefined ? (defaultWebhookUrl ?? null) : agent.webhookUrl
  const tasks = agent.tasks ?? [{
    task_type: 'conversation',
    tools_config: {
      llm_agent: { agent_type: 'simple_llm_agent', agent_flow_type: 'streaming', llm_config: { provider: 'openai', model: 'gpt-4o-mini', max_tokens: 150, temperature: 0.2 } },
      // The spec's PollyConfig allows only this voice, engine and language (its enums), and
      // its Synthesizer tells the providers' configs apart by them: other values would match none.
      synthesizer: { provider: 'polly', provider_config: { voice: 'Matthew', engine: 'generative', language: 'en-US' }, stream: true },
      transcriber: { provider: 'deepgram', model: 'nova-2', language: 'en', stream: true },
      input: { provider: 'plivo', format: 'wav' },
      output: { provider: 'plivo', format: 'wav' }
    },
    toolchain: { execution: 'parallel', pipelines: [['transcriber', 'llm', 'synthesizer']] },
    task_config: { hangup_after_silence: 10, call_terminate: 300 }
  }]
  const config = { agent_name: agent.name, agent_type: 'other', agent_welcome_message: agent.welcomeMessage, webhook_url: webhookUrl, tasks }
  return {
    id: agent.id,
    ...config,
    agent_status: 'processed',
    created_at: agent.createdAt,
    updated_at: agent.updatedAt,
    agent_prompts: { task_1: { system_prompt: agent.prompt } },
    agent_config: config
  }
}
