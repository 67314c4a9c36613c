// Events to the team's app: the endpoints (add, enable or disable, delete) and the latest
// deliveries, in a section of the Development tab. A new endpoint's whsec_ secret is shown once,
// right after it is created, as the admin API shows it; the page keeps it nowhere.

import { api, failure } from './api.js'
import { $, h, message } from './dom.js'
import { when } from './format.js'

/** @type {HTMLElement | undefined} */
let section
/** @type {string[]} */
let knownTypes = []

function mount () {
  if (section) return section
  const form = h('form', { id: 'event-form', class: 'filters', autocomplete: 'off', 'aria-label': 'Add an event endpoint' },
    h('div', { class: 'field grow' }, h('label', { for: 'event-url', text: 'Endpoint URL' }),
      h('input', { id: 'event-url', name: 'url', type: 'url', required: true, placeholder: 'http://127.0.0.1:5000/webhooks/switchboard', spellcheck: 'false' })),
    h('div', { class: 'field grow' }, h('label', { for: 'event-types', text: 'Event types (comma-separated; empty: all)' }),
      h('input', { id: 'event-types', name: 'types', list: 'event-type-list', placeholder: 'payment.paid, email.bounced', spellcheck: 'false' })),
    h('datalist', { id: 'event-type-list' }),
    h('button', { type: 'submit', class: 'button', text: 'Add endpoint' }))
  form.addEventListener('submit', (e) => { e.preventDefault(); create() })
  section = h('section', { id: 'events', 'aria-labelledby': 'events-title' },
    h('h3', { id: 'events-title', text: 'Events to your app' }),
    h('p', { class: 'hint', text: 'Each endpoint receives one signed event per outcome (email.delivered, payment.paid, call.completed, meeting.ended, …) in the Standard Webhooks format, retried with backoff.' }),
    form,
    h('p', { id: 'event-message', class: 'message', role: 'status', 'aria-live': 'polite' }),
    h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Event endpoints' }, h('table', { class: 'table', 'aria-label': 'Event endpoints' },
      h('thead', {}, h('tr', {}, ['URL', 'Types', 'State', ''].map(text => h('th', { scope: 'col', text })))),
      h('tbody', { id: 'event-endpoints' }))),
    h('h3', { id: 'event-deliveries-title', text: 'Latest event deliveries' }),
    h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'event-deliveries-title' }, h('table', { class: 'table', 'aria-labelledby': 'event-deliveries-title' },
      h('thead', {}, h('tr', {}, ['When', 'Event', 'To', 'Status', 'Attempts', 'Last error'].map(text => h('th', { scope: 'col', text })))),
      h('tbody', { id: 'event-deliveries' }))))
  $('panel-development').append(section)
  return section
}

async function create () {
  const url = /** @type {HTMLInputElement} */ ($('event-url')).value.trim()
  const types = /** @type {HTMLInputElement} */ ($('event-types')).value.split(',').map(t => t.trim()).filter(Boolean)
  try {
    const created = await api('POST', '/api/admin/endpoints', { url, ...(types.length ? { types } : {}) })
    const form = /** @type {HTMLFormElement} */ ($('event-form'))
    form.reset()
    message($('event-message'), `Endpoint added. Its signing secret, shown this once: ${created.secret}`, 'ok')
    await refreshEvents()
  } catch (err) {
    message($('event-message'), failure(err), 'error')
  }
}

async function change (id, method, body) {
  try {
    await api(method, `/api/admin/endpoints/${encodeURIComponent(id)}`, body)
    message($('event-message'), method === 'DELETE' ? 'Endpoint deleted.' : 'Endpoint updated.', 'ok')
    await refreshEvents()
  } catch (err) {
    message($('event-message'), failure(err), 'error')
  }
}

/** Draws the endpoints and the latest deliveries (called with the Development tab's refresh). */
export async function refreshEvents () {
  mount()
  let endpoints, deliveries
  try {
    [endpoints, deliveries] = await Promise.all([api('GET', '/api/admin/endpoints'), api('GET', '/api/admin/events?limit=20')])
  } catch (err) {
    message($('event-message'), failure(err), 'error')
    return
  }
  if (knownTypes.length === 0) {
    knownTypes = endpoints.types
    $('event-type-list').replaceChildren(...knownTypes.map(t => h('option', { value: t })))
  }
  const urlOf = new Map(endpoints.items.map(e => [e.id, e.url]))
  $('event-endpoints').replaceChildren(...(endpoints.items.length === 0
    ? [h('tr', {}, h('td', { colspan: '4', class: 'hint', text: 'No endpoint yet. Add your app\'s URL above, or set SWITCHBOARD_EVENTS_URL.' }))]
    : endpoints.items.map(e => h('tr', {},
      h('td', { text: e.url }),
      h('td', { text: e.types.length ? e.types.join(', ') : 'every type' }),
      h('td', { text: `${e.enabled ? 'enabled' : 'disabled'}${e.origin === 'env' ? ' (environment)' : ''}` }),
      h('td', {},
        h('button', { type: 'button', class: 'button ghost', text: e.enabled ? 'Disable' : 'Enable', onclick: () => change(e.id, 'PATCH', { enabled: !e.enabled }) }),
        e.origin === 'env' ? null : h('button', { type: 'button', class: 'button ghost danger', text: 'Delete', onclick: () => { if (confirm(`Delete the endpoint ${e.url}? Deliveries not yet made are dropped.`)) change(e.id, 'DELETE') } }))))))
  $('event-deliveries').replaceChildren(...(deliveries.items.length === 0
    ? [h('tr', {}, h('td', { colspan: '6', class: 'hint', text: 'No events yet.' }))]
    : deliveries.items.map(d => h('tr', {},
      h('td', { text: when(d.created_at) }),
      h('td', { text: d.type }),
      h('td', { text: urlOf.get(d.endpoint_id) ?? d.url }),
      h('td', { text: d.status }),
      h('td', { text: String(d.attempts) }),
      h('td', { text: d.last_error ?? '' })))))
}
