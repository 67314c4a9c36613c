/**
 * SendGrid's v3 mail/send validation, as the reference records it (providers.md §1). SendGrid
 * answers all the problems it finds at once, each as {message, field, help}. Messages quoted in
 * the reference are used verbatim; those marked (docs) are the wording of SendGrid's public
 * "Mail Send errors" page (not in the reference, and which field each names is our reading of
 * that page); the others are marked (unverified) and worded in its style.
 */

export interface SendGridError {
  message: string
  field: string | null
  help: string | null
}

const HELP = 'http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.'
const err = (message: string, field: string | null, helpAnchor?: string): SendGridError =>
  ({ message, field, help: helpAnchor ? HELP + helpAnchor : null })

// Deliberately simple, like SendGrid's own check: one @, no spaces, a dot in the domain.
const EMAIL = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

function checkAddress (v: unknown, field: string, anchor: string, out: SendGridError[], label = 'Does not contain a valid address.'): string | undefined {
  // The length first (RFC 5321: 320 at most): the pattern is quadratic on "a@b.b.b.… " (a 1 MB
  // address in a direct send held the event loop every server of the stack shares for minutes).
  // The sender's address is ASCII only (SendGrid's limitations: "no unicode in from").
  if (!isObject(v) || typeof v.email !== 'string' || v.email.length > 320 || !EMAIL.test(v.email) || (field === 'from' && /[^\x20-\x7e]/.test(v.email))) {
    out.push(err(label, `${field}.email`, anchor))
    return undefined
  }
  if (typeof v.name === 'string' && /[;,]/.test(v.name) && !field.startsWith('from') && !field.startsWith('reply_to')) {
    // (unverified) wording; the rule itself is documented under "limitations".
    out.push(err('The name field of an email address may not contain ";" or "," characters.', `${field}.name`, anchor))
  }
  return v.email.toLowerCase()
}

/**
 * custom_args and substitutions are maps of strings (providers.md §1: "in practice object
 * string→string", "string map"): a number or an object in one is refused, naming its key. The
 * wording is SendGrid's JSON-schema style (unverified).
 */
function checkStringValues (v: unknown, field: string, anchor: string, out: SendGridError[]): void {
  if (!isObject(v)) {
    out.push(err(`Invalid type. Expected: object, given: ${jsonType(v)}.`, field, anchor)) // (unverified)
    return
  }
  for (const [key, value] of Object.entries(v)) {
    if (typeof value !== 'string') {
      out.push(err(`Invalid type. Expected: string, given: ${jsonType(value)}.`, `${field}.${key}`, anchor)) // (unverified)
      return
    }
  }
}

/** A value's JSON type, as JSON-schema errors name it. */
function jsonType (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v
}

export interface MailSummary {
  /** `at`: where the address is in the request (personalizations.0.cc.1), as SendGrid's errors name it. */
  recipients: Array<{ email: string, personalization: number, at?: string, customArgs: Record<string, string> }>
  categories: string[]
  sandbox: boolean
  from: string
  /** Unix seconds; the message is held until then. */
  sendAt: number | undefined
  batchId: string | undefined
}

