// The Development tab: each service's mode, health, keys, fallback and simulation, and the log of changes.

import { api, failure } from './api.js'
import { $, h, message, slot } from './dom.js'
import { ago, byOrder, duration, label, show } from './format.js'
import { state } from './state.js'

/** Changes read, and rows shown once runs of one setting by one person are folded into one row. */
const CHANGES_READ = 200
const CHANGES_SHOWN = 20

export async function refreshDevelopment () {
  const [settings, changes] = await Promise.allSettled([
    api('GET', '/api/admin/settings/mock-mode'),
    api('GET', `/api/admin/settings/changes?limit=${CHANGES_READ}`)
  ])
  if (settings.status === 'fulfilled') renderSettings(settings.value)
  else if (settings.reason.status !== 401) message($('global-message'), failure(settings.reason), 'error')
  if (changes.status === 'fulfilled') renderChanges(changes.value.items ?? [])
}

export function renderSettings (settings) {
  state.settings = settings
  const names = Object.keys(settings.services ?? {}).sort(byOrder)
  const global = /** @type {HTMLInputElement} */ ($('global-mock'))
  // The API says "mixed" when the services (zoom aside) are not all in one mode.
  const mixed = settings.mock_mode === 'mixed'
  global.indeterminate = mixed
  global.checked = settings.mock_mode === true
  global.setAttribute('aria-checked', mixed ? 'mixed' : String(global.checked))

  const box = $('services')
  box.removeAttribute('aria-busy')
  if (!names.length) {
    box.replaceChildren(h('p', { class: 'empty', text: 'This gateway fronts no services.' }))
    return
  }
  box.querySelector(':scope > p')?.remove()
  for (const name of names) {
    let card = document.getElementById(`service-${name}`)
    if (!card) {
      card = buildServiceCard(name)
      const next = [...(/** @type {HTMLCollectionOf<HTMLElement>} */ (box.children))].find(c => byOrder(c.dataset.service, name) > 0)
      box.insertBefore(card, next ?? null)
    }
    updateServiceCard(card, name, settings.services[name])
  }
  for (const card of [...(/** @type {HTMLCollectionOf<HTMLElement>} */ (box.children))]) if (card.dataset.service && !names.includes(card.dataset.service)) card.remove()

  // The journal filter lists the services the gateway has.
  const select = /** @type {HTMLSelectElement} */ ($('f-service'))
  const have = new Set([...select.options].map(o => o.value))
  for (const name of names) if (!have.has(name)) select.append(h('option', { value: name, text: label(name) }))
}

function field (id, text, input, hint) {
  return h('div', { class: 'field' }, h('label', { for: id, text }), input, hint ? h('span', { class: 'hint small', id: `${id}-hint`, text: hint }) : null)
}

