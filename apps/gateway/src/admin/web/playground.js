// The playground panel: the emulators' test clock (freeze, advance, resume, real time) and the
// scripted scenarios (play an example, stop, the steps played so far). Self-contained: the page
// shell gives it one empty element (#playground) and main.js mounts it once signed in.

import { api, failure } from './api.js'
import { h, message } from './dom.js'
import { duration } from './format.js'

const ADVANCES = [['+1 min', 60], ['+10 min', 600], ['+1 hour', 3600], ['+1 day', 86400]]

/** @type {HTMLElement | undefined} */
let root
/** @type {Record<string, HTMLElement>} */
const el = {}

function when (iso) {
  return iso ? new Date(iso).toLocaleString() : '—'
}

function renderClock (clock) {
  el.clockState.textContent = clock.mode === 'real'
    ? `Real time: ${when(clock.now)}`
    : clock.mode === 'frozen'
      ? `Frozen at ${when(clock.frozen_at)}`
      : `Running ${duration(clock.offset_ms)} ${clock.offset_ms < 0 ? 'behind' : 'ahead of'} real time: ${when(clock.now)}`
  el.clockState.dataset.mode = clock.mode
}

function renderDataset (load) {
  el.datasetState.textContent = !load
    ? ''
    : load.status === 'running'
      ? `Loading ${load.dataset}… (started ${when(load.started_at)})`
      : load.status === 'done'
        ? `Loaded ${load.dataset}: ${load.ok} of ${load.steps} steps accepted${load.failures.length ? `; failures: ${load.failures.join('; ')}` : ''}.`
        : `Loading ${load.dataset} failed: ${load.error}`
}

function renderScenario (status) {
  el.scenarioState.textContent = status.active
    ? `Playing ${status.active.name} since ${when(status.started_at)}${status.active.description ? ` — ${status.active.description}` : ''}`
    : 'No scenario: the usual rates, headers and magic values.'
  el.played.replaceChildren(...(status.played.length
    ? status.played.slice(0, 20).map(p => h('tr', {}, h('td', { text: when(p.at) }), h('td', { text: p.service }), h('td', { text: p.recipient ?? '—' }), h('td', { text: p.rule }), h('td', { text: p.decided })))
    : [h('tr', {}, h('td', { colspan: '5', class: 'hint', text: 'No steps played yet.' }))]))
}

async function run (action) {
  try {
    message(el.message, '')
    await action()
    await refreshPlayground()
  } catch (err) {
    message(el.message, failure(err), 'error')
  }
}

/** Builds the panel into the element the shell gave it (once). */
export function mountPlayground (/** @type {HTMLElement | null} */ container) {
  if (!container || root) return
  root = container
  el.clockState = h('p', { class: 'clock-state', role: 'status' }, 'Loading the clock…')
  el.scenarioState = h('p', { role: 'status' }, 'Loading scenarios…')
  el.played = h('tbody')
  el.message = h('p', { class: 'message', role: 'status', 'aria-live': 'polite' })
  el.examples = h('select', { id: 'scenario-example', 'aria-label': 'Example scenario' })
  const clockButtons = [
    h('button', { type: 'button', class: 'button', text: 'Freeze', onclick: () => run(() => api('POST', '/api/admin/clock/freeze')) }),
    ...ADVANCES.map(([label, seconds]) => h('button', { type: 'button', class: 'button', text: label, onclick: () => run(() => api('POST', '/api/admin/clock/advance', { seconds })) })),
    h('button', { type: 'button', class: 'button', text: 'Resume', onclick: () => run(() => api('POST', '/api/admin/clock/resume')) }),
    h('button', { type: 'button', class: 'button ghost', text: 'Real time', onclick: () => run(() => api('POST', '/api/admin/clock/real')) })
  ]
  el.datasetState = h('p', { role: 'status', class: 'hint' })
  root.replaceChildren(
    h('h3', { text: 'Data set' }),
    h('p', { class: 'hint', text: 'Load the demo data set (an Indian product team\'s contacts, emails, WhatsApp campaigns, payment links, calls and meetings) through the public API, so Stats and Activity look like a real product\'s.' }),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'button', text: 'Load the demo data set', onclick: () => run(() => api('POST', '/api/admin/datasets/demo/load')) })),
    el.datasetState,
    h('h3', { text: 'Test clock' }),
    h('p', { class: 'hint', text: 'Freeze the emulators\' time, then advance it: scheduled meetings start, scheduled sends and calls go out and payment links expire at once.' }),
    el.clockState,
    h('div', { class: 'actions' }, clockButtons),
    h('h3', { text: 'Scenario' }),
    h('p', { class: 'hint', text: 'A scripted story per recipient (or named by the x-switchboard-scenario header), outages for a period, rate limits. Loaded from a file with PUT /api/admin/scenario, or an example here.' }),
    el.scenarioState,
    h('div', { class: 'actions' },
      el.examples,
      h('button', { type: 'button', class: 'button primary', text: 'Play', onclick: () => run(() => api('POST', `/api/admin/scenario/examples/${encodeURIComponent(/** @type {HTMLSelectElement} */ (el.examples).value)}`)) }),
      h('button', { type: 'button', class: 'button ghost', text: 'Stop', onclick: () => run(() => api('DELETE', '/api/admin/scenario')) })),
    el.message,
    // Scrollable on a phone: focusable so a keyboard can scroll it (axe: scrollable-region-focusable).
    h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Scenario steps played' },
      h('table', { class: 'table', 'aria-label': 'Scenario steps played, newest first' },
        h('thead', {}, h('tr', {}, ...['When (clock)', 'Service', 'Recipient', 'Rule', 'Decided'].map(t => h('th', { scope: 'col', text: t })))),
        el.played))
  )
  api('GET', '/api/admin/scenario/examples')
    .then(list => { el.examples.replaceChildren(...list.items.map(e => h('option', { value: e.name, title: e.description, text: e.name }))) })
    .catch(err => message(el.message, failure(err), 'error'))
}

/** Redraws the clock and the scenario (the Development tab's poll calls it). */
export async function refreshPlayground () {
  if (!root) return
  const [clock, scenario, datasets] = await Promise.all([api('GET', '/api/admin/clock'), api('GET', '/api/admin/scenario'), api('GET', '/api/admin/datasets')])
  renderClock(clock)
  renderScenario(scenario)
  renderDataset(datasets.load)
}
