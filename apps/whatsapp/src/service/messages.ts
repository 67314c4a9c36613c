import { newRowId, type CrmMessageRow, type WhatsAppLogRow } from '@switchboard/activity-log'
import type { Mode } from '@switchboard/schemas/common'
import type { Contact } from '@switchboard/schemas/whatsapp'
import type { ProviderError } from '@switchboard/service-kit/provider-client'
import { renderTemplate, type Template } from '../catalogue.ts'
import type { CampaignMessage } from '../client/aisensy-client.ts'
import { normalizePhone } from '../phone.ts'
import { paramsFor } from './templates.ts'

// One outgoing message, from a contact to what AiSensy is sent and to the rows that record it: the
// shapes, no I/O (whatsapp-service.ts sends and stores).

/** A contact ready to send to (what a bulk send or campaign stores per contact). */
export interface Prepared {
  /** As given; the E.164 form when it normalises. */
  raw: string
  e164: string | undefined
  invalidReason: string | undefined
  name: string | null
  params: string[]
  media?: { url: string, filename?: string } | undefined
  /** A job's contact: its log row (whatsapp_logs.id), from which a claim that expires is settled (job_expire_claims). */
  row_id?: string
}

/** How one send went. */
export interface SendResult {
  id: string
  /** Where it went: live mode with fallback on may have sent it to the emulator. */
  mode: Mode
  fallback: boolean
  to_number: string
  status: 'submitted' | 'failed'
  provider_message_id: string | null
  error: string | null
  latencyMs: number
  providerError?: ProviderError
}

/** What every message names besides its contact: the lead source and the name of a contact without one. */
export interface SenderDefaults {
  source: string
  defaultContactName: string
}

/** The request's contacts, numbers normalised (a bad one is kept, to become a failed row) and params checked. */
export function prepareContacts (t: Template, contacts: Contact[]): Prepared[] {
  return contacts.map((c, index) => {
    const phone = normalizePhone(c.to_number)
    return {
      raw: phone.ok ? phone.e164 : c.to_number,
      e164: phone.ok ? phone.e164 : undefined,
      invalidReason: phone.ok ? undefined : phone.reason,
      name: c.name ?? null,
      params: paramsFor(t, c.params, `body/contacts/${index}/params`)
    }
  })
}

/** The Live API campaign request for one contact (the contact's number must have normalised). */
export function campaignMessage (t: Template, p: Prepared, sender: SenderDefaults): CampaignMessage {
  const needsMedia = t.header === 'image' || t.header === 'video' || t.header === 'document'
  const media = needsMedia ? (p.media ?? t.default_media) : undefined
  return {
    campaignName: t.campaign_name,
    destination: p.e164!,
    userName: p.name ?? sender.defaultContactName,
    source: sender.source,
    templateParams: p.params,
    media: media ? { url: media.url, ...(media.filename ? { filename: media.filename } : {}) } : {},
    buttons: t.button ? [{ type: 'button', sub_type: 'url', index: 0, parameters: [{ type: 'text', text: p.params[t.button.param_index]! }] }] : [],
    carouselCards: [],
    location: {},
    attributes: {},
    paramsFallbackValue: { FirstName: sender.defaultContactName }
  }
}

/** A message's whatsapp_logs row and its crm_messages row (the unified view, pointing back at it). */
export function messageRows (
  r: SendResult, t: Template, p: Prepared, requestId: string, campaignId: string | null, errorCode: string | null, defaultContactName: string
): { log: WhatsAppLogRow, crm: CrmMessageRow } {
  const log: WhatsAppLogRow = {
    id: r.id,
    request_id: requestId,
    mode: r.mode,
    fallback: r.fallback,
    campaign_id: campaignId,
    to_number: r.to_number,
    contact_name: p.name,
    template_name: t.name,
    params: p.params,
    status: r.status,
    provider_message_id: r.provider_message_id,
    error: r.error,
    error_code: errorCode,
    latency_ms: r.latencyMs
  }
  // The unified view: one row per message whatever the channel, pointing back at its source row.
  const crm: CrmMessageRow = {
    id: newRowId(),
    request_id: requestId,
    mode: r.mode,
    channel: 'whatsapp',
    direction: 'outbound',
    contact: r.to_number,
    contact_name: p.name,
    content: renderTemplate(t, p.params, p.name, defaultContactName),
    status: r.status,
    source_table: 'whatsapp_logs',
    source_id: r.id,
    provider_message_id: r.provider_message_id
  }
  return { log, crm }
}
