// What was sent, as each channel's person expects to see it (issue #22): an email inbox, a
// WhatsApp thread per number, calls, payment links, Zoom. Lists come from /api/admin/activity
// (paged, searched, filtered by time), one item from /api/admin/activity/{channel}/{id}, and new or
// changed items arrive through live.js (server-sent events). Every item opens its content, its
// timeline, the raw provider exchanges and the webhooks it caused with their verification.

import { api, failure } from './api.js'
import { $, h, message, NARROW, panelBehaviour, showPanel } from './dom.js'
import { ago, changeMark, label, ms, statusClass, when } from './format.js'

/** The channel views, in the tabs' order: the panels page.ts rendered, one per service. */
export const CHANNELS = [...document.querySelectorAll('section.panel.channel')].map(panel => /** @type {HTMLElement} */ (panel).dataset.channel ?? '')
const PAGE = 50

/**
 * @typedef {{ channel: string, id: string, direct: boolean, request_id: string | null, status: string, mode: string,
 *   fallback: boolean, contact: string | null, summary: string | null, provider_id: string | null, error: string | null,
 *   latency_ms: number | null, created_at: string, updated_at: string, changed_at?: string }} Item
 * @typedef {{ items: Map<string, Item>, cursor: string | null, query: string, seq: number, loaded: boolean,
 *   open: { id: string, changed: string } | null, thread: string | null, pages: number }} View
 */

/** @type {Record<string, View>} */
const views = Object.fromEntries(CHANNELS.map(c => [c, { items: new Map(), cursor: null, query: '', seq: 0, loaded: false, open: null, thread: null, pages: 0 }]))

const panel = (/** @type {string} */ channel) => $(`panel-${channel}`)
const slotOf = (/** @type {string} */ channel, /** @type {string} */ name) => /** @type {HTMLElement} */ (panel(channel).querySelector(`[data-slot="${name}"]`))
const dialogOf = (/** @type {string} */ channel) => /** @type {HTMLDialogElement} */ ($(`${channel}-inspect`))

function queryOf (channel) {
  const form = /** @type {HTMLFormElement} */ (slotOf(channel, 'filters'))
  const data = new FormData(form)
  const q = new URLSearchParams({ channel, limit: String(PAGE) })
  const text = String(data.get('q') ?? '').trim()
  if (text) q.set('q', text)
  const minutes = Number(data.get('since') || 0)
  if (minutes) q.set('since', new Date(Date.now() - minutes * 60000).toISOString())
  const direct = String(data.get('direct') ?? '')
  if (direct) q.set('direct', direct)
  return q
}

/** The filters as they affect which items belong (the time window moves, so it is named, not dated). */
function filterKey (channel) {
  const data = new FormData(/** @type {HTMLFormElement} */ (slotOf(channel, 'filters')))
  return ['q', 'since', 'direct'].map(k => String(data.get(k) ?? '')).join('|')
}

/** The most pages one refresh reads again (the API's limit: 500 items). */
const MAX_PAGES = 10

/**
 * Loads the first page again (a filter changed, or the tab opened); `more`: the next page;
 * `again`: as many pages as the person has loaded, with the same filters (the periodic refresh).
 */
export async function refreshChannel (channel, { more = false, again = false } = {}) {
  const view = views[channel]
  const key = filterKey(channel)
  const q = queryOf(channel)
  const pages = again && view.query === key ? Math.min(Math.max(view.pages, 1), MAX_PAGES) : 1
  if (more && view.cursor) q.set('cursor', view.cursor)
  else q.set('limit', String(PAGE * pages))
  const seq = ++view.seq
  try {
    const data = await api('GET', `/api/admin/activity?${q}`)
    if (seq !== view.seq) return
    if (!more || view.query !== key) view.items.clear()
    view.query = key
    for (const item of data.items ?? []) view.items.set(item.id, item)
    view.cursor = data.next_cursor ?? null
    view.loaded = true
    view.pages = more ? view.pages + 1 : pages
    message(slotOf(channel, 'message'), '')
    render(channel)
  } catch (err) {
    if (err.status !== 401) message(slotOf(channel, 'message'), `The ${label(channel)} list could not be loaded: ${failure(err)}`, 'error')
  }
}

