/**
 * What the Activity view shows of an AiSensy exchange (service-kit's capture.ts stores it): a
 * campaign send as the message the person receives (the template rendered with its params, the
 * header media, the buttons), and a project webhook post as its topics and statuses.
 */
import type { Describer } from '@switchboard/service-kit/capture'
import { renderTemplate, type Template } from '../catalogue.ts'

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v)
const str = (v: unknown): string | null => typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null

export function describeAiSensy (templates: readonly Template[], fallbackName: string): Describer {
  const byCampaign = new Map(templates.map(t => [t.campaign_name, t]))
  return (x) => {
    if (x.kind === 'webhook') {
      const notifications = (Array.isArray(x.requestBody) ? x.requestBody : [x.requestBody]).filter(isObject)
      const events = notifications.map(n => {
        const message = isObject(n.data) && isObject(n.data.message) ? n.data.message : {}
        return [str(n.topic), str(message.status)].filter(Boolean).join(':')
      }).filter(Boolean)
      const phones = notifications.flatMap(n => {
        const m = isObject(n.data) && isObject(n.data.message) ? n.data.message : {}
        return [str(m.phone_number), str(m.phone)].filter((p): p is string => p !== null)
      })
      return { event: [...new Set(events)].join(','), summary: `AiSensy: ${[...new Set(events)].join(', ') || 'notification'}`, contacts: phones }
    }
    if (x.method !== 'POST' || !x.path.startsWith('/campaign/') || !isObject(x.requestBody)) return undefined
    const body = x.requestBody
    const campaign = str(body.campaignName)
    const params = Array.isArray(body.templateParams) ? body.templateParams.map(p => String(p)) : []
    const template = campaign === null ? undefined : byCampaign.get(campaign)
    const userName = str(body.userName)
    const media = isObject(body.media) && Object.keys(body.media).length > 0 ? body.media : null
    const buttons = Array.isArray(body.buttons)
      ? body.buttons.filter(isObject).map(b => {
        const parameters = Array.isArray(b.parameters) ? b.parameters.filter(isObject) : []
        return { type: str(b.sub_type) ?? str(b.type) ?? 'button', index: typeof b.index === 'number' ? b.index : null, text: parameters.map(p => str(p.text) ?? '').join(' ') || null }
      })
      : []
    const destination = str(body.destination)
    const response = isObject(x.responseBody) ? x.responseBody : {}
    return {
      providerId: str(response.submitted_message_id) ?? undefined,
      contacts: destination === null ? [] : [destination],
      summary: template?.name ?? campaign ?? 'campaign send',
      content: {
        kind: 'whatsapp',
        to: destination,
        user_name: userName,
        campaign_name: campaign,
        template_name: template?.name ?? null,
        language: template?.language ?? null,
        params,
        template_body: template?.body ?? null,
        rendered: template === undefined ? null : renderTemplate(template, params, userName, fallbackName),
        header: template?.header ?? null,
        media,
        buttons,
        ...(template?.button ? { template_button: template.button } : {})
      }
    }
  }
}
