import { createHash } from 'node:crypto'
import type { ActivityLog, Filter } from '@switchboard/activity-log'
import type { Mode } from '@switchboard/schemas/common'
import type { InboundMessagesReply } from '@switchboard/schemas/whatsapp'
import { appError } from '@switchboard/service-kit/errors'
import { readInboundMessage } from '../aisensy-webhooks.ts'
import { normalizePhone } from '../phone.ts'

/** A UUID (version 8: custom) derived from a name: the same name, the same id. */
export function uuidFrom (name: string): string {
  const h = createHash('sha256').update(name).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/**
 * Customers' messages to the business number: stored from AiSensy's inbound notifications as
 * crm_messages rows with direction inbound, and read back for the API. Apart from the outbound
 * service on purpose: an inbound message has no whatsapp_logs row, no template and no status ladder.
 */
export function createInboundMessages (deps: { activityLog: ActivityLog, mode: () => Mode }) {
  const { activityLog } = deps

  /**
   * Stores one inbound notification once it is written; a notification that is no usable message
   * (a sender that is not a phone number, a text that is not a string: readInboundMessage) is not
   * stored, and the reason is given back for the receiver to log.
   */
  async function record (notification: unknown): Promise<{ stored: true } | { stored: false, reason: string }> {
    const read = readInboundMessage(notification) // AiSensy's wire format: aisensy-webhooks.ts
    if (!read) return { stored: false, reason: 'not an inbound message' }
    if ('problem' in read) return { stored: false, reason: read.problem }
    const m = read.message
    const phone = normalizePhone(m.phone)
    if (!phone.ok) return { stored: false, reason: phone.reason } // readInboundMessage checked it: never
    activityLog.record('crm_messages', {
      // From AiSensy's message id, so a redelivery (even after a restart) is the same row, skipped.
      id: uuidFrom(`aisensy-inbound:${m.messageId}`),
      request_id: null,
      mode: deps.mode(),
      channel: 'whatsapp',
      direction: 'inbound',
      contact: phone.e164,
      contact_name: m.name,
      content: m.text,
      status: 'received',
      source_table: null,
      source_id: null,
      provider_message_id: m.messageId
    })
    await activityLog.flush() // acknowledged means stored
    return { stored: true }
  }

  /** Newest first, optionally from one sender (any form normalizePhone takes). */
  async function list (q: { contact?: string | undefined, limit: number }): Promise<InboundMessagesReply> {
    const contact = q.contact === undefined ? undefined : normalizePhone(q.contact)
    if (contact && !contact.ok) {
      throw appError('WHATSAPP_INVALID_NUMBER', `contact "${q.contact}" is not a phone number (${contact.reason}). Give it with its country code, e.g. +919876543210.`,
        { details: [{ field: 'querystring/contact', message: contact.reason }] })
    }
    const where: Filter = { channel: 'whatsapp', direction: 'inbound' }
    if (contact?.ok) where.contact = contact.e164
    const rows = await activityLog.select('crm_messages', { where, orderBy: { column: 'created_at', ascending: false }, limit: q.limit })
    return { items: rows as unknown as InboundMessagesReply['items'] }
  }

  return { record, list }
}

export type InboundMessages = ReturnType<typeof createInboundMessages>
