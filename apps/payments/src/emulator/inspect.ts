/**
 * What the Activity view shows of an Instamojo exchange (service-kit's capture.ts stores it): a
 * payment request as its link and details, each step of the emulated checkout page (kind
 * 'checkout': the buyer's, not a client's direct traffic), and each webhook as the payment's status.
 */
import type { Describer } from '@switchboard/service-kit/capture'

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v)
const str = (v: unknown): string | null => typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null

/** The checkout page's paths: a long URL (/@<username>/<id>) and a short one (/s/<slug>). */
const CHECKOUT = /^\/(?:@[^/]+\/|s\/)/

export function describeInstamojo (): Describer {
  const checkout = CHECKOUT
  return (x) => {
    if (x.kind === 'webhook') {
      const b = isObject(x.requestBody) ? x.requestBody : {}
      return { event: str(b.status) ?? undefined, summary: `Instamojo payment ${str(b.status) ?? 'update'}`, contacts: [str(b.buyer), str(b.buyer_phone)].filter((c): c is string => c !== null), refs: [str(b.payment_request_id), str(b.payment_id)].filter((r): r is string => r !== null) }
    }
    if (checkout.test(x.path)) {
      const b = isObject(x.requestBody) ? x.requestBody : {}
      const step = x.method === 'GET' ? 'opened the checkout page' : `submitted the checkout${str(b.outcome) ?? str(b.action) ? ` (${str(b.outcome) ?? str(b.action)})` : ''}`
      return { kind: 'checkout', summary: step, event: x.method === 'GET' ? 'opened' : (str(b.outcome) ?? str(b.action) ?? 'submitted') }
    }
    if (x.method !== 'POST' || !/payment[_-]requests\/$/.test(x.path)) return undefined
    const body = isObject(x.requestBody) ? x.requestBody : {}
    const res = isObject(x.responseBody) ? (isObject(x.responseBody.payment_request) ? x.responseBody.payment_request : x.responseBody) : {}
    return {
      providerId: str(res.id) ?? undefined,
      contacts: [str(body.email), str(body.phone)].filter((c): c is string => c !== null && c !== ''),
      summary: `${str(body.purpose) ?? 'payment request'} (INR ${str(body.amount) ?? '?'})`,
      content: {
        kind: 'payments',
        payment_request_id: str(res.id),
        purpose: str(body.purpose),
        amount: str(body.amount),
        currency: 'INR',
        buyer_name: str(body.buyer_name),
        email: str(body.email),
        phone: str(body.phone),
        redirect_url: str(body.redirect_url),
        webhook: str(body.webhook),
        send_email: body.send_email ?? null,
        send_sms: body.send_sms ?? null,
        allow_repeated_payments: body.allow_repeated_payments ?? null,
        longurl: str(res.longurl),
        shorturl: str(res.shorturl),
        status: str(res.status)
      }
    }
  }
}