/** A live event: an item was created or changed. Returns whether this view showed it. */
export function upsert (/** @type {Item} */ item) {
  const view = views[item.channel]
  if (!view || !view.loaded) return false
  const data = new FormData(/** @type {HTMLFormElement} */ (slotOf(item.channel, 'filters')))
  // A text search is answered by the server (it reaches content the page does not have): ask again.
  if (String(data.get('q') ?? '').trim()) { scheduleRefresh(item.channel); return true }
  const direct = String(data.get('direct') ?? '')
  if (direct && String(item.direct) !== direct) return false
  // Outside the time filter: a row a data set (or a clock set back) stamped days ago.
  const minutes = Number(data.get('since') || 0)
  if (minutes && !view.items.has(item.id) && Date.parse(item.created_at) < Date.now() - minutes * 60000) return false
  view.items.set(item.id, item)
  render(item.channel, item.id)
  // The open WhatsApp thread shows the new message or the new ticks.
  if (item.channel === 'whatsapp' && view.thread !== null && view.thread === threadOf(item.contact)) {
    clearTimeout(timers.thread)
    const number = view.thread
    timers.thread = setTimeout(() => { if (views.whatsapp.thread === number) openThread(number, false) }, 300)
  }
  if (view.open?.id === item.id && view.open.changed !== changeMark(item)) openItem(item.channel, item.id, false)
  return true
}

const timers = /** @type {Record<string, number>} */ ({})
function scheduleRefresh (channel) {
  clearTimeout(timers[channel])
  timers[channel] = setTimeout(() => { refreshChannel(channel, { again: true }) }, 400)
}

const byNewest = (/** @type {Item} */ a, /** @type {Item} */ b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id)

function render (channel, arrived) {
  const view = views[channel]
  const items = [...view.items.values()].sort(byNewest)
  const list = slotOf(channel, 'list')
  const rows = channel === 'whatsapp' ? threads(items, arrived) : items.map(item => itemRow(item, item.id === arrived))
  list.replaceChildren(...rows)
  const empty = slotOf(channel, 'empty')
  empty.hidden = items.length > 0
  empty.textContent = filterKey(channel) !== '||' ? 'Nothing matches this search and time.' : `Nothing sent through ${label(channel)} yet. Send something through the API (or straight to the emulator) and it appears here.`
  slotOf(channel, 'more').hidden = !view.cursor
  markOpen(channel)
}

function badge (item) {
  return [
    h('span', { class: `status ${statusClass(item.status)}`, text: item.status }),
    item.direct ? h('span', { class: 'badge direct', text: 'direct', title: 'Sent straight to the emulator, not through Switchboard' }) : null
  ]
}

function itemRow (/** @type {Item} */ item, arrived) {
  const main = item.channel === 'email' ? (item.summary || '(no subject)') : (item.summary || item.status)
  const button = h('button', { type: 'button', class: 'item', 'data-id': item.id, 'aria-controls': `${item.channel}-inspect`, onclick: () => openItem(item.channel, item.id, true) },
    h('span', { class: 'item-top' }, h('span', { class: 'item-contact', text: item.contact || '—' }), h('time', { datetime: item.created_at, text: when(item.created_at) })),
    h('span', { class: 'item-summary', text: main }),
    h('span', { class: 'item-meta' }, badge(item), item.error ? h('span', { class: 'row-error', text: item.error }) : null)
  )
  return h('li', { class: arrived ? 'arrived' : '' }, button)
}

/**
 * The thread a WhatsApp message belongs to: its number with India's country code, however it was
 * written (AiSensy takes 9876543210 and adds the 91; the gateway's rows say +919876543210).
 */
function threadOf (contact) {
  if (!contact) return '(no number)'
  const digits = contact.replace(/\D/g, '')
  if (!/^[+\d\s()-]+$/.test(contact)) return contact
  if (digits.length === 10) return `+91${digits}`
  if (digits.length === 12 && digits.startsWith('91')) return `+${digits}`
  return contact
}