/** Validates a mail/send body; returns the errors, or a summary of what to deliver. */
export function validateMail (body: unknown, nowMs = Date.now()): { errors: SendGridError[] } | { errors: []; summary: MailSummary } {
  const out: SendGridError[] = []
  if (!isObject(body)) return { errors: [err('Bad Request', null)] }

  const ps = body.personalizations
  if (!Array.isArray(ps) || ps.length === 0) {
    out.push(err('The personalizations field is required and must have at least one personalization.', 'personalizations', 'personalizations'))
  } else if (ps.length > 1000) {
    out.push(err('The personalizations field is limited to 1000 personalizations per API request.', 'personalizations', 'personalizations')) // (unverified) wording
  }

  const recipients: MailSummary['recipients'] = []
  const topArgs = isObject(body.custom_args) ? body.custom_args : {}
  let total = 0
  let everySubject = Array.isArray(ps) && ps.length > 0
  if (Array.isArray(ps)) {
    ps.slice(0, 1000).forEach((p: unknown, i: number) => {
      const base = `personalizations.${i}`
      if (!isObject(p)) {
        out.push(err('The personalization object must be an object.', base, 'personalizations')) // (unverified)
        everySubject = false
        return
      }
      if (typeof p.subject !== 'string' || p.subject.length === 0) everySubject = false
      const seen = new Set<string>()
      if (!Array.isArray(p.to) || p.to.length === 0) {
        out.push(err('The to array is required for all personalization objects, and must have at least one email object with a valid email address.', `${base}.to`, 'personalizations.to'))
      }
      for (const kind of ['to', 'cc', 'bcc'] as const) {
        const list = p[kind]
        if (list === undefined) continue
        if (!Array.isArray(list)) {
          out.push(err(`The ${kind} field must be an array of email objects.`, `${base}.${kind}`, `personalizations.${kind}`)) // (unverified)
          continue
        }
        list.forEach((addr: unknown, j: number) => {
          const at = `${base}.${kind}.${j}`
          const email = checkAddress(addr, at, `personalizations.${kind}`, out)
          total++
          if (!email) return
          if (seen.has(email)) {
            out.push(err(`Each email address in the personalization block should be unique between to, cc, and bcc. We found the first duplicate instance of [${email}] in the ${base}.${kind} field.`, `${base}.${kind}`, 'personalizations')) // (unverified)
          }
          seen.add(email)
          const args = isObject(p.custom_args) ? p.custom_args : {}
          recipients.push({ email, personalization: i, at, customArgs: Object.fromEntries(Object.entries({ ...topArgs, ...args }).map(([k, v]) => [k, String(v)])) })
        })
      }
      if (p.headers !== undefined) checkHeaders(p.headers, `${base}.headers`, 'personalizations.headers', out)
      if (p.custom_args !== undefined) checkStringValues(p.custom_args, `${base}.custom_args`, 'personalizations.custom_args', out)
      if (p.substitutions !== undefined) checkStringValues(p.substitutions, `${base}.substitutions`, 'personalizations.substitutions', out)
      if (p.custom_args !== undefined && JSON.stringify(p.custom_args).length >= 10_000) {
        out.push(err('The custom_args field must be less than 10,000 bytes.', `${base}.custom_args`, 'personalizations.custom_args')) // (unverified)
      }
      if (p.substitutions !== undefined && JSON.stringify(p.substitutions).length >= 10_000) {
        out.push(err('The substitutions field must be less than 10,000 bytes.', `${base}.substitutions`, 'personalizations.substitutions')) // (unverified)
      }
    })
  }
  if (total > 1000) {
    out.push(err('The total number of recipients (to, cc and bcc) must be no more than 1000 per request.', 'personalizations', 'personalizations')) // (unverified)
  }

  let from = ''
  if (!isObject(body.from)) {
    out.push(err('The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.', 'from', 'from'))
  } else {
    from = checkAddress(body.from, 'from', 'from', out, 'The from email does not contain a valid address.') ?? ''
  }
  if (body.reply_to !== undefined && body.reply_to_list !== undefined) {
    out.push(err('The reply_to and reply_to_list fields are mutually exclusive; send one of them.', 'reply_to', 'reply_to')) // (unverified)
  }
  if (body.reply_to !== undefined) checkAddress(body.reply_to, 'reply_to', 'reply_to', out, 'The reply_to email does not contain a valid address.')

  const hasTemplate = typeof body.template_id === 'string' && body.template_id.length > 0
  if (!hasTemplate && !everySubject && (typeof body.subject !== 'string' || body.subject.length === 0)) {
    out.push(err('The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.', 'subject', 'subject'))
  }

  if (body.content === undefined) {
    if (!hasTemplate) {
      out.push(err('Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block. We typically suggest both text/plain and text/html blocks are included, but only one block is required.', 'content', 'content'))
    }
  } else if (!Array.isArray(body.content) || body.content.length === 0) {
    out.push(err('The content field must be an array of at least one content block.', 'content', 'content')) // (unverified)
  } else {
    const types: string[] = []
    body.content.forEach((c: unknown, i: number) => {
      if (!isObject(c) || typeof c.type !== 'string' || c.type.length === 0) {
        out.push(err('The content type must be a string at least one character in length.', `content.${i}.type`, 'content.type')) // (unverified)
      } else {
        types.push(c.type)
      }
      if (!isObject(c) || typeof c.value !== 'string' || c.value.length === 0) {
        out.push(err('The content value must be a string at least one character in length.', `content.${i}.value`, 'content.value'))
      }
    })
    const plain = types.indexOf('text/plain')
    const html = types.indexOf('text/html')
    if ((plain > 0) || (html >= 0 && plain > html)) {
      out.push(err('If present, text/plain content must be first, followed by text/html, followed by any other content.', 'content', 'content.type')) // (recalled)
    }
  }

  if (body.categories !== undefined) checkCategories(body.categories, out)
  if (body.send_at !== undefined) {
    const now = Math.floor(nowMs / 1000)
    if (typeof body.send_at !== 'number' || !Number.isInteger(body.send_at) || body.send_at > now + 72 * 3600) {
      out.push(err('The send_at parameter must be a unix timestamp no more than 72 hours in the future.', 'send_at', 'send_at')) // (unverified)
    }
  }
  if (body.batch_id !== undefined && (typeof body.batch_id !== 'string' || !/^[a-zA-Z0-9\-_]+$/.test(body.batch_id))) {
    out.push(err('The batch_id must be a batch ID created with POST /v3/mail/batch.', 'batch_id', 'batch_id')) // (unverified)
  }
  if (body.custom_args !== undefined) checkStringValues(body.custom_args, 'custom_args', 'custom_args', out)
  if (body.custom_args !== undefined && JSON.stringify(body.custom_args).length >= 10_000) {
    out.push(err('The custom_args field must be less than 10,000 bytes.', 'custom_args', 'custom_args')) // (unverified)
  }
  if (body.attachments !== undefined) checkAttachments(body.attachments, out)
  checkOptions(body, out)

  if (out.length) return { errors: out }
  const sandbox = isObject(body.mail_settings) && isObject(body.mail_settings.sandbox_mode) && body.mail_settings.sandbox_mode.enable === true
  const categories = Array.isArray(body.categories) ? body.categories.map(String) : []
  const sendAt = typeof body.send_at === 'number' ? body.send_at : undefined
  const batchId = typeof body.batch_id === 'string' ? body.batch_id : undefined
  return { errors: [], summary: { recipients, categories, sandbox, from, sendAt, batchId } }
}