function buildServiceCard (name) {
  const id = (part) => `${name}-${part}`
  const scenario = h('select', { id: id('scenario'), name: 'scenario' })
  scenario.append(/** @type {HTMLTemplateElement} */ ($('scenario-options')).content.cloneNode(true))
  const num = (part, attrs) => h('input', { id: id(part), name: part, type: 'number', inputmode: 'numeric', required: true, ...attrs })

  const form = h('form', { class: 'sim', novalidate: true, 'aria-labelledby': id('sim-title') },
    h('h4', { id: id('sim-title'), text: 'Simulation' }),
    h('div', { class: 'grid' },
      field(id('latency-min'), 'Latency min (ms)', num('latency-min', { min: 0, max: 120000, step: 1 })),
      field(id('latency-max'), 'Latency max (ms)', num('latency-max', { min: 0, max: 120000, step: 1 })),
      field(id('success'), 'Success rate (%)', num('success', { min: 0, max: 100, step: 'any', inputmode: 'decimal' })),
      field(id('seed'), 'Seed', h('input', { id: id('seed'), name: 'seed', type: 'number', min: 0, step: 1, inputmode: 'numeric', placeholder: 'random', 'aria-describedby': `${id('seed')}-hint` }), 'Blank: random. A number: the same outcomes every run.'),
      h('div', { class: 'field wide' }, h('label', { for: id('scenario'), text: 'Scenario' }), scenario)
    ),
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'button primary', text: 'Apply' }),
      h('button', { type: 'button', class: 'button ghost', 'data-act': 'revert', text: 'Revert', disabled: true }),
      h('p', { class: 'message', 'data-slot': 'sim-message', role: 'status', 'aria-live': 'polite' })
    )
  )
  const revert = /** @type {HTMLButtonElement} */ (form.querySelector('[data-act=revert]'))
  form.addEventListener('input', () => { form.dataset.dirty = '1'; revert.disabled = false })
  form.addEventListener('submit', (e) => { e.preventDefault(); applySimulation(name, form) })
  revert.addEventListener('click', () => {
    delete form.dataset.dirty
    revert.disabled = true
    for (const input of form.querySelectorAll('input')) { input.setCustomValidity(''); input.removeAttribute('aria-invalid') }
    message(form.querySelector('[data-slot=sim-message]'), '')
    updateServiceCard(document.getElementById(`service-${name}`), name, state.settings.services[name])
  })

  const modeInput = h('input', { type: 'checkbox', role: 'switch', id: id('mock'), 'data-act': 'mode' })
  modeInput.addEventListener('change', () => switchMode(name, modeInput))
  const fallbackInput = h('input', { type: 'checkbox', id: id('fallback'), 'data-act': 'fallback', 'aria-describedby': id('fallback-hint') })
  fallbackInput.addEventListener('change', () => setFallback(name, fallbackInput))

  return h('article', { class: 'card service', id: `service-${name}`, 'data-service': name, 'aria-labelledby': id('title') },
    h('header', { class: 'card-head' },
      h('h3', { id: id('title') }, label(name), ' ', h('span', { class: 'provider', 'data-slot': 'provider' })),
      h('span', { class: 'badge', 'data-slot': 'mode' })
    ),
    h('ul', { class: 'health', 'aria-label': `${label(name)} health` },
      h('li', { 'data-slot': 'reachable' }),
      h('li', { 'data-slot': 'ready' })
    ),
    h('label', { class: 'switch' },
      modeInput,
      h('span', { class: 'switch-track', 'aria-hidden': 'true' }),
      h('span', { class: 'switch-label' }, 'Mock mode', h('span', { class: 'visually-hidden', text: ` for ${label(name)}` }))
    ),
    h('p', { class: 'message', 'data-slot': 'mode-message', role: 'alert' }),
    h('h4', { text: 'API keys' }),
    h('dl', { class: 'kv keys', 'data-slot': 'keys' }),
    h('p', { class: 'missing', 'data-slot': 'missing' }),
    buildEmulatorBlock(name),
    h('label', { class: 'check' }, fallbackInput, ' Fall back to the emulator when the provider fails'),
    h('p', { class: 'hint small', id: id('fallback-hint'), 'data-slot': 'fallback-hint' }),
    h('p', { class: 'message', 'data-slot': 'fallback-message', role: 'status', 'aria-live': 'polite' }),
    form,
    ...(name === 'whatsapp' ? [buildInboundForm()] : [])
  )
}

/** WhatsApp only: a customer's message to the business number, delivered by the emulator as AiSensy would. */
function buildInboundForm () {
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'sim', 'aria-labelledby': 'whatsapp-inbound-title' },
    h('h4', { id: 'whatsapp-inbound-title', text: 'Simulate a customer message' }),
    h('div', { class: 'grid' },
      field('whatsapp-inbound-from', 'From (number)', h('input', { id: 'whatsapp-inbound-from', name: 'from', type: 'tel', required: true, maxlength: 32, placeholder: '+919876543210' })),
      field('whatsapp-inbound-name', 'Name (optional)', h('input', { id: 'whatsapp-inbound-name', name: 'name', maxlength: 200 })),
      h('div', { class: 'field wide' }, h('label', { for: 'whatsapp-inbound-text', text: 'Message' }), h('input', { id: 'whatsapp-inbound-text', name: 'text', required: true, maxlength: 4096 }))
    ),
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'button primary', text: 'Send as the customer' }),
      h('p', { class: 'message', 'data-slot': 'inbound-message', role: 'status', 'aria-live': 'polite' })
    )
  ))
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const out = /** @type {HTMLElement} */ (form.querySelector('[data-slot=inbound-message]'))
    if (!form.reportValidity()) return
    const data = new FormData(form)
    const body = { from: String(data.get('from')), text: String(data.get('text')), ...(data.get('name') ? { name: String(data.get('name')) } : {}) }
    const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]'))
    button.disabled = true
    message(out, 'Sending…')
    try {
      await api('POST', '/api/admin/whatsapp/inbound', body)
      message(out, 'Delivered to the webhook: it is in crm_messages as inbound (GET /api/automation/whatsapp/inbound).', 'ok')
    } catch (err) {
      if (err.status !== 401) message(out, `Not sent: ${failure(err)}`, 'error')
    } finally {
      button.disabled = false
    }
  })
  return form
}

