import { Type, type Static } from '@sinclair/typebox'
import { SERVICE_NAMES, StringEnum } from './common.ts'

const SERVICE = StringEnum(SERVICE_NAMES)
const OUTCOME = StringEnum(['success', 'failure', 'outage', 'rate_limited', 'timeout'] as const)

/**
 * One step of a story: the outcome the emulator gives the request (as the outcome header would),
 * or a fate (what a magic value forces: an email `bounce`/`open`, a WhatsApp `delivered_unread`,
 * a call `busy`/`completed`). A fate must be one the service knows (listed in the README).
 */
export const ScenarioStepSchema = Type.Object({
  outcome: Type.Optional(OUTCOME),
  fate: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
  at_s: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z_]{1,20}$' }), Type.Number({ minimum: 0, maximum: 30 * 86_400 }), {
    description: 'When the step\'s later events happen: seconds after the request, on the emulators\' clock, by event (email: ' +
      'delivered, open, click…; WhatsApp: sent, delivered, read, reply). An event not named follows the one before it after the ' +
      'usual simulated gap. E.g. {"open": 120, "click": 180}: opened two minutes after the send, clicked a minute later.'
  })),
  note: Type.Optional(Type.String({ maxLength: 200 }))
}, { additionalProperties: false, minProperties: 1 })

/**
 * A story: steps played in order, one per matching request (per recipient), then the usual
 * behaviour (or the last step again with `then: "repeat_last"`). It applies to a request whose
 * x-switchboard-scenario header names it, or whose recipient matches `recipient` (exact, or a
 * pattern with * wildcards; "*" is every recipient).
 */
export const ScenarioStorySchema = Type.Object({
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }),
  service: SERVICE,
  recipient: Type.Optional(Type.String({ minLength: 1, maxLength: 320, description: 'An email address, a phone number (+91…) or a pattern with *' })),
  steps: Type.Array(ScenarioStepSchema, { minItems: 1, maxItems: 100 }),
  then: Type.Optional(StringEnum(['default', 'repeat_last'] as const))
}, { additionalProperties: false })

/** For a period measured on the emulators' clock from the scenario's start: every request gets this outcome. */
export const ScenarioPeriodSchema = Type.Object({
  service: Type.Optional(SERVICE),
  from_s: Type.Number({ minimum: 0 }),
  to_s: Type.Number({ minimum: 0.001 }),
  outcome: StringEnum(['failure', 'outage', 'rate_limited', 'timeout'] as const)
}, { additionalProperties: false })

/** Past `max` requests within any `per_s` seconds (a fixed window on the clock), the provider answers 429. */
export const ScenarioRateLimitSchema = Type.Object({
  service: Type.Optional(SERVICE),
  max: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
  per_s: Type.Number({ minimum: 0.001, maximum: 86_400 })
}, { additionalProperties: false })

export const ScenarioSchema = Type.Object({
  $schema: Type.Optional(Type.String()),
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
  stories: Type.Optional(Type.Array(ScenarioStorySchema, { maxItems: 200 })),
  periods: Type.Optional(Type.Array(ScenarioPeriodSchema, { maxItems: 100 })),
  rate_limits: Type.Optional(Type.Array(ScenarioRateLimitSchema, { maxItems: 20 }))
}, { additionalProperties: false })
export type Scenario = Static<typeof ScenarioSchema>
export type ScenarioStory = Static<typeof ScenarioStorySchema>

export const ScenarioPlaySchema = Type.Object({
  at: Type.String({ format: 'date-time', description: 'On the emulators\' clock' }),
  service: Type.String(),
  rule: Type.String({ description: 'story <name> step <n>/<total>, period <from>-<to> s, or rate limit <max>/<per> s' }),
  recipient: Type.Union([Type.String(), Type.Null()]),
  decided: Type.String()
})

export const ScenarioStatusSchema = Type.Object({
  active: Type.Union([ScenarioSchema, Type.Null()]),
  started_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  /** The steps played so far, newest first, from every service that answered. */
  played: Type.Array(ScenarioPlaySchema),
  services: Type.Record(Type.String(), Type.String())
})
export type ScenarioStatus = Static<typeof ScenarioStatusSchema>

export const ScenarioExamplesSchema = Type.Object({
  items: Type.Array(Type.Object({ name: Type.String(), description: Type.String() }))
})

/** The fates a story's step may name, per service: what the magic values force (README: magic values). */
export const SCENARIO_FATES: Record<Static<typeof SERVICE>, readonly string[]> = {
  email: ['deliver', 'bounce', 'drop', 'defer', 'open', 'spam', 'reject', 'fail'],
  whatsapp: ['invalid', 'stays_sent', 'fails_after_send', 'read', 'delivered_unread', 'error', 'no_credits', 'no_plan', 'replies'],
  payments: ['always_succeeds', 'payment_fails'],
  voice: ['completed', 'busy', 'no-answer', 'failed', 'voicemail', 'hold', 'reject', 'error'],
  zoom: []
}

/** The events a story's step may time with `at_s`, per service (the ones its emulator sends later). */
export const SCENARIO_TIMED_EVENTS: Record<Static<typeof SERVICE>, readonly string[]> = {
  email: ['processed', 'delivered', 'deferred', 'bounce', 'dropped', 'open', 'click', 'spamreport'],
  whatsapp: ['sent', 'delivered', 'read', 'failed', 'reply'],
  payments: [],
  voice: [],
  zoom: []
}
