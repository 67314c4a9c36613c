/**
 * SendGrid's v3 mail/send validation, as the reference records it (providers.md §1). SendGrid
 * answers all the problems it finds at once, each as {message, field, help}. Messages quoted in
 * the reference are used verbatim; the others are marked (unverified) and worded in its style.
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
  if (!isObject(v) || typeof v.email !== 'string' || !EMAIL.test(v.email)) {
    out.push(err(label, `${field}.email`, anchor))
    return undefined
  }
  if (typeof v.name === 'string' && /[;,]/.test(v.name) && !field.startsWith('from') && !field.startsWith('reply_to')) {
    // (unverified) wording; the rule itself is documented under "limitations".
    out.push(err('The name field of an email address may not contain ";" or "," characters.', `${field}.name`, anchor))
  }
  return v.email.toLowerCase()
}

export interface MailSummary {
  recipients: Array<{ email: string, personalization: number, customArgs: Record<string, string> }>
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
          const email = checkAddress(addr, `${base}.${kind}.${j}`, `personalizations.${kind}`, out)
          total++
          if (!email) return
          if (seen.has(email)) {
            out.push(err(`Each email address in the personalization block should be unique between to, cc, and bcc. We found the first duplicate instance of [${email}] in the ${base}.${kind} field.`, `${base}.${kind}`, 'personalizations')) // (unverified)
          }
          seen.add(email)
          const args = isObject(p.custom_args) ? p.custom_args : {}
          recipients.push({ email, personalization: i, customArgs: Object.fromEntries(Object.entries({ ...topArgs, ...args }).map(([k, v]) => [k, String(v)])) })
        })
      }
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

  if (body.categories !== undefined) {
    if (!Array.isArray(body.categories) || body.categories.length > 10) {
      out.push(err('The categories field must be an array of no more than 10 categories.', 'categories', 'categories')) // (unverified)
    } else if (body.categories.some(c => typeof c !== 'string' || c.length > 255)) {
      out.push(err('A category cannot have more than 255 characters.', 'categories', 'categories')) // (unverified)
    }
  }
  if (body.send_at !== undefined) {
    const now = Math.floor(nowMs / 1000)
    if (typeof body.send_at !== 'number' || !Number.isInteger(body.send_at) || body.send_at > now + 72 * 3600) {
      out.push(err('The send_at parameter must be a unix timestamp no more than 72 hours in the future.', 'send_at', 'send_at')) // (unverified)
    }
  }
  if (body.batch_id !== undefined && (typeof body.batch_id !== 'string' || !/^[a-zA-Z0-9\-_]+$/.test(body.batch_id))) {
    out.push(err('The batch_id must be a batch ID created with POST /v3/mail/batch.', 'batch_id', 'batch_id')) // (unverified)
  }
  if (body.custom_args !== undefined && JSON.stringify(body.custom_args).length >= 10_000) {
    out.push(err('The custom_args field must be less than 10,000 bytes.', 'custom_args', 'custom_args')) // (unverified)
  }
  if (Array.isArray(body.attachments)) {
    body.attachments.forEach((a: unknown, i: number) => {
      if (!isObject(a) || typeof a.content !== 'string' || a.content.length === 0) out.push(err('The attachment content is required.', `attachments.${i}.content`, 'attachments.content')) // (unverified)
      if (!isObject(a) || typeof a.filename !== 'string' || a.filename.length === 0) out.push(err('The attachment filename is required.', `attachments.${i}.filename`, 'attachments.filename')) // (unverified)
    })
  }

  if (out.length) return { errors: out }
  const sandbox = isObject(body.mail_settings) && isObject(body.mail_settings.sandbox_mode) && body.mail_settings.sandbox_mode.enable === true
  const categories = Array.isArray(body.categories) ? body.categories.map(String) : []
  const sendAt = typeof body.send_at === 'number' ? body.send_at : undefined
  const batchId = typeof body.batch_id === 'string' ? body.batch_id : undefined
  return { errors: [], summary: { recipients, categories, sandbox, from, sendAt, batchId } }
}
