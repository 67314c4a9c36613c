import { Type, type Static, type TNumber } from '@sinclair/typebox'

/**
 * A data set: who a product team talks to and what it has sent them, described in counts and
 * shares rather than row by row. `planDataset` expands it with a seed into concrete API calls and
 * `loadDataset` plays them through the gateway, the same path live traffic takes, so Activity,
 * Stats and every emulator agree with each other.
 *
 * Shares (`outcomes`) are weights: { "delivered": 8, "bounced": 1 } and { "delivered": 0.8,
 * "bounced": 0.1 } mean the same. A plan gives each outcome its exact share of `count` (largest
 * remainder), then the seed decides which contact gets which.
 */

const Weights = <K extends string>(keys: readonly K[], description: string) =>
  Type.Partial(Type.Object(Object.fromEntries(keys.map(k => [k, Type.Number({ minimum: 0 })])) as unknown as Record<K, TNumber>, { additionalProperties: false }), { description })

const Count = (description: string) => Type.Integer({ minimum: 0, maximum: 5000, description })
const Texts = (description: string) => Type.Array(Type.String({ minLength: 1, maxLength: 500 }), { minItems: 1, maxItems: 200, description })

export const EMAIL_OUTCOMES = ['delivered', 'opened', 'bounced', 'dropped', 'deferred', 'spam'] as const
export const PAYMENT_OUTCOMES = ['paid', 'failed', 'pending'] as const
export const CALL_OUTCOMES = ['completed', 'voicemail', 'busy', 'no_answer', 'failed'] as const

export const ContactSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100 }),
  email: Type.Optional(Type.String({ pattern: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$', maxLength: 254 })),
  phone: Type.Optional(Type.String({ pattern: '^\\+?[0-9][0-9 -]{8,16}$', description: 'With its country code, e.g. +919876543210' })),
  company: Type.Optional(Type.String({ maxLength: 100 }))
}, { additionalProperties: false })

export const DatasetSchema = Type.Object({
  $schema: Type.Optional(Type.String()),
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$', description: 'How the CLI and the admin API name it' }),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
  seed: Type.Optional(Type.Integer({ description: 'The default seed; the same seed gives the same calls in the same order' })),
  history_days: Type.Optional(Type.Integer({
    minimum: 0,
    maximum: 90,
    description: 'Spread the traffic over this many past days (IST working hours, a little of it in the last hour), played on the test clock set back ' +
      'so every row and event is stamped when it happened; 0 or absent: everything now'
  })),
  contacts: Type.Array(ContactSchema, { minItems: 1, maxItems: 5000 }),
  email: Type.Optional(Type.Object({
    count: Count('Emails to send, each to a contact with an email'),
    subjects: Texts('Subject lines; {{name}} is the contact\'s first name'),
    bodies: Texts('HTML bodies; {{name}} and {{company}} are filled in'),
    outcomes: Type.Optional(Weights(EMAIL_OUTCOMES, 'How the emails end (the emulator\'s documented magic recipients make each outcome certain)'))
  }, { additionalProperties: false })),
  whatsapp: Type.Optional(Type.Object({
    messages: Type.Optional(Type.Object({
      count: Count('Single template messages, each to a contact with a phone'),
      templates: Type.Array(Type.Object({
        template_name: Type.String({ minLength: 1 }),
        params: Type.Array(Type.String(), { description: 'The template\'s params; {{name}}, {{company}}, {{order}} and {{amount}} are filled in' })
      }, { additionalProperties: false }), { minItems: 1 })
    }, { additionalProperties: false })),
    campaigns: Type.Optional(Type.Array(Type.Object({
      name: Type.String({ minLength: 1, maxLength: 200 }),
      template_name: Type.String({ minLength: 1 }),
      params: Type.Array(Type.String()),
      contacts: Type.Integer({ minimum: 1, maximum: 5000, description: 'How many contacts (with a phone) it goes to' })
    }, { additionalProperties: false })))
  }, { additionalProperties: false, description: 'Delivery and read rates follow the WhatsApp simulation settings' })),
  payments: Type.Optional(Type.Object({
    count: Count('Payment links, each for a contact'),
    items: Type.Array(Type.Object({
      purpose: Type.String({ minLength: 1, maxLength: 30 }),
      amount: Type.String({ pattern: '^[0-9]{1,6}(\\.[0-9]{1,2})?$', description: 'Rupees, e.g. "1499.00"' })
    }, { additionalProperties: false }), { minItems: 1 }),
    outcomes: Type.Optional(Weights(PAYMENT_OUTCOMES, 'paid and failed are completed through the emulator\'s checkout; pending links stay open'))
  }, { additionalProperties: false })),
  voice: Type.Optional(Type.Object({
    count: Count('Calls, each to a contact'),
    script_ids: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'GET /api/automation/call/scripts lists them' }),
    outcomes: Type.Optional(Weights(CALL_OUTCOMES, 'How the calls end (the emulator\'s magic number endings make each one certain)'))
  }, { additionalProperties: false })),
  zoom: Type.Optional(Type.Object({
    count: Count('Meetings'),
    topics: Texts('Meeting topics; {{company}} is filled in'),
    ended: Type.Number({ minimum: 0, maximum: 1, description: 'Share of meetings that have ended, with their cloud recordings' })
  }, { additionalProperties: false }))
}, { additionalProperties: false, $id: 'https://switchboard.dev/schemas/dataset.json', title: 'Switchboard data set' })

export type Dataset = Static<typeof DatasetSchema>
export type Contact = Static<typeof ContactSchema>
export type EmailOutcome = typeof EMAIL_OUTCOMES[number]
export type PaymentOutcome = typeof PAYMENT_OUTCOMES[number]
export type CallOutcome = typeof CALL_OUTCOMES[number]
