import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Mode } from '@switchboard/schemas/common'
import { errorResponses } from '@switchboard/schemas/common'
import { SimulateInboundReplySchema, SimulateInboundRequestSchema } from '@switchboard/schemas/whatsapp'
import { appError } from '@switchboard/service-kit/errors'
import { normalizePhone } from '../phone.ts'

/**
 * Emulator controls the gateway exposes under /api/admin/whatsapp: a customer's message to the
 * business number, which the emulator delivers to the project webhook in AiSensy's inbound format,
 * so it reaches crm_messages through the same receiver a real one would.
 */
/** What these routes ask of the emulator: app.ts hands them its controls, so neither imports the other. */
export interface EmulatorControls {
  simulateInbound?: (input: { phone: string, text: string, name: string | null }) => { notificationId: string, messageId: string } | undefined
}

export const emulatorControlRoutes: FastifyPluginAsyncTypebox<{ controls: EmulatorControls, mode: () => Mode }> = async (app, { controls, mode }) => {
  app.post('/admin/inbound', {
    schema: { summary: 'Simulate an inbound WhatsApp message (mock mode)', body: SimulateInboundRequestSchema, response: { 202: SimulateInboundReplySchema, ...errorResponses } }
  }, async (request, reply) => {
    if (mode() !== 'mock') {
      throw appError('WHATSAPP_MOCK_ONLY', 'Simulated inbound messages exist only in mock mode; in live mode customers\' messages come from AiSensy. Switch whatsapp to mock mode to simulate one.')
    }
    const phone = normalizePhone(request.body.from)
    if (!phone.ok) {
      throw appError('WHATSAPP_INVALID_NUMBER', `from "${request.body.from}" is not a phone number WhatsApp can reach (${phone.reason}). Give it with its country code, e.g. +919876543210.`,
        { details: [{ field: 'body/from', message: phone.reason }] })
    }
    const posted = controls.simulateInbound?.({ phone: phone.e164, text: request.body.text, name: request.body.name ?? null })
    if (!posted) {
      throw appError('WHATSAPP_NO_WEBHOOK', 'The emulated AiSensy project has no webhook (AISENSY_WEBHOOK_URL=off), so an inbound message would go nowhere. Unset AISENSY_WEBHOOK_URL to deliver it to this service.')
    }
    return reply.code(202).send({ delivered_to: 'webhook' as const, notification_id: posted.notificationId, provider_message_id: posted.messageId })
  })
}