/** WhatsApp: one entry per number, its newest message first. */
function threads (items, arrived) {
  /** @type {Map<string, Item[]>} */
  const byNumber = new Map()
  for (const item of items) {
    const key = threadOf(item.contact)
    if (!byNumber.has(key)) byNumber.set(key, [])
    byNumber.get(key)?.push(item)
  }
  return [...byNumber.entries()].map(([number, list]) => {
    const last = list[0]
    const button = h('button', { type: 'button', class: 'item', 'data-thread': number, 'aria-controls': 'whatsapp-inspect', onclick: () => openThread(number, true) },
      h('span', { class: 'item-top' }, h('span', { class: 'item-contact', text: number }), h('time', { datetime: last.created_at, text: when(last.created_at) })),
      h('span', { class: 'item-summary', text: `${last.summary ?? 'message'} · ${list.length} message${list.length === 1 ? '' : 's'}` }),
      h('span', { class: 'item-meta' }, badge(last))
    )
    return h('li', { class: list.some(i => i.id === arrived) ? 'arrived' : '' }, button)
  })
}

function markOpen (channel) {
  const view = views[channel]
  for (const b of /** @type {NodeListOf<HTMLElement>} */ (slotOf(channel, 'list').querySelectorAll('button.item'))) {
    const on = channel === 'whatsapp' ? b.dataset.thread === view.thread : b.dataset.id === view.open?.id
    b.classList.toggle('selected', on)
    b.setAttribute('aria-expanded', String(on))
  }
}

function showDialog (channel, byPerson, title) {
  const dialog = dialogOf(channel)
  showPanel(dialog)
  const heading = $(`${channel}-inspect-title`)
  heading.textContent = title
  if (byPerson) {
    heading.focus({ preventScroll: true })
    if (!window.matchMedia(NARROW).matches) dialog.scrollIntoView({ block: 'nearest' })
  }
}

export function closeItem (channel) {
  const view = views[channel]
  const was = channel === 'whatsapp' ? view.thread : view.open?.id
  view.open = null
  view.thread = null
  const dialog = dialogOf(channel)
  if (dialog.open) dialog.close()
  slotOf(channel, 'detail-body').replaceChildren()
  markOpen(channel)
  if (was) /** @type {HTMLElement | null} */ (slotOf(channel, 'list').querySelector(channel === 'whatsapp' ? `[data-thread="${CSS.escape(was)}"]` : `[data-id="${CSS.escape(was)}"]`))?.focus()
}

async function openItem (channel, id, byPerson, { back } = /** @type {{ back?: () => void }} */ ({})) {
  const view = views[channel]
  view.open = { id, changed: changeMark(view.items.get(id)) }
  markOpen(channel)
  if (byPerson) {
    showDialog(channel, true, `${label(channel)} · loading…`)
    message(slotOf(channel, 'detail-message'), '')
  }
  try {
    const data = await api('GET', `/api/admin/activity/${encodeURIComponent(channel)}/${encodeURIComponent(id)}`)
    if (view.open?.id !== id) return
    view.open.changed = data.row ? changeMark(data.row) : changeMark(view.items.get(id))
    showDialog(channel, false, titleOf(channel, data))
    const body = slotOf(channel, 'detail-body')
    // A re-render (a status changed) keeps the section the person was reading.
    const openTab = body.querySelector('[role=tab][aria-selected=true]')?.getAttribute('data-name') ?? undefined
    body.replaceChildren(...(back ? [h('button', { type: 'button', class: 'button ghost back', onclick: back, text: '← Back to the thread' })] : []), ...detailSections(channel, data, openTab))
    message(slotOf(channel, 'detail-message'), '')
  } catch (err) {
    if (err.status === 401) return
    message(slotOf(channel, 'detail-message'), err.status === 404 ? 'This item no longer exists: it was probably deleted by a reset.' : `The details could not be loaded: ${failure(err)}`, 'error')
  }
}

function titleOf (channel, data) {
  const c = data.content ?? {}
  const row = data.row ?? {}
  if (channel === 'email') return c.subject ?? row.subject ?? 'Email'
  if (channel === 'whatsapp') return `${c.template_name ?? row.template_name ?? 'Message'} to ${c.to ?? row.to_number ?? ''}`
  if (channel === 'voice') return `Call to ${c.to ?? row.to_number ?? ''}`
  if (channel === 'payments') return c.purpose ?? row.purpose ?? 'Payment link'
  return c.topic ? `Meeting: ${c.topic}` : (data.exchanges?.[0] ? `${data.exchanges[0].method} ${data.exchanges[0].path}` : 'Zoom')
}

// --- one item's sections ----------------------------------------------------------------------