/**
 * Where the service's provider emulator answers and its fake account (GET /api/admin/emulators),
 * for pointing an official SDK at it. The credentials are fetched only when asked for.
 */
function buildEmulatorBlock (name) {
  const id = `${name}-emulator-credentials`
  const credentials = h('dl', { class: 'kv keys', id, hidden: true })
  const toggle = h('button', { type: 'button', class: 'button ghost small', 'aria-expanded': 'false', 'aria-controls': id, text: 'Show credentials' })
  const note = h('p', { class: 'hint small', 'data-slot': 'emulator', text: 'The provider emulator this service calls in mock mode: its base URL and account, to point an official SDK at it.' })
  toggle.addEventListener('click', async () => {
    if (!credentials.hidden) {
      credentials.hidden = true
      credentials.replaceChildren()
      toggle.textContent = 'Show credentials'
      toggle.setAttribute('aria-expanded', 'false')
      return
    }
    try {
      const { items } = await api('GET', '/api/admin/emulators')
      const item = items.find(i => i.service === name)
      if (!item?.reachable) throw new Error(`The ${label(name)} emulator did not answer.`)
      note.textContent = emulatorNote(item)
      credentials.replaceChildren(...Object.entries(item.credentials ?? {}).flatMap(([key, value]) => [
        h('dt', {}, h('code', { text: key })),
        h('dd', {}, h('code', { text: value }))
      ]))
      credentials.hidden = false
      toggle.textContent = 'Hide credentials'
      toggle.setAttribute('aria-expanded', 'true')
    } catch (err) {
      note.textContent = failure(err)
    }
  })
  return h('section', { class: 'emulator', 'aria-label': `${label(name)} emulator` },
    h('h4', { text: 'Emulator' }), note, toggle, credentials)
}

function emulatorNote (item) {
  return `${item.base_url}: ${item.auth === 'issued'
    ? 'takes only this account\'s credentials (EMULATOR_AUTH=issued).'
    : 'takes any credential of the provider\'s shape, these included (EMULATOR_AUTH=any).'}`
}

function updateServiceCard (card, name, svc) {
  if (!card || !svc) return
  const mock = svc.mode === 'mock'
  slot(card, 'provider').textContent = svc.provider && svc.provider !== label(name) ? svc.provider : ''
  const badge = slot(card, 'mode')
  badge.textContent = mock ? 'Mock' : 'Live'
  badge.className = `badge ${mock ? 'mock' : 'live'}`
  card.classList.toggle('is-live', !mock)

  const reach = slot(card, 'reachable')
  reach.className = svc.reachable ? 'ok' : 'bad'
  reach.textContent = svc.reachable ? 'Reachable' : 'Unreachable: the gateway cannot reach this service'
  const ready = slot(card, 'ready')
  ready.className = !svc.reachable ? 'unknown' : svc.ready ? 'ok' : 'warn'
  ready.textContent = !svc.reachable ? 'Readiness unknown' : svc.ready ? 'Ready' : (!mock && svc.missing?.length ? `Not ready: ${svc.needs || svc.missing.join(' and ')} not set` : 'Not ready')

  const modeInput = /** @type {HTMLInputElement} */ (card.querySelector('[data-act=mode]'))
  if (!modeInput.disabled) modeInput.checked = mock

  const keys = slot(card, 'keys')
  keys.replaceChildren(...(svc.credentials ?? []).flatMap(c => [
    h('dt', {}, h('code', { text: c.variable })),
    h('dd', { class: c.configured ? '' : 'hint' }, c.configured ? h('code', { text: c.display }) : c.display)
  ]))
  if (!svc.credentials?.length) keys.replaceChildren(h('dt', { text: 'None reported by the service' }), h('dd'))
  const missing = slot(card, 'missing')
  const list = svc.missing ?? []
  // In the service's words: a provider that takes either of two credential sets names both.
  const needs = svc.needs || list.join(' and ')
  missing.textContent = list.length
    ? (mock
        ? `Live mode needs ${needs}, not set here. Set ${list.length > 1 ? 'them' : 'it'} in the environment (or .env) and restart before switching.`
        : `Live mode without ${needs}: every call fails with PROVIDER_NOT_CONFIGURED. Set ${list.length > 1 ? 'them' : 'it'} or switch back to mock mode.`)
    : ''
  missing.hidden = !list.length
  missing.classList.toggle('bad', !mock && list.length > 0)

  const fb = /** @type {HTMLInputElement} */ (card.querySelector('[data-act=fallback]'))
  const allowed = svc.fallback_allowed !== false
  if (!fb.dataset.busy) { fb.checked = Boolean(svc.fallback) && allowed; fb.disabled = !allowed }
  slot(card, 'fallback-hint').textContent = allowed
    ? 'In live mode, when the real provider fails a call (timeout, 5xx, unreachable), the emulator answers it instead and its row is marked as a fallback.'
    : (svc.fallback_note ?? 'This service never falls back to the emulator.')

  const form = card.querySelector('form.sim')
  if (!form.dataset.dirty) {
    const sim = svc.simulation ?? {}
    const set = (part, v) => { const input = form.querySelector(`#${name}-${part}`); input.value = v === null || v === undefined ? '' : String(v) }
    set('latency-min', sim.latency_ms?.min)
    set('latency-max', sim.latency_ms?.max)
    set('success', sim.success_rate === undefined || sim.success_rate === null ? '' : Math.round(sim.success_rate * 10000) / 100)
    set('seed', sim.seed)
    set('scenario', sim.scenario ?? 'none')
  }
}

