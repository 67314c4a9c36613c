/**
 * What the Activity view shows of a SendGrid exchange (service-kit's capture.ts stores it): a
 * v3/mail/send as the email it is (subject, text, HTML, attachments' names and sizes, every
 * personalization), and an Event Webhook post as the events it carried.
 */
import type { Describer } from '@switchboard/service-kit/capture'

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v)
const list = (v: unknown): Json[] => Array.isArray(v) ? v.filter(isObject) : []
const address = (v: unknown): string | null => isObject(v) && typeof v.email === 'string' ? (typeof v.name === 'string' && v.name ? `${v.name} <${v.email}>` : v.email) : null
const emails = (v: unknown): string[] => list(v).flatMap(a => typeof a.email === 'string' ? [a.email] : [])

/** Bytes a base64 string decodes to. */
function base64Size (text: unknown): number | null {
  if (typeof text !== 'string') return null
  const clean = text.replace(/\s/g, '')
  return Math.max(0, Math.floor(clean.length * 3 / 4) - (clean.endsWith('==') ? 2 : clean.endsWith('=') ? 1 : 0))
}

export const describeSendGrid: Describer = (x) => {
  if (x.kind === 'webhook') {
    const events = list(x.requestBody)
    const names = [...new Set(events.map(e => String(e.event ?? '')).filter(Boolean))]
    // sg_message_id is the send's X-Message-Id with a suffix: its head ties events to a direct send.
    const refs = events.flatMap(e => typeof e.sg_message_id === 'string' ? [e.sg_message_id.split('.')[0]!] : [])
    return { event: names.join(','), summary: `SendGrid events: ${names.join(', ') || 'none'}`, contacts: events.flatMap(e => typeof e.email === 'string' ? [e.email] : []), refs }
  }
  if (x.method !== 'POST' || x.path !== '/v3/mail/send' || !isObject(x.requestBody)) return undefined
  const body = x.requestBody
  const parts = list(body.content)
  const part = (type: string) => {
    const found = parts.filter(p => typeof p.type === 'string' && p.type.toLowerCase() === type)
    return found.length ? found.map(p => String(p.value ?? '')).join('\n') : null
  }
  const personalizations = list(body.personalizations).map(p => ({
    to: emails(p.to),
    cc: emails(p.cc),
    bcc: emails(p.bcc),
    subject: typeof p.subject === 'string' ? p.subject : null,
    sb_log_id: isObject(p.custom_args) && typeof p.custom_args.sb_log_id === 'string' ? p.custom_args.sb_log_id : null,
    ...(isObject(p.dynamic_template_data) ? { dynamic_template_data: p.dynamic_template_data } : {}),
    ...(isObject(p.substitutions) ? { substitutions: p.substitutions } : {})
  }))
  const to = personalizations.flatMap(p => p.to)
  const cc = personalizations.flatMap(p => p.cc)
  const bcc = personalizations.flatMap(p => p.bcc)
  const subject = typeof body.subject === 'string' ? body.subject : personalizations[0]?.subject ?? null
  const messageId = x.responseHeaders['x-message-id']
  return {
    providerId: typeof messageId === 'string' ? messageId : undefined,
    contacts: [...to, ...cc, ...bcc],
    summary: subject ?? `(no subject) to ${to[0] ?? 'nobody'}`,
    content: {
      kind: 'email',
      from: address(body.from),
      reply_to: address(body.reply_to),
      to,
      cc,
      bcc,
      subject,
      text: part('text/plain'),
      html: part('text/html'),
      template_id: typeof body.template_id === 'string' ? body.template_id : null,
      headers: isObject(body.headers) ? body.headers : {},
      categories: Array.isArray(body.categories) ? body.categories : [],
      send_at: typeof body.send_at === 'number' ? body.send_at : null,
      attachments: list(body.attachments).map(a => ({
        filename: typeof a.filename === 'string' ? a.filename : null,
        type: typeof a.type === 'string' ? a.type : null,
        size: base64Size(a.content),
        disposition: typeof a.disposition === 'string' ? a.disposition : 'attachment'
      })),
      personalizations
    }
  }
}