/**
 * Headers SendGrid writes itself, which a message may not set (the spec and providers.md §1 list
 * them). Compared without case, as header names are.
 */
const RESERVED_HEADERS = new Set(['x-sg-id', 'x-sg-eid', 'received', 'dkim-signature', 'content-type', 'content-transfer-encoding', 'to', 'from', 'subject', 'reply-to', 'cc', 'bcc'])

/** `headers`, at the message level or in a personalization: string → string, no reserved name. */
function checkHeaders (v: unknown, field: string, anchor: string, out: SendGridError[]): void {
  if (!isObject(v)) {
    out.push(err('The headers parameter must be an object of key/value pairs, where the values are all strings.', field, anchor)) // (unverified)
    return
  }
  for (const [name, value] of Object.entries(v)) {
    // (docs) wording; the page words the personalization's and the message's variants alike.
    if (typeof value !== 'string') out.push(err('The header values must be strings.', field, anchor))
    // (docs): "non-ASCII characters and empty spaces"; a colon cannot be in a header name either.
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) out.push(err('Header keys can\'t contain non-ASCII characters and empty spaces.', field, anchor))
    if (RESERVED_HEADERS.has(name.toLowerCase())) out.push(err('Header can not be one of the reserved keys.', field, anchor)) // (docs)
  }
}

