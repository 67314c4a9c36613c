import { randomHex } from '@switchboard/service-kit/ids'
import type { EmulatorAccount } from '@switchboard/service-kit/emulator-account'
import { DEFAULT_TEMPLATES } from '../catalogue.ts'
import { normalizePhone } from '../phone.ts'

/**
 * AiSensy's campaign API checks, with the bodies integrators recorded from production
 * (providers.md §2, "Responses"). Three failures come back as a bare {"message": …}; the newer
 * account-level ones in the full envelope {message, name:"ERR<code>", errorCode, errorMessage,
 * aisTraceId}. Bodies no one recorded use the full envelope and are marked (unverified).
 */

export interface EmulatedCampaign {
  name: string
  /** Only Live campaigns send ("Campaign is Not Live" otherwise). */
  live: boolean
  params: number
  mediaHeader: boolean
  /** A dynamic button (copy code / URL suffix) that needs a parameter on v2. */
  dynamicButton: boolean
}

/** The dashboard's API campaigns: one per default template, plus a paused one. */
export function seedCampaigns (): Map<string, EmulatedCampaign> {
  const out = new Map<string, EmulatedCampaign>()
  for (const t of DEFAULT_TEMPLATES) {
    out.set(t.campaign_name, { name: t.campaign_name, live: true, params: t.params, mediaHeader: ['image', 'video', 'document'].includes(t.header), dynamicButton: t.button !== undefined })
  }
  out.set('festive_offer_paused', { name: 'festive_offer_paused', live: false, params: 1, mediaHeader: false, dynamicButton: false })
  return out
}

export interface AiSensyError {
  status: number
  body: Record<string, unknown>
}

/** "ais_" + the time in base 36 + 4 random bytes: the observed ids look exactly like this (ais_mum6apj6_f00b82d8). */
export const traceId = () => `ais_${Date.now().toString(36)}_${randomHex(4)}`

/** The recorded bare form. */
export const bare = (status: number, message: string): AiSensyError => ({ status, body: { message } })

/** The full envelope of newer errors. */
export const envelope = (status: number, message: string): AiSensyError => ({
  status,
  body: { message, name: `ERR${status}`, errorCode: status, errorMessage: message, aisTraceId: traceId() }
})

export const ERRORS = {
  // Recorded from production (third-party fixtures quoting real responses).
  campaignMissing: () => bare(400, 'Campaign does not exist.'),
  invalidNumber: () => bare(400, 'Invalid Number'),
  paramsMismatch: () => bare(400, 'Template params does not match the campaign'),
  noPlan: () => envelope(400, 'No Plan active on assistant!'),
  noCredits: () => envelope(402, 'Insufficient WhatsApp Conversation Credits (WCC)!'),
  // Seen in one integrator's audit of AiSensy answers; status and envelope (unverified).
  notLive: () => bare(400, 'Campaign is Not Live'),
  // (unverified) No source records these; worded in AiSensy's style.
  badApiKey: () => envelope(401, 'Invalid API Key'),
  // Not recorded by anyone: 400, as every recorded validation error is (the README says so too).
  userNameMissing: () => envelope(400, 'userName is required'),
  mediaMissing: () => envelope(400, 'Media is required for this campaign'),
  buttonMismatch: () => bare(400, 'Button params does not match the campaign'),
  badBody: () => envelope(400, 'Invalid request body'),
  internal: () => envelope(500, 'Internal Server Error'),
  rateLimited: () => envelope(429, 'Too many requests, please try again later.')
}

// AiSensy keys are JWTs (header.payload.signature, base64url; the payload names the project and
// its plan). Any well-formed JWT whose header decodes is accepted, or (EMULATOR_AUTH=issued) only
// the stack's own.
const JWT = /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/
// A client sends the same key on every request: the verdict on the last few keys seen is kept
// (bounded in count and size, since keys come from requests) rather than decoding the header each time.
const verdicts = new Map<string, boolean>()
const MAX_VERDICTS = 1000
export function apiKeyLooksValid (key: unknown): boolean {
  if (typeof key !== 'string') return false
  if (key.length > 4096) return decodesAsJwt(key)
  let ok = verdicts.get(key)
  if (ok === undefined) {
    ok = decodesAsJwt(key)
    if (verdicts.size >= MAX_VERDICTS) verdicts.clear()
    verdicts.set(key, ok)
  }
  return ok
}
function decodesAsJwt (key: string): boolean {
  if (!JWT.test(key)) return false
  try {
    const header = JSON.parse(Buffer.from(key.split('.')[0]!, 'base64url').toString('utf8')) as { alg?: unknown }
    return typeof header.alg === 'string'
  } catch {
    return false
  }
}

export interface CampaignSend {
  campaign: EmulatedCampaign
  destination: string
  userName: string
  templateParams: string[]
}

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Validates one send in AiSensy's order as far as it can be known: key, campaign, number, name,
 * params, media, buttons (v2 only: v1 predates buttons, so their absence is never an error there).
 */
export function validateSend (body: unknown, campaigns: Map<string, EmulatedCampaign>, version: 'v1' | 'v2', account?: EmulatorAccount<'apiKey'>): { error: AiSensyError } | { send: CampaignSend } {
  if (!isObject(body)) return { error: ERRORS.badBody() }
  if (!apiKeyLooksValid(body.apiKey) || (account && !account.accepts('apiKey', body.apiKey))) return { error: ERRORS.badApiKey() }
  const campaign = typeof body.campaignName === 'string' ? campaigns.get(body.campaignName) : undefined
  if (!campaign) return { error: ERRORS.campaignMissing() }
  if (!campaign.live) return { error: ERRORS.notLive() }
  const phone = typeof body.destination === 'string' || typeof body.destination === 'number' ? normalizePhone(String(body.destination)) : undefined
  if (!phone?.ok) return { error: ERRORS.invalidNumber() }
  if (typeof body.userName !== 'string' || body.userName.trim() === '') return { error: ERRORS.userNameMissing() }
  const params = body.templateParams === undefined ? [] : body.templateParams
  // Values are sent as strings; numbers are accepted and stringified, anything else is a mismatch.
  if (!Array.isArray(params) || params.length !== campaign.params || params.some(p => typeof p !== 'string' && typeof p !== 'number')) {
    return { error: ERRORS.paramsMismatch() }
  }
  if (campaign.mediaHeader && (!isObject(body.media) || typeof body.media.url !== 'string' || !/^https?:\/\//.test(body.media.url))) {
    return { error: ERRORS.mediaMissing() }
  }
  if (version === 'v2' && campaign.dynamicButton && !hasButtonParameter(body.buttons)) return { error: ERRORS.buttonMismatch() }
  return { send: { campaign, destination: phone.e164, userName: body.userName, templateParams: params.map(String) } }
}

/** Meta-style button components: [{type:"button", sub_type, index (number or string), parameters:[{type:"text", text}]}]. */
function hasButtonParameter (buttons: unknown): boolean {
  if (!Array.isArray(buttons)) return false
  return buttons.some(b => isObject(b) && b.type === 'button' && (b.index === 0 || b.index === '0') &&
    Array.isArray(b.parameters) && b.parameters.some(p => isObject(p) && typeof p.text === 'string' && p.text.length > 0))
}
