import { mulberry32 } from '@switchboard/service-kit/simulation'
import type { CallOutcome, Contact, Dataset, EmailOutcome, PaymentOutcome } from './schema.ts'

/**
 * One step of a load: an API call through the gateway, and for payments and meetings the follow-up
 * that gives it its outcome. Plain data, so a plan can be compared, printed and tested.
 */
export type Step =
  | { kind: 'email', outcome: EmailOutcome, body: { to_email: string, subject: string, content: string } }
  | { kind: 'whatsapp', body: { to_number: string, template_name: string, params: string[], contact_name: string } }
  | { kind: 'whatsapp_campaign', body: { name: string, template_name: string, contacts: Array<{ to_number: string, name: string, params: string[] }> } }
  | { kind: 'payment', outcome: PaymentOutcome, body: { amount: string, purpose: string, buyer_name: string, email?: string, phone?: string } }
  | { kind: 'call', outcome: CallOutcome, body: { to_number: string, script_id: string, user_data: Record<string, string> } }
  | { kind: 'meeting', ended: boolean, body: { topic: string, duration: number, agenda: string, start_time?: string } }

export interface Plan {
  dataset: string
  seed: number
  steps: Step[]
  /**
   * With history_days: how long before the load's start each step happened (ms), per step in
   * order, oldest first (so the clock only moves forward while loading). Absent: everything now.
   */
  agoMs?: number[]
}

const HOUR = 3_600_000
const DAY = 24 * HOUR
/** India Standard Time, UTC+5:30: the working day the history falls in. */
const IST_OFFSET = 5.5 * HOUR

/**
 * When each of `count` steps happened, as ms before `now`, oldest first: a tenth in the last hour
 * (so the last-hour Stats charts have traffic), the rest on the `days` days before, within IST
 * working hours (09:00-21:00), each day weighted alike.
 */
export function historyAgo (count: number, days: number, random: () => number, now: number): number[] {
  const recent = Math.ceil(count / 10)
  const ago: number[] = []
  for (let i = 0; i < count; i++) {
    if (i < recent) { ago.push(Math.floor(random() * 55 * 60_000)); continue }
    const day = 1 + Math.floor(random() * days)
    // The IST midnight `day` days before now's IST date, then a working-hours instant.
    const istMidnight = Math.floor((now + IST_OFFSET) / DAY) * DAY - IST_OFFSET - (day - 1) * DAY
    const at = istMidnight - DAY + 9 * HOUR + Math.floor(random() * 12 * HOUR)
    ago.push(Math.max(now - at, HOUR))
  }
  return ago.sort((a, b) => b - a)
}

/**
 * When a scheduled meeting is booked: a half hour of IST working hours (10:00-17:30) on one of the
 * three days after `now`'s IST date, as Zoom takes it (UTC, whole seconds). Always after `now`.
 */
export function upcomingMeeting (now: number, random: () => number): string {
  const istMidnight = Math.floor((now + IST_OFFSET) / DAY) * DAY - IST_OFFSET
  const at = istMidnight + (1 + Math.floor(random() * 3)) * DAY + 10 * HOUR + Math.floor(random() * 16) * HOUR / 2
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** The simulation's own generator (mulberry32): the same on every platform, so a seed means the same plan everywhere. */
export const seededRandom = mulberry32

/**
 * `count` outcomes in the given proportions, exactly (largest remainder: 10 at 0.8/0.2 is 8 and
 * 2, not a draw that might give 10 and 0), in a seeded order. No weights means all `fallback`.
 */
export function allocate<K extends string> (count: number, weights: Partial<Record<K, number>> | undefined, fallback: NoInfer<K>, random: () => number): K[] {
  const entries = Object.entries(weights ?? {}).filter(([, w]) => (w as number) > 0) as Array<[K, number]>
  const total = entries.reduce((sum, [, w]) => sum + w, 0)
  if (count === 0) return []
  if (total === 0) return Array.from({ length: count }, () => fallback)
  const shares = entries.map(([k, w]) => ({ k, exact: count * w / total }))
  const counts = shares.map(s => ({ k: s.k, n: Math.floor(s.exact), rest: s.exact - Math.floor(s.exact) }))
  let left = count - counts.reduce((sum, c) => sum + c.n, 0)
  for (const c of [...counts].sort((a, b) => b.rest - a.rest)) {
    if (left-- <= 0) break
    c.n++
  }
  return shuffle(counts.flatMap(c => Array.from({ length: c.n }, () => c.k)), random)
}

function shuffle<T> (items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
  return items
}

const pick = <T>(items: readonly T[], random: () => number): T => items[Math.floor(random() * items.length)]!
const firstName = (c: Contact) => c.name.split(/\s+/)[0] ?? c.name

function fill (text: string, c: Contact, extra: Record<string, string> = {}): string {
  const values: Record<string, string> = { name: firstName(c), full_name: c.name, company: c.company ?? 'your company', ...extra }
  return text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole)
}

/**
 * The emulator's documented magic recipients make an email's outcome certain: the local part before
 * a +tag picks it, so `bounce+asha.rao@example.in` still shows whose address it stands for.
 */
const EMAIL_TAG: Record<EmailOutcome, string | undefined> = { delivered: undefined, opened: 'open', bounced: 'bounce', dropped: 'drop', deferred: 'defer', spam: 'spam' }

function taggedEmail (email: string, outcome: EmailOutcome): string {
  const tag = EMAIL_TAG[outcome]
  return tag === undefined ? email : `${tag}+${email}`
}