/** The item as tabs: its content (per channel), the timeline, the raw exchanges, the webhooks. */
export function detailSections (channel, data, selected) {
  const sections = /** @type {Array<[string, string, () => Node[]]>} */ ([])
  if (data.content) sections.push(['content', contentTitle(channel), () => contentView(channel, data.content, data)])
  sections.push(['timeline', 'Timeline', () => timelineView(data.timeline ?? [])])
  sections.push(['exchanges', `Provider requests (${(data.exchanges ?? []).length})`, () => exchangesView(data.exchanges ?? [], 'No request to the provider was recorded for this item.')])
  sections.push(['webhooks', `Webhooks (${(data.webhooks ?? []).length})`, () => exchangesView(data.webhooks ?? [], 'No webhook has arrived for this item (yet).')])
  if (data.row) sections.push(['row', 'Row', () => [rowView(data.row)]])
  const notes = []
  if (data.direct) notes.push(h('p', { class: 'note', text: 'Sent straight to the emulator by a client (an SDK, curl), not through Switchboard\'s API.' }))
  if (!data.content && data.row) notes.push(h('p', { class: 'hint', text: 'No content was stored for this item (it may predate content capture).' }))
  if (data.content?.truncated) notes.push(h('p', { class: 'note', text: 'Part of this content was cut to keep the row small (see "…[truncated" below).' }))
  return [...notes, tabs(sections, selected)]
}

function contentTitle (channel) {
  return { email: 'Message', whatsapp: 'Message', voice: 'Call', payments: 'Link', zoom: 'Meeting' }[channel] ?? 'Content'
}

let tabSeq = 0
/** A small tablist: each section's content is built when first shown. */
function tabs (sections, selected) {
  const id = `t${++tabSeq}`
  const list = h('div', { role: 'tablist', class: 'subtabs', 'aria-label': 'Sections' })
  const panels = h('div', { class: 'subpanels' })
  const first = sections.find(s => s[0] === selected) ? selected : sections[0]?.[0]
  const buttons = sections.map(([name, text, build]) => {
    const panelEl = h('div', { role: 'tabpanel', id: `${id}-${name}-p`, 'aria-labelledby': `${id}-${name}`, tabindex: '0', class: 'subpanel' })
    panelEl.hidden = name !== first
    if (name === first) panelEl.append(...build())
    panels.append(panelEl)
    const b = h('button', { type: 'button', role: 'tab', id: `${id}-${name}`, 'data-name': name, 'aria-controls': `${id}-${name}-p`, 'aria-selected': String(name === first), tabindex: name === first ? '0' : '-1', text })
    b.addEventListener('click', () => select(name))
    return { name, b, panelEl, build }
  })
  function select (name) {
    for (const t of buttons) {
      const on = t.name === name
      t.b.setAttribute('aria-selected', String(on))
      t.b.tabIndex = on ? 0 : -1
      if (on && !t.panelEl.childNodes.length) t.panelEl.append(...t.build())
      t.panelEl.hidden = !on
      if (on) t.b.focus()
    }
  }
  list.addEventListener('keydown', (/** @type {KeyboardEvent} */ e) => {
    const i = buttons.findIndex(t => t.b.getAttribute('aria-selected') === 'true')
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: buttons.length - 1 }[e.key]
    if (next === undefined) return
    e.preventDefault()
    select(buttons[(next + buttons.length) % buttons.length].name)
  })
  list.append(...buttons.map(t => t.b))
  return h('div', { class: 'sections' }, list, panels)
}

function kv (pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== '' && !(Array.isArray(v) && !v.length))
    .flatMap(([k, v]) => [h('dt', { text: k }), h('dd', {}, v instanceof Node ? v : (typeof v === 'object' ? h('pre', { tabindex: '0', text: JSON.stringify(v, null, 2) }) : String(v)))]))
}

function rowView (row) {
  return kv(Object.entries(row).map(([k, v]) => [k, typeof v === 'string' && /_at$/.test(k) && !Number.isNaN(Date.parse(v)) ? `${new Date(v).toLocaleString()} (${ago(v)})` : v]))
}

function timelineView (timeline) {
  if (!timeline.length) return [h('p', { class: 'hint', text: 'No status recorded yet.' })]
  return [h('ol', { class: 'timeline' }, timeline.map(step => h('li', { class: statusClass(step.status) },
    h('span', { class: `status ${statusClass(step.status)}`, text: step.status }),
    h('time', { datetime: step.at, text: when(step.at) }),
    h('span', { class: 'hint', text: ` ${step.source}${step.detail ? ` · ${step.detail}` : ''}` })
  )))]
}

