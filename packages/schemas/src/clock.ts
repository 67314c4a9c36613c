import { Type, type Static } from '@sinclair/typebox'
import { StringEnum } from './common.ts'

/** The emulators' test clock, as the admin API shows it. */
export const ClockReplySchema = Type.Object({
  mode: StringEnum(['real', 'frozen', 'shifted'] as const, { description: 'real: wall-clock time; frozen: stands still until advanced; shifted: runs at real speed from an advanced point' }),
  now: Type.String({ format: 'date-time', description: 'What the emulators read as now' }),
  frozen_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  offset_ms: Type.Integer({ description: 'How far ahead of real time the clock runs (when not frozen)' }),
  services: Type.Record(Type.String(), Type.String(), { description: 'Per service: applied, or why not (it follows within a settings refresh anyway)' })
}, { additionalProperties: false })
export type ClockReply = Static<typeof ClockReplySchema>

export const ClockAdvanceSchema = Type.Object({
  seconds: Type.Optional(Type.Number({ minimum: 0.001, maximum: 10 * 365 * 86_400, description: 'How far to move the clock forward' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'The instant to move the clock to (not in its past)' }))
}, { additionalProperties: false })
export type ClockAdvance = Static<typeof ClockAdvanceSchema>

export const ClockSetSchema = Type.Object({
  to: Type.String({ format: 'date-time', description: 'The instant to freeze the clock at, in its past too' })
}, { additionalProperties: false })
export type ClockSet = Static<typeof ClockSetSchema>
