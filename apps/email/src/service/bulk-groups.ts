/**
 * How a bulk send's recipients are split into SendGrid requests.
 *
 * Recipients sharing a body go out together, up to 1,000 to a request (SendGrid's limit on
 * personalizations). Recipients with bodies of their own (a personalized greeting, an order
 * number) are packed into requests too, each body carried in its recipient's `substitutions`
 * under one tag that is the request's whole content: SendGrid puts each personalization's
 * substitutions into the subject, reply-to and content (tsg_mail_v3.json, personalizations.
 * substitutions), so every recipient gets their own body from one request. 10,000 personalized
 * emails are ten requests instead of ten thousand, in mock mode and against the real SendGrid.
 *
 * A body too large for a personalization's substitutions (SendGrid allows 10,000 bytes of them)
 * goes in requests of its own, as do all bodies when packing is turned off.
 */
export interface BulkRecipient {
  to_email: string
  subject: string
  content: string
  content_type?: 'text/plain' | 'text/html'
}

/** SendGrid allows 1,000 personalizations (and 1,000 recipients) per request. */
export const MAX_PER_REQUEST = 1000

/** SendGrid's bound on one personalization's substitutions: "may not exceed 10,000 bytes". */
export const MAX_SUBSTITUTION_BYTES = 10_000

/**
 * At most this many bytes of substituted bodies in one request: far below SendGrid's 30 MB for a
 * whole email, so a packed request stays quick to build, send and store as an exchange.
 */
export const MAX_PACKED_BYTES = 4 * 1024 * 1024

/**
 * The tag a packed request's content consists of. SendGrid's own examples use `-name-`; this one is
 * long and specific enough never to occur in a subject by accident.
 */
export const BODY_TAG = '-switchboard_body-'

/** Bytes a body takes as a personalization's substitutions (`{"<tag>":"<body>"}`, JSON-escaped). */
export function substitutionBytes (body: string): number {
  return Buffer.byteLength(JSON.stringify({ [BODY_TAG]: body }))
}

const typeOf = (r: BulkRecipient) => r.content_type ?? 'text/html'

function partition<T> (list: readonly T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = []
  const no: T[] = []
  for (const item of list) (test(item) ? yes : no).push(item)
  return [yes, no]
}

/**
 * The requests a bulk send makes, in order: each an array of recipients that go out in one
 * SendGrid request. `pack: false` gives one request per distinct body (and per 1,000 recipients).
 */
export function planBulkGroups<R extends BulkRecipient> (list: readonly R[], opts: { pack: boolean }): R[][] {
  const byBody = new Map<string, R[]>()
  for (const item of list) {
    const key = `${typeOf(item)}\u0000${item.content}`
    let g = byBody.get(key)
    if (!g) byBody.set(key, g = [])
    g.push(item)
  }
  const groups: R[][] = []
  // One open pack per content type: a request has one content part, so text and HTML bodies
  // cannot share one.
  const packs = new Map<string, { items: R[], bytes: number }>()
  for (const sharing of byBody.values()) {
    let i = 0
    // Full requests of one body need no substitutions.
    for (; sharing.length - i >= MAX_PER_REQUEST; i += MAX_PER_REQUEST) groups.push(sharing.slice(i, i + MAX_PER_REQUEST))
    const rest = sharing.slice(i)
    if (rest.length === 0) continue
    const bytes = substitutionBytes(rest[0]!.content)
    if (!opts.pack || bytes >= MAX_SUBSTITUTION_BYTES) {
      groups.push(rest)
      continue
    }
    const type = typeOf(rest[0]!)
    // SendGrid substitutes in subjects too: a subject that holds the tag goes with its own body.
    const [tagged, packable] = partition(rest, item => item.subject.includes(BODY_TAG))
    if (tagged.length > 0) groups.push(tagged)
    for (const item of packable) {
      let pack = packs.get(type)
      if (!pack || pack.items.length >= MAX_PER_REQUEST || pack.bytes + bytes > MAX_PACKED_BYTES) {
        pack = { items: [], bytes: 0 }
        packs.set(type, pack)
        groups.push(pack.items)
      }
      pack.items.push(item)
      pack.bytes += bytes
    }
  }
  return groups
}

/**
 * The content and per-recipient substitutions of one request: the shared body as it is when every
 * recipient has the same one, else the tag, each recipient's body substituted for it.
 */
export function requestBody<R extends BulkRecipient> (recipients: readonly R[]): { content: Array<{ type: string, value: string }>, substitutionsOf: (r: R) => Record<string, string> | undefined } {
  const first = recipients[0]!
  const shared = recipients.every(r => r.content === first.content)
  return {
    content: [{ type: typeOf(first), value: shared ? first.content : BODY_TAG }],
    substitutionsOf: r => shared ? undefined : { [BODY_TAG]: r.content }
  }
}
