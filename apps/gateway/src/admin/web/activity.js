// The Activity tab: every item of every channel (the four logs' rows, Zoom's requests and the
// traffic sent straight to an emulator), newest first, from /api/admin/activity; an item's details
// (its columns, content, timeline, exchanges, webhooks); and the reset.

import { api, failure } from './api.js'
import { refreshDevelopment } from './development.js'
import { $, h, message, NARROW, showPanel } from './dom.js'
import { ago, changeMark, label, ms, statusClass, when } from './format.js'
import { detailSections } from './inspect.js'
import { state } from './state.js'

function filters () {
  const form = /** @type {HTMLFormElement} */ ($('filters'))
  const q = new URLSearchParams()
  for (const [key, param] of [['service', 'channel'], ['status', 'status'], ['q', 'q']]) {
    const v = String(new FormData(form).get(key) ?? '').trim()
    if (v) q.set(param, v)
  }
  q.set('limit', '100')
  return q.toString()
}

export async function refreshJournal () {
  const query = filters()
  const seq = ++state.journalSeq
  try {
    const data = await api('GET', `/api/admin/activity?${query}`)
    // A filter change while this was in flight: its own request draws the table.
    if (seq !== state.journalSeq) return
    renderJournal((data.items ?? []).map(item => ({ ...item, service: item.channel })), query)
    // Clears a loading error once loading works again, but not what an action (a reset) reported.
    const out = $('activity-message')
    if (out.dataset.kind === 'load') { message(out, ''); delete out.dataset.kind }
  } catch (err) {
    if (seq === state.journalSeq && err.status !== 401) {
      message($('activity-message'), `The journal could not be loaded: ${failure(err)}`, 'error')
      $('activity-message').dataset.kind = 'load'
    }
  }
}

function rowSignature (item) { return [item.status, changeMark(item), item.latency_ms, item.error, item.fallback].join('|') }

function fillRow (tr, item) {
  const open = h('button', { type: 'button', class: 'linklike', 'aria-controls': 'detail', 'aria-label': `${when(item.created_at)}, ${label(item.service)} ${item.status}: show details` }, when(item.created_at))
  tr.replaceChildren(
    h('td', {}, h('time', { datetime: item.created_at }, open)),
    h('td', { text: label(item.service) }),
    h('td', {}, h('span', { class: `status ${statusClass(item.status)}`, text: item.status ?? '' })),
    h('td', {}, h('span', { class: `badge ${item.mode === 'live' ? 'live' : 'mock'}`, text: item.mode ?? '' }), item.fallback ? h('span', { class: 'badge fallback', text: 'fallback' }) : null, item.direct ? h('span', { class: 'badge direct', text: 'direct', title: 'Sent straight to the emulator, not through Switchboard' }) : null),
    h('td', { class: 'contact', text: item.contact ?? '' }),
    h('td', { class: 'summary' }, item.summary ?? '', item.error ? h('span', { class: 'row-error', text: ` — ${item.error}` }) : null),
    h('td', { class: 'num', text: ms(item.latency_ms) })
  )
  tr.dataset.sig = rowSignature(item)
  tr.dataset.changed = changeMark(item)
}

function renderJournal (items, query) {
  const body = $('journal')
  const fresh = body.dataset.query !== query
  if (fresh) { body.replaceChildren(); state.rows.clear(); body.dataset.query = query }
  const seen = new Set()
  let prev = null
  for (const item of items) {
    const key = `${item.service}/${item.id}`
    if (seen.has(key)) continue
    seen.add(key)
    if (item.status) state.statuses.add(String(item.status))
    state.items.set(key, item)
    let tr = state.rows.get(key)
    if (!tr) {
      const row = /** @type {HTMLTableRowElement} */ (h('tr', { 'data-key': key, 'data-service': item.service, 'data-id': item.id }))
      // The whole row opens the details; its time is a button for keyboards.
      row.addEventListener('click', () => openDetail(row.dataset.service, row.dataset.id, true))
      fillRow(row, item)
      if (state.journalLoaded && !fresh) row.classList.add('arrived')
      state.rows.set(key, row)
      tr = row
    } else if (tr.dataset.sig !== rowSignature(item)) {
      fillRow(tr, item)
    }
    const expected = prev ? prev.nextElementSibling : body.firstElementChild
    if (expected !== tr) body.insertBefore(tr, expected)
    prev = tr
  }
  for (const [key, tr] of state.rows) if (!seen.has(key)) { tr.remove(); state.rows.delete(key); state.items.delete(key) }
  state.journalLoaded = true
  $('journal-empty').hidden = items.length > 0
  $('journal-empty').textContent = query.replace(/&?limit=\d+/, '') ? 'No rows match these filters.' : 'Nothing recorded yet. Send a message through the API and it appears here.'
  markOpenRow()

  const list = $('statuses')
  if (list.children.length !== state.statuses.size) list.replaceChildren(...[...state.statuses].sort().map(v => h('option', { value: v })))

  // The open row changed (a delivery event arrived, say): show its new state.
  const open = state.openRow
  if (open) {
    const tr = state.rows.get(`${open.service}/${open.id}`)
    if (tr && tr.dataset.changed !== open.changed) openDetail(open.service, open.id, false)
  }
}