function checkCategories (v: unknown, out: SendGridError[]): void {
  if (!Array.isArray(v) || v.some(c => typeof c !== 'string')) {
    out.push(err('Categories must be an array of strings.', 'categories', 'categories')) // (docs)
    return
  }
  if (v.length > 10) out.push(err(`There is a limit of 10 categories for each email that is sent. You provided ${v.length} categories.`, 'categories', 'categories')) // (docs)
  const seen = new Set<string>()
  for (const c of v as string[]) {
    if (c.length > 255) out.push(err(`Each category must not be longer than 255 characters. ${c} exceeds this limit.`, 'categories', 'categories')) // (docs)
    // The spec says uniqueItems; whether SendGrid compares without case is not recorded: exact.
    if (seen.has(c)) out.push(err(`The categories must be a unique list, and you have included ${c} more than once.`, 'categories', 'categories')) // (docs)
    seen.add(c)
  }
}

// Standard base64, padded, with no line breaks: SendGrid refuses the MIME style (76-character
// lines) that Ruby's Base64.encode64 writes (sendgrid-ruby issue #84).
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

function checkAttachments (v: unknown, out: SendGridError[]): void {
  if (!Array.isArray(v)) {
    out.push(err('The attachments field must be an array of attachment objects.', 'attachments', 'attachments')) // (unverified)
    return
  }
  v.forEach((a: unknown, i: number) => {
    const at = (name: string) => `attachments.${i}.${name}`
    const o = isObject(a) ? a : {}
    if (typeof o.content !== 'string' || o.content.length === 0) out.push(err('The attachment content must be a string at least one character in length.', at('content'), 'attachments.content')) // (docs)
    else if (!BASE64.test(o.content)) out.push(err('The attachment content must be base64 encoded.', at('content'), 'attachments.content')) // the reference's issues record this body
    if (o.filename === undefined) out.push(err('filename is required.', at('filename'), 'attachments.filename')) // (docs)
    else if (typeof o.filename !== 'string') out.push(err('The filename of your attachment must be a string.', at('filename'), 'attachments.filename')) // (docs)
    if (o.type !== undefined && (typeof o.type !== 'string' || o.type.length === 0)) out.push(err('The attachment type must be a string and at least one character in length.', at('type'), 'attachments.type')) // (docs)
    if (o.disposition !== undefined && o.disposition !== 'inline' && o.disposition !== 'attachment') {
      out.push(err(`The disposition of your attachment can be either "inline" or "attachment". You provided ${String(o.disposition)}.`, at('disposition'), 'attachments.disposition')) // (docs)
    }
    if (o.content_id !== undefined && typeof o.content_id !== 'string') out.push(err(`The content ID of your attachment must be a string. You provided ${String(o.content_id)}.`, at('content_id'), 'attachments.content_id')) // (docs)
  })
}

/**
 * The settings objects: each named setting an object, its flags booleans, its texts strings. The
 * messages are the docs page's, one per field; a setting that is not an object at all is worded by
 * us. Settings the spec does not list (bcc, spam_check, legacy ones) are let through unchecked.
 */
