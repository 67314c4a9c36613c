import type { ValidateTemplateReply, ValidateTemplateRequest } from '@switchboard/schemas/email'

type Issue = { field: string, message: string }

// SendGrid's total message limit is 30 MB; subjects beyond 998 characters break RFC 5322 lines.
const MAX_TOTAL_BYTES = 30 * 1024 * 1024
const MAX_SUBJECT = 998
const RECOMMENDED_SUBJECT = 78
// A placeholder is its braces around text without braces; its parts are read from that text by
// an anchored pattern. (One pattern for both backtracked through every way of splitting a long
// "{{   …" that never closes between its optional parts: 4,000 spaces took 8 s of the event loop,
// which every server of the stack shares.) Both run in linear time.
const PLACEHOLDER = /\{\{\{?([^{}]*)\}?\}\}/g
const PLACEHOLDER_PARTS = /^\s*([#/^]?)\s*([A-Za-z_][\w.-]*)?/
/** RFC 5321's longest address; a longer from_email is refused before the pattern sees it. */
const MAX_ADDRESS = 320

function scanPlaceholders (field: string, text: string, errors: Issue[]): string[] {
  const names: string[] = []
  const opened: string[] = []
  // Unbalanced braces: count {{ and }} outside matched placeholders.
  const stripped = text.replace(PLACEHOLDER, '')
  if (stripped.includes('{{')) errors.push({ field, message: 'A placeholder is opened with "{{" but never closed with "}}".' })
  else if (stripped.includes('}}')) errors.push({ field, message: 'A placeholder is closed with "}}" but never opened with "{{".' })
  for (const m of text.matchAll(PLACEHOLDER)) {
    const whole = m[0]
    const [, sigil, name] = PLACEHOLDER_PARTS.exec(m[1]!)!
    if (!name) {
      errors.push({ field, message: `Empty or malformed placeholder "${whole}": write {{name}} with a letter or _ first.` })
      continue
    }
    if (sigil === '#' || sigil === '^') opened.push(name)
    else if (sigil === '/') {
      const last = opened.pop()
      if (last !== name) errors.push({ field, message: `Block {{/${name}}} closes ${last ? `{{#${last}}}` : 'nothing'}.` })
    } else if (!['else', 'this'].includes(name)) names.push(name)
  }
  for (const name of opened) errors.push({ field, message: `Block {{#${name}}} is never closed with {{/${name}}}.` })
  return names
}

/**
 * validate_email_template(template_data): the checks a sender would want before a campaign —
 * required parts, placeholder syntax (Handlebars, as SendGrid dynamic templates use), size limits —
 * as errors (it would fail) and warnings (it would send, but probably not as meant).
 */
export function validateEmailTemplate ({ template_data: t }: ValidateTemplateRequest): ValidateTemplateReply {
  const errors: Issue[] = []
  const warnings: Issue[] = []
  const subject = t.subject ?? ''
  if (!subject.trim()) errors.push({ field: 'subject', message: 'The subject is required.' })
  else if (subject.length > MAX_SUBJECT) errors.push({ field: 'subject', message: `The subject is ${subject.length} characters; the limit is ${MAX_SUBJECT}.` })
  else if (subject.length > RECOMMENDED_SUBJECT) warnings.push({ field: 'subject', message: `The subject is ${subject.length} characters; most inboxes cut it after about ${RECOMMENDED_SUBJECT}.` })
  if (/[\r\n]/.test(subject)) errors.push({ field: 'subject', message: 'The subject must be one line (no line breaks).' })

  if (!t.html?.trim() && !t.text?.trim()) errors.push({ field: 'content', message: 'Give an html or a text body (ideally both).' })
  else if (!t.text?.trim()) warnings.push({ field: 'text', message: 'There is no plain-text part; some clients and spam filters penalise html-only mail.' })
  else if (!t.html?.trim()) warnings.push({ field: 'html', message: 'There is no html part; the mail will show as plain text.' })

  if (t.from_email !== undefined && t.from_email.length > MAX_ADDRESS) errors.push({ field: 'from_email', message: `from_email is ${t.from_email.length} characters long; an email address has at most ${MAX_ADDRESS}.` })
  else if (t.from_email !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(t.from_email)) errors.push({ field: 'from_email', message: `"${t.from_email}" is not a valid email address.` })

  const names = new Set<string>()
  for (const [field, text] of [['subject', subject], ['html', t.html ?? ''], ['text', t.text ?? '']] as const) {
    for (const n of scanPlaceholders(field, text, errors)) names.add(n)
  }
  if (t.html && /<script\b/i.test(t.html)) warnings.push({ field: 'html', message: 'Mail clients strip <script> elements.' })
  if (t.html && !/unsubscribe|\{\{\{?\s*unsubscribe/i.test(t.html)) warnings.push({ field: 'html', message: 'No unsubscribe link found; bulk mail without one is often marked as spam.' })

  const data = t.data
  if (data) {
    for (const n of names) {
      const root = n.split('.')[0]!
      if (!(root in data)) warnings.push({ field: 'data', message: `No value for {{${n}}}: it will render empty.` })
    }
  } else if (names.size) {
    warnings.push({ field: 'data', message: `The template uses ${names.size} placeholder(s) but no data was given to check them against.` })
  }

  const size = Buffer.byteLength(subject) + Buffer.byteLength(t.html ?? '') + Buffer.byteLength(t.text ?? '')
  if (size > MAX_TOTAL_BYTES) errors.push({ field: 'content', message: `The template is ${size} bytes; SendGrid's limit for a whole message is 30 MB.` })
  else if (size > 102 * 1024) warnings.push({ field: 'content', message: `The template is ${Math.round(size / 1024)} KB; Gmail clips messages over 102 KB.` })

  return { valid: errors.length === 0, errors, warnings, placeholders: [...names].sort(), size_bytes: size }
}
