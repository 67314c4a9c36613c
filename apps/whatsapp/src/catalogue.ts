import { readFileSync } from 'node:fs'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { ConfigError } from '@switchboard/service-kit/env'

/**
 * The WhatsApp templates this project sends. AiSensy has no template-listing API: a send names an
 * API campaign (created in the AiSensy dashboard, bound to one approved template). So the service's
 * catalogue is configuration (WHATSAPP_TEMPLATES_FILE), and by default it is the same list the
 * emulator seeds as its campaigns, so mock mode works out of the box.
 */
export const TemplateSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200, description: 'What callers pass as template_name' }),
  campaign_name: Type.String({ minLength: 1, maxLength: 200, description: 'The Live AiSensy API campaign bound to this template' }),
  language: Type.String({ default: 'en' }),
  category: Type.Union([Type.Literal('MARKETING'), Type.Literal('UTILITY'), Type.Literal('AUTHENTICATION')]),
  body: Type.String({ description: 'The approved text, with {{1}}, {{2}}, ... for the params' }),
  params: Type.Integer({ minimum: 0, maximum: 20, description: 'How many templateParams the campaign takes' }),
  header: Type.Union([Type.Literal('none'), Type.Literal('text'), Type.Literal('image'), Type.Literal('video'), Type.Literal('document')], { default: 'none' }),
  /** A media header needs {url, filename} on every send; this one is used when the caller gives none. */
  default_media: Type.Optional(Type.Object({ url: Type.String(), filename: Type.String() })),
  /** A dynamic button (copy code, or a URL with a variable part) takes its value from one param. */
  button: Type.Optional(Type.Object({
    type: Type.Union([Type.Literal('copy_code'), Type.Literal('url')]),
    param_index: Type.Integer({ minimum: 0, description: 'Which of params fills the button' })
  })),
  /** Params for contacts that give none (bulk and campaigns); $FirstName is AiSensy's contact attribute. */
  default_params: Type.Optional(Type.Array(Type.String()))
}, { additionalProperties: false })
export type Template = Static<typeof TemplateSchema>

export const DEFAULT_TEMPLATES: Template[] = [
  {
    name: 'welcome_message',
    campaign_name: 'welcome_message',
    language: 'en',
    category: 'MARKETING',
    body: 'Hi {{1}}, welcome aboard! Reply to this message any time you need help.',
    params: 1,
    header: 'none',
    default_params: ['$FirstName']
  },
  {
    name: 'order_confirmation',
    campaign_name: 'order_confirmation',
    language: 'en',
    category: 'UTILITY',
    body: 'Hi {{1}}, your order {{2}} is confirmed. We will message you when it ships.',
    params: 2,
    header: 'none'
  },
  {
    name: 'payment_reminder',
    campaign_name: 'payment_reminder',
    language: 'en',
    category: 'UTILITY',
    body: 'Hi {{1}}, a payment of {{2}} is due on {{3}}. Please ignore this if you have already paid.',
    params: 3,
    header: 'none'
  },
  {
    name: 'otp_verification',
    campaign_name: 'otp_verification',
    language: 'en',
    category: 'AUTHENTICATION',
    body: '{{1}} is your verification code. For your security, do not share this code.',
    params: 1,
    header: 'none',
    button: { type: 'copy_code', param_index: 0 }
  },
  {
    name: 'appointment_reminder',
    campaign_name: 'appointment_reminder',
    language: 'en',
    category: 'UTILITY',
    body: 'Hi {{1}}, this is a reminder of your appointment on {{2}}. Reply YES to confirm.',
    params: 2,
    header: 'image',
    default_media: { url: 'https://placehold.co/800x418.png?text=Appointment+reminder', filename: 'appointment.png' }
  }
]

/** Reads the catalogue: the file named by WHATSAPP_TEMPLATES_FILE, else the default list. */
export function loadCatalogue (file: string | undefined): Template[] {
  if (!file) return DEFAULT_TEMPLATES
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new ConfigError(`Invalid configuration: WHATSAPP_TEMPLATES_FILE (${file}) could not be read as JSON: ${(err as Error).message}.`)
  }
  const list = Type.Array(TemplateSchema, { minItems: 1 })
  const withDefaults = Value.Default(list, parsed)
  if (!Value.Check(list, withDefaults)) {
    const first = Value.Errors(list, withDefaults).First()
    throw new ConfigError(`Invalid configuration: WHATSAPP_TEMPLATES_FILE (${file}) ${first ? `at ${first.path || '/'}: ${first.message}` : 'is not a list of templates'}. See DEFAULT_TEMPLATES in apps/whatsapp/src/catalogue.ts for the shape.`)
  }
  const templates = withDefaults as Template[]
  for (const t of templates) {
    if (t.button && t.button.param_index >= t.params) throw new ConfigError(`Invalid configuration: WHATSAPP_TEMPLATES_FILE: template ${t.name} fills its button from param ${t.button.param_index} but takes only ${t.params} params.`)
    if (t.default_params && t.default_params.length !== t.params) throw new ConfigError(`Invalid configuration: WHATSAPP_TEMPLATES_FILE: template ${t.name} has ${t.default_params.length} default_params but takes ${t.params} params.`)
  }
  return templates
}

/** The template's text with its params filled in ($FirstName becomes the contact's first name). */
export function renderTemplate (template: Template, params: string[], contactName?: string | null, fallbackName = 'Customer'): string {
  const firstName = contactName?.trim().split(/\s+/)[0] || fallbackName
  return template.body.replace(/\{\{(\d+)\}\}/g, (whole, n: string) => {
    const v = params[Number(n) - 1]
    if (v === undefined) return whole
    return v.replace(/\$FirstName\b/g, firstName)
  })
}