/** The voice emulator's magic endings (555-01xx is reserved for fiction): a +91 mobile that ends in them. */
const CALL_ENDING: Record<CallOutcome, string> = { completed: '5550100', busy: '5550101', no_answer: '5550102', failed: '5550103', voicemail: '5550104' }

function callNumber (outcome: CallOutcome, index: number): string {
  return `+91${String(90 + (index % 9))}${String(index % 10)}${CALL_ENDING[outcome]}`
}

/** The seed a data set is planned with: the one given, else the file's own, else 1. */
export const seedOf = (dataset: Dataset, seed?: number): number => seed ?? dataset.seed ?? 1

/** Expands a data set into the calls that load it; the same data set and seed give the same plan. */
export function planDataset (dataset: Dataset, seed = seedOf(dataset), now = Date.now()): Plan {
  const random = seededRandom(seed)
  const steps: Step[] = []
  const withEmail = dataset.contacts.filter(c => c.email)
  const withPhone = dataset.contacts.filter(c => c.phone)

  if (dataset.email && dataset.email.count > 0) {
    if (withEmail.length === 0) throw new Error(`data set ${dataset.name}: email.count is ${dataset.email.count} but no contact has an email`)
    for (const outcome of allocate<EmailOutcome>(dataset.email.count, dataset.email.outcomes, 'delivered', random)) {
      const c = pick(withEmail, random)
      steps.push({ kind: 'email', outcome, body: { to_email: taggedEmail(c.email!, outcome), subject: fill(pick(dataset.email.subjects, random), c), content: fill(pick(dataset.email.bodies, random), c) } })
    }
  }

  const wa = dataset.whatsapp
  if ((wa?.messages?.count ?? 0) > 0 || (wa?.campaigns?.length ?? 0) > 0) {
    if (withPhone.length === 0) throw new Error(`data set ${dataset.name}: WhatsApp messages need contacts with a phone`)
  }
  const orderOf = () => `OD${String(Math.floor(random() * 9e8) + 1e8)}`
  const amountOf = () => `₹${(Math.floor(random() * 40) * 50 + 199).toLocaleString('en-IN')}`
  for (let i = 0; i < (wa?.messages?.count ?? 0); i++) {
    const c = pick(withPhone, random)
    const t = pick(wa!.messages!.templates, random)
    steps.push({ kind: 'whatsapp', body: { to_number: c.phone!, template_name: t.template_name, params: t.params.map(p => fill(p, c, { order: orderOf(), amount: amountOf() })), contact_name: c.name } })
  }
  for (const campaign of wa?.campaigns ?? []) {
    const contacts = shuffle([...withPhone], random).slice(0, campaign.contacts)
    steps.push({ kind: 'whatsapp_campaign', body: { name: campaign.name, template_name: campaign.template_name, contacts: contacts.map(c => ({ to_number: c.phone!, name: c.name, params: campaign.params.map(p => fill(p, c, { order: orderOf(), amount: amountOf() })) })) } })
  }

  if (dataset.payments && dataset.payments.count > 0) {
    for (const outcome of allocate<PaymentOutcome>(dataset.payments.count, dataset.payments.outcomes, 'paid', random)) {
      const c = pick(dataset.contacts, random)
      const item = pick(dataset.payments.items, random)
      steps.push({ kind: 'payment', outcome, body: { amount: item.amount, purpose: item.purpose, buyer_name: c.name, ...(c.email ? { email: c.email } : {}), ...(c.phone ? { phone: c.phone } : {}) } })
    }
  }

  if (dataset.voice && dataset.voice.count > 0) {
    allocate<CallOutcome>(dataset.voice.count, dataset.voice.outcomes, 'completed', random).forEach((outcome, index) => {
      const c = pick(dataset.contacts, random)
      steps.push({ kind: 'call', outcome, body: { to_number: callNumber(outcome, index), script_id: pick(dataset.voice!.script_ids, random), user_data: { name: firstName(c), ...(c.company ? { company: c.company } : {}) } } })
    })
  }

  if (dataset.zoom && dataset.zoom.count > 0) {
    const ended = allocate<'ended' | 'scheduled'>(dataset.zoom.count, { ended: dataset.zoom.ended, scheduled: 1 - dataset.zoom.ended }, 'scheduled', random)
    // Their own generator, so the rest of a seed's plan is what it was before meetings had times.
    const upcoming = seededRandom(seed ^ 0x200e)
    for (const state of ended) {
      const c = pick(dataset.contacts, random)
      const body = { topic: fill(pick(dataset.zoom.topics, random), c).slice(0, 200), duration: 15 + 15 * Math.floor(random() * 4), agenda: `With ${c.name}${c.company ? ` (${c.company})` : ''}` }
      // An ended meeting starts when it is created and is ended at once (it has its recording); a
      // scheduled one is booked for the coming days, so it is still waiting after the load, whatever
      // past hour its creation is played at.
      steps.push(state === 'ended'
        ? { kind: 'meeting', ended: true, body }
        : { kind: 'meeting', ended: false, body: { ...body, start_time: upcomingMeeting(now, upcoming) } })
    }
  }

  // Interleaved the way a day's traffic is, rather than channel by channel.
  const shuffled = shuffle(steps, random)
  const days = dataset.history_days ?? 0
  return days > 0
    ? { dataset: dataset.name, seed, steps: shuffled, agoMs: historyAgo(shuffled.length, days, seededRandom(seed ^ 0x4157), now) }
    : { dataset: dataset.name, seed, steps: shuffled }
}
