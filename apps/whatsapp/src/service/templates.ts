import type { TemplatesReply } from '@switchboard/schemas/whatsapp'
import { appError } from '@switchboard/service-kit/errors'
import type { Template } from '../catalogue.ts'

// The template catalogue as the service uses it: finding a template by name and checking a send's
// params against it (a caller's mistake fails the whole request before anything is sent), and the
// catalogue as get_templates answers it.

const TEMPLATES_NOTE = 'AiSensy has no template-listing API: a send names a Live API campaign bound to an approved template. ' +
  'This catalogue is the service\'s configuration (WHATSAPP_TEMPLATES_FILE; by default the emulator\'s seeded campaigns), not a live listing.'

export function templateNamed (templates: ReadonlyMap<string, Template>, name: string): Template {
  const t = templates.get(name)
  if (!t) {
    throw appError('WHATSAPP_UNKNOWN_TEMPLATE', `No template named "${name}". Known templates: ${[...templates.keys()].join(', ')} (GET /api/automation/whatsapp/templates lists them with their params).`,
      { details: [{ field: 'body/template_name', message: 'unknown template' }] })
  }
  return t
}

/** The params a send uses: those given, else the template's defaults; their count must match. `field` names them in the error. */
export function paramsFor (t: Template, given: string[] | undefined, field: string): string[] {
  const params = given ?? t.default_params ?? (t.params === 0 ? [] : undefined)
  if (params === undefined) {
    throw appError('WHATSAPP_TEMPLATE_PARAMS_MISMATCH', `Template ${t.name} takes ${t.params} param${t.params === 1 ? '' : 's'} and has no defaults: give ${field}.`,
      { details: [{ field, message: `must have ${t.params} items` }] })
  }
  if (params.length !== t.params) {
    throw appError('WHATSAPP_TEMPLATE_PARAMS_MISMATCH', `Template ${t.name} takes ${t.params} param${t.params === 1 ? '' : 's'}, ${field} has ${params.length}. AiSensy refuses a send whose params do not match the campaign.`,
      { details: [{ field, message: `must have ${t.params} items` }] })
  }
  return params
}

/** get_templates() */
export function templatesReply (templates: readonly Template[]): TemplatesReply {
  return {
    source: 'configuration',
    note: TEMPLATES_NOTE,
    templates: templates.map(t => ({
      name: t.name,
      campaign_name: t.campaign_name,
      language: t.language,
      category: t.category,
      body: t.body,
      params: t.params,
      header: t.header,
      button: t.button?.type ?? null,
      default_params: t.default_params ?? null
    }))
  }
}