const pretty = (body) => body === null || body === undefined ? '(empty)' : typeof body === 'string' ? body : JSON.stringify(body, null, 2)

function exchangesView (list, none) {
  if (!list.length) return [h('p', { class: 'hint', text: none })]
  return list.map((x, i) => {
    const verified = x.verification
    const summary = h('summary', {},
      h('span', { class: 'method', text: x.method }), ' ', h('code', { text: x.path }), ' ',
      h('span', { class: `status ${x.status_code && x.status_code < 400 ? 'good' : 'bad'}`, text: x.status_code ? String(x.status_code) : 'no answer' }),
      x.event ? h('span', { class: 'hint', text: ` ${x.event}` }) : null,
      verified ? h('span', { class: `badge ${verified.ok ? 'verified' : 'refused'}`, text: verified.ok ? 'signature verified' : 'signature refused' }) : null,
      x.direct ? h('span', { class: 'badge direct', text: 'direct' }) : null,
      x.scenario ? h('span', { class: 'badge', text: 'scenario' }) : null,
      h('span', { class: 'hint', text: ` ${when(x.created_at)}${x.latency_ms !== null ? ` · ${ms(x.latency_ms)}` : ''}` })
    )
    return h('details', { class: 'exchange', open: i === list.length - 1 && list.length <= 2 }, summary,
      verified ? h('p', { class: verified.ok ? 'message ok' : 'message error', text: `Receiver: ${verified.detail ?? ''} (HTTP ${verified.status_code ?? '?'})` }) : null,
      x.scenario ? h('p', { class: 'message', text: `Scenario: ${x.scenario}` }) : null,
      h('h4', { text: 'Request' }), headersView(x.request?.headers), h('pre', { tabindex: '0', text: pretty(x.request?.body) }),
      h('h4', { text: 'Answer' }), headersView(x.response?.headers), h('pre', { tabindex: '0', text: pretty(x.response?.body) }),
      x.truncated ? h('p', { class: 'note', text: 'A body was cut to keep the record small.' }) : null
    )
  })
}

function headersView (headers) {
  const entries = Object.entries(headers ?? {})
  if (!entries.length) return h('p', { class: 'hint small', text: 'No headers recorded.' })
  return h('pre', { tabindex: '0', class: 'headers', text: entries.map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join('\n') })
}

// --- content per channel -----------------------------------------------------------------------

function contentView (channel, c, data) {
  if (channel === 'email') return emailView(c, data)
  if (channel === 'whatsapp') return [bubble(c, data.row?.status ?? data.timeline?.at(-1)?.status, data.row?.created_at ?? data.exchanges?.[0]?.created_at)]
  if (channel === 'voice') return callView(c)
  if (channel === 'payments') return paymentView(c, data)
  return meetingView(c)
}

/**
 * The email's HTML in a frame that can do nothing: sandbox without allow-scripts (nor same-origin,
 * so it is an opaque origin), srcdoc (no request), and its own CSP on top of the page's, which it
 * inherits: no script, no remote image, font or style, no form target.
 */
const FRAME_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'none'"
function htmlFrame (html) {
  const doc = `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${FRAME_CSP}"><base target="_blank"></head><body>${html}</body></html>`
  return h('iframe', { class: 'email-frame', sandbox: '', srcdoc: doc, title: 'The email\'s HTML, rendered without scripts or remote content', referrerpolicy: 'no-referrer' })
}