const SETTINGS: Record<'mail_settings' | 'tracking_settings', Record<string, Record<string, ['boolean' | 'string', string]>>> = {
  mail_settings: {
    bypass_list_management: { enable: ['boolean', 'The bypass list management `enable` param should be a Boolean value.'] },
    bypass_spam_management: { enable: ['boolean', 'The bypass spam management `enable` param should be a Boolean value.'] }, // (unverified): worded as its sibling
    bypass_bounce_management: { enable: ['boolean', 'The bypass bounce management `enable` param should be a Boolean value.'] }, // (unverified)
    bypass_unsubscribe_management: { enable: ['boolean', 'The bypass unsubscribe management `enable` param should be a Boolean value.'] }, // (unverified)
    footer: {
      enable: ['boolean', 'The footer enable param should be a Boolean value.'],
      text: ['string', 'The text/plain version of your footer should be a string.'],
      html: ['string', 'The text/html version of your footer should be a string.']
    },
    sandbox_mode: { enable: ['boolean', 'The sandbox mode enable param should be a boolean value.'] }
  },
  tracking_settings: {
    click_tracking: {
      enable: ['boolean', 'The click tracking enable param should be a boolean value.'],
      enable_text: ['boolean', 'The click tracking enable text must be a boolean value.']
    },
    open_tracking: {
      enable: ['boolean', 'The open tracking enable param should be a boolean value.'],
      substitution_tag: ['string', 'The open tracking substitution tag must be a string.']
    },
    subscription_tracking: {
      enable: ['boolean', 'The subscription tracking `enable` param should be a boolean value.'],
      text: ['string', 'The subscription tracking unsubscribe content for text/plain messages must be a string.'],
      html: ['string', 'The subscription tracking unsubscribe content for text/html messages must be a string.'],
      substitution_tag: ['string', 'The subscription tracking substitution tag must be a string value.']
    },
    ganalytics: {
      enable: ['boolean', 'The Google Analytics enable param must be a boolean value.'],
      ...Object.fromEntries(['utm_source', 'utm_medium', 'utm_term', 'utm_content', 'utm_campaign'].map(k => [k, ['string', `The Google Analytics ${k} must be a string value.`] as ['string', string]]))
    }
  }
}

/** template_id, asm, ip_pool_name, the message-level headers and the settings objects. */
function checkOptions (body: Json, out: SendGridError[]): void {
  if (body.template_id !== undefined && typeof body.template_id !== 'string') {
    out.push(err(`The template ID must be a string, you provided ${JSON.stringify(body.template_id)}.`, 'template_id', 'template_id')) // (docs)
  }
  if (body.headers !== undefined) checkHeaders(body.headers, 'headers', 'headers', out)

  if (body.asm !== undefined) {
    const asm = isObject(body.asm) ? body.asm : {}
    // The spec requires group_id whenever asm is given: a missing one is "not an integer" too.
    if (!Number.isInteger(asm.group_id)) out.push(err('The ASM group ID must be an integer.', 'asm.group_id', 'asm.group_id')) // (docs)
    const display = asm.groups_to_display
    if (display !== undefined) {
      if (!Array.isArray(display) || !display.every(g => Number.isInteger(g))) {
        out.push(err('The ASM Group IDs to display must be an array of integers.', 'asm.groups_to_display', 'asm.groups_to_display')) // (docs)
      } else if (display.length > 25) {
        out.push(err('There is a limit of 25 unsubscribe groups that can be displayed to a user at a time.', 'asm.groups_to_display', 'asm.groups_to_display')) // (docs)
      }
    }
  }

  if (body.ip_pool_name !== undefined) {
    if (typeof body.ip_pool_name !== 'string') out.push(err('The name of your IP pool must be a string.', 'ip_pool_name', 'ip_pool_name')) // (docs)
    // The spec's 2..64; SendGrid's words for a name out of range are not recorded: an account has
    // no pool by such a name, so the docs' answer for an unknown pool is the plausible one.
    else if (body.ip_pool_name.length < 2 || body.ip_pool_name.length > 64) out.push(err(`The IP Pool name must be a valid pool name for your account. You provided ${body.ip_pool_name}.`, 'ip_pool_name', 'ip_pool_name'))
  }

  for (const group of ['mail_settings', 'tracking_settings'] as const) {
    const value = body[group]
    if (value === undefined) continue
    if (!isObject(value)) {
      out.push(err(`The ${group} parameter must be an object.`, group, group)) // (unverified)
      continue
    }
    for (const [name, fields] of Object.entries(SETTINGS[group])) {
      const setting = value[name]
      if (setting === undefined) continue
      if (!isObject(setting)) {
        out.push(err(`The ${group}.${name} setting must be an object.`, `${group}.${name}`, `${group}.${name}`)) // (unverified)
        continue
      }
      for (const [key, [type, message]] of Object.entries(fields)) {
        const v = setting[key]
        const fits = type === 'boolean' ? typeof v === 'boolean' : typeof v === 'string'
        if (v !== undefined && !fits) out.push(err(message, `${group}.${name}.${key}`, `${group}.${name}.${key}`))
      }
    }
  }
}