function markOpenRow () {
  for (const [key, tr] of state.rows) {
    const on = state.openRow !== null && key === `${state.openRow.service}/${state.openRow.id}`
    tr.classList.toggle('selected', on)
    if (on) tr.setAttribute('aria-current', 'true'); else tr.removeAttribute('aria-current')
    tr.querySelector('button.linklike')?.setAttribute('aria-expanded', String(on))
  }
}

async function openDetail (service, id, byPerson) {
  const tr = state.rows.get(`${service}/${id}`)
  state.openRow = { service, id, changed: tr?.dataset.changed ?? '' }
  markOpenRow()
  const panel = /** @type {HTMLDialogElement} */ ($('detail'))
  showPanel(panel)
  const title = $('detail-title')
  if (byPerson) {
    title.textContent = `${label(service)} · loading…`
    message($('detail-message'), '')
  }
  try {
    const data = await api('GET', `/api/admin/activity/${encodeURIComponent(service)}/${encodeURIComponent(id)}`)
    if (state.openRow?.service !== service || state.openRow?.id !== id) return
    // Zoom's requests and direct traffic have no log row: their list item stands in for it.
    const item = state.items.get(`${service}/${id}`) ?? {}
    const row = data.row ?? { id, direct: data.direct, status: item.status, summary: item.summary, contact: item.contact, latency_ms: item.latency_ms, created_at: item.created_at }
    state.openRow.changed = changeMark(data.row) || state.openRow.changed
    title.textContent = `${label(service)} · ${row.status ?? 'details'}`
    message($('detail-message'), '')
    $('detail-body').replaceChildren(...Object.entries(row).flatMap(([k, v]) => [h('dt', { text: k }), detailValue(k, v)]))
    const box = $('detail-inspect')
    const selected = box.querySelector('[role=tab][aria-selected=true]')?.getAttribute('data-name') ?? undefined
    box.replaceChildren(h('h4', { text: 'What was sent, and what happened' }), ...detailSections(service, data, selected))
  } catch (err) {
    if (err.status === 401) return
    message($('detail-message'), err.status === 404
      ? 'This row no longer exists: it was probably deleted by a reset. Close this panel.'
      : `The details could not be loaded: ${failure(err)}`, 'error')
  }
  if (byPerson) {
    title.focus({ preventScroll: true })
    if (!window.matchMedia(NARROW).matches) panel.scrollIntoView({ block: 'nearest' })
  }
}

function detailValue (key, v) {
  if (v === null || v === undefined) return h('dd', { class: 'hint', text: '—' })
  if (typeof v === 'object') return h('dd', {}, h('pre', { tabindex: '0', text: JSON.stringify(v, null, 2) }))
  if (typeof v === 'string' && /_at$/.test(key) && !Number.isNaN(Date.parse(v))) {
    return h('dd', {}, h('time', { datetime: v, text: `${new Date(v).toLocaleString()} ` }), h('span', { class: 'hint', text: `(${ago(v)})` }))
  }
  if (typeof v === 'string' && v.length > 120) return h('dd', {}, h('pre', { tabindex: '0', text: v }))
  return h('dd', { text: String(v) })
}

export function closeDetail () {
  const open = state.openRow
  state.openRow = null
  const panel = /** @type {HTMLDialogElement} */ ($('detail'))
  if (panel.open) panel.close()
  $('detail-body').replaceChildren()
  $('detail-inspect').replaceChildren()
  markOpenRow()
  if (open) state.rows.get(`${open.service}/${open.id}`)?.querySelector('button')?.focus()
}

export async function reset () {
  const dialog = /** @type {HTMLDialogElement} */ ($('reset-dialog'))
  dialog.returnValue = ''
  dialog.showModal()
  await new Promise(resolve => dialog.addEventListener('close', resolve, { once: true }))
  if (dialog.returnValue !== 'confirm') return
  const out = $('activity-message')
  delete out.dataset.kind
  message(out, 'Resetting…')
  try {
    const restore = /** @type {HTMLInputElement} */ ($('reset-settings')).checked
    const result = await api('POST', restore ? '/api/admin/reset?settings=defaults' : '/api/admin/reset')
    const cleared = Object.entries(result.cleared ?? {})
    const total = cleared.reduce((n, [, c]) => n + Number(c || 0), 0)
    const emulators = Object.keys(result.services ?? {}).map(label)
    message(out, `Reset done: ${total} row${total === 1 ? '' : 's'} deleted${cleared.length ? ` (${cleared.filter(([, c]) => c).map(([t, c]) => `${t} ${c}`).join(', ') || 'all tables were empty'})` : ''}${emulators.length ? `; emulators reset: ${emulators.join(', ')}` : ''}${result.settings === 'defaults' ? '; simulation settings restored to their defaults' : ''}.`, 'ok')
    closeDetail()
    if (result.settings === 'defaults') await refreshDevelopment()
    state.statuses.clear()
    await refreshJournal()
  } catch (err) {
    if (err.status !== 401) message(out, `Nothing was reset: ${failure(err)}`, 'error')
  }
}