function emailView (c, data) {
  const head = kv([
    ['From', c.from], ['To', (c.to ?? []).join(', ')], ['Cc', (c.cc ?? []).join(', ')], ['Bcc', (c.bcc ?? []).join(', ')],
    ['Reply-To', c.reply_to], ['Subject', c.subject], ['Template', c.template_id],
    ['Recipients in the request', c.recipients_in_request > 1 ? String(c.recipients_in_request) : null]
  ])
  const attachments = (c.attachments ?? []).length
    ? h('ul', { class: 'attachments', 'aria-label': 'Attachments' }, c.attachments.map(a => h('li', {}, '📎 ', h('strong', { text: a.filename ?? '(no name)' }), h('span', { class: 'hint', text: ` ${a.type ?? ''} · ${a.size === null || a.size === undefined ? 'size unknown' : bytes(a.size)} · ${a.disposition ?? 'attachment'}` }))))
    : null
  const source = data.exchanges?.find(x => x.method === 'POST')?.request?.body
  const parts = /** @type {Array<[string, string, () => Node[]]>} */ ([])
  if (c.html) parts.push(['html', 'HTML', () => [htmlFrame(c.html)]])
  if (c.text) parts.push(['text', 'Text', () => [h('pre', { tabindex: '0', class: 'email-text', text: c.text })]])
  parts.push(['headers', 'Headers', () => [kv([...Object.entries(c.headers ?? {}), ['Categories', (c.categories ?? []).join(', ')], ['Send at', c.send_at ? new Date(c.send_at * 1000).toLocaleString() : null], ['Personalization', c.personalization]])]])
  parts.push(['source', 'Source', () => [h('pre', { tabindex: '0', class: 'source', text: pretty(source ?? c) })]])
  if (c.dynamic_template_data || c.personalization?.dynamic_template_data) parts.push(['data', 'Template data', () => [h('pre', { tabindex: '0', text: pretty(c.dynamic_template_data ?? c.personalization.dynamic_template_data) })]])
  return [head, attachments, tabs(parts)].filter(n => n !== null)
}