async function switchMode (name, input) {
  const card = document.getElementById(`service-${name}`)
  const out = slot(card, 'mode-message')
  const toMock = input.checked
  input.disabled = true
  message(out, `Switching ${label(name)} to ${toMock ? 'mock' : 'live'} mode…`)
  try {
    const settings = await api('POST', '/api/admin/settings/mock-mode', { mock_mode: toMock, service: name })
    message(out, `${label(name)} is now in ${settings.services?.[name]?.mode ?? (toMock ? 'mock' : 'live')} mode.`, 'ok')
    input.disabled = false
    renderSettings(settings)
  } catch (err) {
    input.disabled = false
    input.checked = !toMock
    if (err.status === 401) return
    message(out, err.status === 422 ? `${failure(err)}` : `Could not switch ${label(name)}: ${failure(err)}`, 'error')
  }
  refreshDevelopment().catch(() => {})
}

export async function switchAll (input) {
  const out = $('global-message')
  const toMock = input.checked
  input.disabled = true
  message(out, `Switching every service except Zoom to ${toMock ? 'mock' : 'live'} mode…`)
  try {
    const settings = await api('POST', '/api/admin/settings/mock-mode', { mock_mode: toMock })
    message(out, toMock ? 'Every service except Zoom is in mock mode.' : 'Every service except Zoom is in live mode.', 'ok')
    renderSettings(settings)
  } catch (err) {
    input.checked = !toMock
    if (err.status !== 401) message(out, failure(err), 'error')
  } finally {
    input.disabled = false
  }
  refreshDevelopment().catch(() => {})
}

async function setFallback (name, input) {
  const card = document.getElementById(`service-${name}`)
  const out = slot(card, 'fallback-message')
  input.dataset.busy = '1'
  input.disabled = true
  try {
    const svc = await api('PATCH', `/api/admin/settings/services/${encodeURIComponent(name)}`, { fallback: input.checked })
    message(out, svc.fallback ? 'Fallback on.' : 'Fallback off.', 'ok')
    state.settings.services[name] = svc
  } catch (err) {
    input.checked = !input.checked
    if (err.status !== 401) message(out, `Could not change the fallback: ${failure(err)}`, 'error')
  } finally {
    delete input.dataset.busy
    input.disabled = false
    updateServiceCard(card, name, state.settings?.services?.[name])
  }
  refreshDevelopment().catch(() => {})
}

function readSimulation (name, form) {
  const get = (part) => /** @type {HTMLInputElement} */ (form.querySelector(`#${name}-${part}`))
  const min = get('latency-min'); const max = get('latency-max'); const success = get('success'); const seed = get('seed')
  for (const input of [min, max, success, seed]) input.setCustomValidity('')
  const int = (input) => /^\d+$/.test(input.value.trim()) && Number(input.value) <= 120000 ? Number(input.value) : NaN
  if (!Number.isFinite(int(min))) min.setCustomValidity('Enter the minimum latency in whole milliseconds, from 0 to 120000.')
  if (!Number.isFinite(int(max))) max.setCustomValidity('Enter the maximum latency in whole milliseconds, from 0 to 120000.')
  else if (int(max) < int(min)) max.setCustomValidity('The maximum latency must be at least the minimum.')
  const rate = success.value.trim() === '' ? NaN : Number(success.value)
  if (!(rate >= 0 && rate <= 100)) success.setCustomValidity('Enter a success rate between 0 and 100 (percent).')
  const seedText = seed.value.trim()
  if (seedText !== '' && !(/^\d+$/.test(seedText) && Number(seedText) <= 4294967295)) seed.setCustomValidity('Enter a whole number from 0 to 4294967295, or leave it blank for random outcomes.')
  for (const input of [min, max, success, seed]) {
    input.setAttribute('aria-invalid', String(!input.checkValidity()))
    if (!input.checkValidity()) { input.reportValidity(); return null }
  }
  return {
    latency_ms: { min: int(min), max: int(max) },
    success_rate: Math.round(rate * 100) / 10000,
    seed: seedText === '' ? null : Number(seedText),
    scenario: /** @type {HTMLSelectElement} */ (form.querySelector(`#${name}-scenario`)).value
  }
}