function bytes (n) { return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} B` }

function ticks (status) {
  const st = String(status ?? '').toLowerCase()
  if (st === 'read') return h('span', { class: 'ticks read', title: 'Read', 'aria-label': 'read', text: '✓✓' })
  if (st === 'delivered') return h('span', { class: 'ticks', title: 'Delivered', 'aria-label': 'delivered', text: '✓✓' })
  if (st === 'failed') return h('span', { class: 'ticks failed', title: 'Failed', 'aria-label': 'failed', text: '!' })
  if (st === 'sent' || st === 'submitted') return h('span', { class: 'ticks', title: 'Sent', 'aria-label': 'sent', text: '✓' })
  return h('span', { class: 'ticks', title: st || 'pending', 'aria-label': st || 'pending', text: '🕓' })
}

/** A template message as the person sees it: header media, body with the params filled in, buttons. */
function bubble (c, status, at, onOpen) {
  const media = c.media ?? null
  const header = c.header ?? null
  const headerType = String(header?.type ?? header?.format ?? media?.type ?? (typeof header === 'string' ? header : '') ?? '').toLowerCase()
  const mediaUrl = media?.url ?? media?.link ?? header?.url ?? null
  const headerText = typeof header === 'object' && header !== null ? (header.text ?? null) : null
  // A template's header 'none' or 'text' is no media (AiSensy's catalogue names it so).
  const mediaNode = mediaUrl || (headerType && headerType !== 'none' && headerType !== 'text')
    ? h('div', { class: 'wa-media' }, h('span', { class: 'wa-media-kind', text: /image/.test(headerType) ? '🖼 Image' : /video/.test(headerType) ? '🎬 Video' : /doc/.test(headerType) ? '📄 Document' : '📎 Media' }),
      mediaUrl ? h('a', { href: mediaUrl, target: '_blank', rel: 'noopener noreferrer', text: media?.filename ?? mediaUrl }) : null)
    : null
  const buttons = (c.buttons?.length ? c.buttons : (c.template_button ? [c.template_button] : []))
  return h('div', { class: 'wa-bubble out' },
    mediaNode,
    headerText ? h('p', { class: 'wa-header', text: headerText }) : null,
    h('p', { class: 'wa-body', text: c.rendered ?? c.template_body ?? `Template ${c.template_name ?? c.campaign_name ?? ''} (${(c.params ?? []).join(', ')})` }),
    buttons.length ? h('div', { class: 'wa-buttons' }, buttons.map(b => h('span', { class: 'wa-button', text: b.text ?? b.title ?? b.type ?? 'Button' }))) : null,
    h('p', { class: 'wa-meta' }, h('span', { class: 'hint', text: `${c.template_name ?? ''} · ${at ? when(at) : ''}` }), ' ', ticks(status),
      onOpen ? h('button', { type: 'button', class: 'linklike small', onclick: onOpen, text: 'Details' }) : null)
  )
}

/**
 * A message's status for its ticks. A message sent straight to AiSensy has no row of ours: its item's
 * status is the HTTP status of the send, and what became of it is in the notifications AiSensy posted.
 */
function messageStatus (item, detail) {
  if (!item.direct) return item.status
  const moves = (detail?.timeline ?? []).map(e => String(e.status ?? '').toLowerCase()).filter(st => ['submitted', 'sent', 'delivered', 'read', 'failed'].includes(st))
  return moves.at(-1) ?? 'submitted'
}

async function openThread (number, byPerson) {
  const view = views.whatsapp
  view.thread = number
  view.open = null
  markOpen('whatsapp')
  if (byPerson) showDialog('whatsapp', true, `Thread with ${number}`)
  const body = slotOf('whatsapp', 'detail-body')
  const mine = [...view.items.values()].filter(i => threadOf(i.contact) === number).sort(byNewest).slice(0, 20).reverse()
  message(slotOf('whatsapp', 'detail-message'), 'Loading the thread…')
  try {
    const [details, inbound] = await Promise.all([
      Promise.all(mine.map(i => api('GET', `/api/admin/activity/whatsapp/${encodeURIComponent(i.id)}`).catch(() => null))),
      api('GET', `/api/automation/whatsapp/inbound?contact=${encodeURIComponent(number)}&limit=50`).catch(() => ({ items: [] }))
    ])
    if (view.thread !== number) return
    /** @type {Array<{ at: string, node: Node }>} */
    const entries = []
    mine.forEach((item, i) => {
      const d = details[i]
      const content = d?.content ?? { template_name: item.summary, rendered: null }
      entries.push({ at: item.created_at, node: bubble(content, messageStatus(item, d), item.created_at, () => openItem('whatsapp', item.id, false, { back: () => openThread(number, false) })) })
    })
    for (const m of inbound?.items ?? []) {
      if (m.direction && m.direction !== 'inbound') continue
      const at = m.created_at ?? m.received_at ?? ''
      entries.push({ at, node: h('div', { class: 'wa-bubble in' }, h('p', { class: 'wa-body', text: m.content ?? m.text ?? '' }), h('p', { class: 'wa-meta' }, h('span', { class: 'hint', text: `${m.contact_name ?? 'reply'} · ${at ? when(at) : ''}` }))) })
    }
    entries.sort((a, b) => a.at.localeCompare(b.at))
    body.replaceChildren(h('div', { class: 'wa-thread', role: 'log', 'aria-label': `Messages with ${number}` }, entries.map(e => e.node)))
    message(slotOf('whatsapp', 'detail-message'), mine.length >= 20 ? 'The 20 newest messages of this thread.' : '')
  } catch (err) {
    if (err.status !== 401) message(slotOf('whatsapp', 'detail-message'), `The thread could not be loaded: ${failure(err)}`, 'error')
  }
}

function callView (c) {
  const lines = (c.transcript ?? []).length ? c.transcript : (c.transcript_text ? String(c.transcript_text).split('\n').filter(Boolean).map(text => ({ role: 'unknown', text })) : [])
  const audio = c.recording_url
    ? h('div', { class: 'recording' }, h('audio', { controls: true, preload: 'none', src: c.recording_url }), h('a', { href: c.recording_url, target: '_blank', rel: 'noopener noreferrer', download: '', text: 'Download the recording' }))
    : h('p', { class: 'hint', text: 'No recording (yet): it arrives when the call has ended.' })
  return [
    kv([['To', c.to], ['From', c.from], ['Agent', c.agent_id], ['Execution', c.execution_id], ['Status', c.status], ['Duration', c.duration_seconds !== null && c.duration_seconds !== undefined ? `${c.duration_seconds} s` : null], ['Hang-up', c.hangup_reason], ['Error', c.error_message], ['Variables', c.variables && Object.keys(c.variables).length ? c.variables : null], ['Script', c.script ?? c.script_id]]),
    h('h4', { text: 'Recording' }), audio,
    h('h4', { text: 'Transcript' }),
    lines.length
      ? h('div', { class: 'conversation', role: 'log', 'aria-label': 'Transcript' }, lines.map(l => h('div', { class: `turn ${/agent|assistant|bot/.test(l.role) ? 'agent' : 'user'}` }, h('span', { class: 'who', text: /agent|assistant|bot/.test(l.role) ? 'Agent' : (l.role === 'unknown' ? '' : 'Caller') }), h('p', { text: l.text }))))
      : h('p', { class: 'hint', text: 'No transcript (yet).' })
  ]
}

function paymentView (c, data) {
  const webhook = (data.webhooks ?? []).at(-1)
  return [
    kv([['Purpose', c.purpose], ['Amount', c.amount ? `${c.currency ?? 'INR'} ${c.amount}` : null], ['Buyer', c.buyer_name], ['Email', c.email], ['Phone', c.phone],
      ['Link', c.longurl ? h('a', { href: c.longurl, target: '_blank', rel: 'noopener noreferrer', text: c.longurl }) : null], ['Short link', c.shorturl],
      ['Redirect', c.redirect_url], ['Webhook URL', c.webhook], ['Request id', c.payment_request_id]]),
    h('h4', { text: 'Checkout' }),
    (c.checkout ?? []).length
      ? h('ol', { class: 'timeline' }, c.checkout.map(step => h('li', {}, h('strong', { text: step.step }), ' ', h('time', { datetime: step.at, text: when(step.at) }), step.detail ? h('span', { class: 'hint', text: ` · ${step.detail}` }) : null)))
      : h('p', { class: 'hint', text: 'The buyer has not opened the checkout page yet.' }),
    h('h4', { text: 'Webhook' }),
    webhook
      ? h('p', {}, h('span', { class: `badge ${webhook.verification?.ok === false ? 'refused' : 'verified'}`, text: webhook.verification?.ok === false ? 'signature refused' : 'signature verified' }), ` ${webhook.event ?? ''} at ${when(webhook.created_at)} (see Webhooks)`)
      : h('p', { class: 'hint', text: 'No webhook yet.' })
  ]
}

function meetingView (c) {
  const recordings = c.recordings ?? []
  return [
    kv([['Topic', c.topic], ['Meeting id', c.meeting_id], ['Status', c.status], ['Starts', c.start_time ? new Date(c.start_time).toLocaleString() : null], ['Duration', c.duration ? `${c.duration} min` : null], ['Time zone', c.timezone],
      ['Join', c.join_url ? h('a', { href: c.join_url, target: '_blank', rel: 'noopener noreferrer', text: c.join_url }) : null], ['Settings', c.settings && Object.keys(c.settings).length ? c.settings : null]]),
    h('h4', { text: 'Lifecycle' }),
    (c.lifecycle ?? []).length
      ? h('ol', { class: 'timeline' }, c.lifecycle.map(s => h('li', {}, h('strong', { text: s.status }), ' ', h('time', { datetime: s.at, text: when(s.at) }))))
      : h('p', { class: 'hint', text: 'Not started yet.' }),
    h('h4', { text: 'Recordings' }),
    recordings.length
      ? h('ul', { class: 'attachments' }, recordings.map(r => h('li', {}, r.download_url ? h('a', { href: r.download_url, target: '_blank', rel: 'noopener noreferrer', download: '', text: `${r.file_type ?? 'file'} ${r.recording_type ?? ''}`.trim() }) : h('span', { text: r.file_type ?? 'file' }), h('span', { class: 'hint', text: r.file_size ? ` · ${bytes(r.file_size)}` : '' }))))
      : h('p', { class: 'hint', text: 'No recordings yet: they come after the meeting ends.' })
  ]
}

// --- wiring ----------------------------------------------------------------------------------------

export function startInspect () {
  for (const channel of CHANNELS) {
    const form = slotOf(channel, 'filters')
    let debounce = 0
    const changed = () => { clearTimeout(debounce); debounce = setTimeout(() => { refreshChannel(channel) }, 250) }
    form.addEventListener('input', changed)
    form.addEventListener('submit', (e) => { e.preventDefault(); refreshChannel(channel) })
    slotOf(channel, 'more').addEventListener('click', () => refreshChannel(channel, { more: true }))
    dialogOf(channel).querySelector('[data-slot=close]')?.addEventListener('click', () => closeItem(channel))
    panelBehaviour(dialogOf(channel), () => closeItem(channel))
  }
}

/**
 * The periodic refresh (and a tab opened): the pages the person loaded, again. Live events add and
 * update items, but nothing tells the page what was deleted (a reset, from this page or a test
 * suite's POST /api/admin/reset): a list kept as it was would show those items for good.
 */
export function refreshFirstPage (channel) {
  return views[channel] ? refreshChannel(channel, { again: true }) : Promise.resolve()
}