async function applySimulation (name, form) {
  const out = form.querySelector('[data-slot=sim-message]')
  const simulation = readSimulation(name, form)
  if (!simulation) { message(out, 'Fix the highlighted field, then apply.', 'error'); return }
  // Only what changed is sent, so two people tuning different fields do not undo each other.
  const current = state.settings?.services?.[name]?.simulation ?? {}
  const changed = Object.fromEntries(Object.entries(simulation).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(current[k])))
  if (!Object.keys(changed).length) {
    delete form.dataset.dirty
    form.querySelector('[data-act=revert]').disabled = true
    message(out, 'Nothing to apply: these are the current settings.', 'ok')
    return
  }
  const button = form.querySelector('button[type=submit]')
  button.disabled = true
  message(out, 'Applying…')
  try {
    const svc = await api('PATCH', `/api/admin/settings/services/${encodeURIComponent(name)}`, { simulation: changed })
    delete form.dataset.dirty
    form.querySelector('[data-act=revert]').disabled = true
    state.settings.services[name] = svc
    updateServiceCard(document.getElementById(`service-${name}`), name, svc)
    message(out, `Applied. ${label(name)} follows it within two seconds.`, 'ok')
  } catch (err) {
    if (err.status !== 401) message(out, `Not applied: ${failure(err)}`, 'error')
  } finally {
    button.disabled = false
  }
  refreshDevelopment().catch(() => {})
}

/** A field of the test clock's setting as a person reads it: an instant as a date, the offset as a span. */
function clockField (field, value) {
  if (field === 'frozen_at' && typeof value === 'number') return new Date(value).toLocaleString()
  if (field === 'offset_ms' && typeof value === 'number') return value === 0 ? 'none' : `${value < 0 ? '-' : '+'}${duration(value)}`
  return show(value)
}

/** Only what changed, for settings stored as objects (a simulation change lists its fields). */
function changeText (key, from, to) {
  const text = key === 'clock' ? clockField : (_field, value) => show(value)
  if (from && to && typeof from === 'object' && typeof to === 'object') {
    const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])]
    const parts = keys.filter(k => JSON.stringify(from[k]) !== JSON.stringify(to[k])).map(k => `${k}: ${text(k, from[k])} → ${text(k, to[k])}`)
    return parts.length ? parts.join('; ') : 'no change'
  }
  return `${show(from)} → ${show(to)}`
}

function renderChanges (items) {
  const body = $('changes')
  if (!items.length) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 4, class: 'hint', text: 'No changes yet.' })))
    return
  }
  body.replaceChildren(...runsOf(items).slice(0, CHANGES_SHOWN).map(c => {
    const [kind, service] = String(c.key).split('.')
    const times = c.count > 1 ? ` (${c.count} changes since ${ago(c.first_at)})` : ''
    return h('tr', {},
      h('td', {}, h('time', { datetime: c.changed_at, title: new Date(c.changed_at).toLocaleString(), text: ago(c.changed_at) })),
      h('td', { text: c.changed_by ?? '' }),
      h('td', { text: service ? `${label(service)} · ${kind}` : String(c.key) }),
      h('td', { class: 'change', text: changeText(String(c.key), c.from_value, c.to_value) + times })
    )
  }))
}

/**
 * Consecutive changes (newest first) of one setting by one person as one row, from the first
 * one's value to the last one's: loading a data set moves the clock once an hour of its history,
 * and those moves would otherwise push every other change out of the table.
 */
function runsOf (items) {
  const runs = []
  for (const c of items) {
    const last = runs.at(-1)
    if (last && last.key === c.key && last.changed_by === c.changed_by) {
      last.count++
      last.from_value = c.from_value
      last.first_at = c.changed_at
    } else {
      runs.push({ ...c, count: 1, first_at: c.changed_at })
    }
  }
  return runs
}
