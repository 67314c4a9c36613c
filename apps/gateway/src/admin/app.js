// Switchboard admin page. A plain ES module with no dependencies and no build step: the gateway
// serves this file as it is. It signs in with the admin token, keeps it in sessionStorage, sends it
// as `Authorization: Bearer` on every /api/admin/* call, and draws the three tabs from the admin API.
// Every value from the API reaches the page through textContent or an attribute, never as HTML.

const TOKEN_KEY = 'switchboard.adminToken'
const POLL_MS = { development: 5000, activity: 2000, stats: 10000 }
const TABS = ['development', 'activity', 'stats']
const ORDER = ['email', 'whatsapp', 'payments', 'voice', 'zoom']
const LABELS = { email: 'Email', whatsapp: 'WhatsApp', payments: 'Payments', voice: 'Voice', zoom: 'Zoom' }
const STATS_MINUTES = 60

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id))
const label = (service) => LABELS[service] ?? service
const byOrder = (a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b)

/** Creates an element. attrs: class, text, dataset-free plain attributes, on<event> handlers, booleans. */
function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  setAttrs(el, attrs)
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c)
  return el
}
const SVG = 'http://www.w3.org/2000/svg'
function s (tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag)
  setAttrs(el, attrs)
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c)
  return el
}
function setAttrs (el, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'text') el.textContent = String(v)
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v)
    else el.setAttribute(k, v === true ? '' : String(v))
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' })
const minuteFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const relFmt = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })

function when (iso) {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return String(iso ?? '')
  return d.toDateString() === new Date().toDateString() ? timeFmt.format(d) : dateTimeFmt.format(d)
}
function ago (iso) {
  const sec = Math.round((new Date(iso).getTime() - Date.now()) / 1000)
  if (!Number.isFinite(sec)) return ''
  if (Math.abs(sec) < 60) return relFmt.format(sec, 'second')
  if (Math.abs(sec) < 3600) return relFmt.format(Math.round(sec / 60), 'minute')
  if (Math.abs(sec) < 86400) return relFmt.format(Math.round(sec / 3600), 'hour')
  return relFmt.format(Math.round(sec / 86400), 'day')
}
function ms (value) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return '—'
  const n = Number(value)
  return n >= 1000 ? `${(n / 1000).toFixed(n >= 10000 ? 0 : 1)} s` : `${Math.round(n)} ms`
}
function pct (rate) {
  if (rate === null || rate === undefined || !Number.isFinite(Number(rate))) return '—'
  const p = Number(rate) * 100
  return `${p === 100 || p === 0 ? p : p.toFixed(1)} %`
}
function show (value) {
  if (value === null || value === undefined) return 'none'
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

// ---------------------------------------------------------------------------------------------
// The admin API

class ApiError extends Error {
  constructor (status, code, message, requestId) {
    super(message)
    this.status = status
    this.code = code
    this.requestId = requestId
  }
}

const state = {
  token: null,
  signedIn: false,
  tab: 'development',
  settings: null,
  statuses: new Set(),
  openRow: null, // { service, id, updated_at }
  rows: new Map(), // "service/id" → <tr>
  journalSeq: 0,
  journalLoaded: false,
  timer: 0
}

function describeFailure (status, data, path, requestId) {
  const rid = requestId ? ` (request id ${requestId})` : ''
  if (data && typeof data.message === 'string' && data.message) {
    return status >= 500 ? `${data.message}${data.message.includes(requestId ?? '\0') ? '' : rid}` : data.message
  }
  if (status === 404) return `The gateway has no ${path.split('?')[0]} (404). It may be a version without this part of the admin API; update Switchboard and reload.`
  if (status === 429) return 'Too many requests: the gateway asked the page to slow down. Wait a few seconds and try again.'
  if (status >= 500) return `The gateway failed (${status}). Retry; if it keeps failing, the gateway's log has the details${rid}.`
  return `The gateway answered ${status} to ${path.split('?')[0]}.${rid}`
}

async function api (method, path, body) {
  if (!state.token) throw new ApiError(401, 'NOT_SIGNED_IN', 'Sign in first.')
  let res
  try {
    res = await fetch(path, {
      method,
      cache: 'no-store',
      headers: { authorization: `Bearer ${state.token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
  } catch {
    setConnection(false)
    throw new ApiError(0, 'NETWORK', `Could not reach the gateway at ${location.host}. Is Switchboard still running? The page keeps retrying on its own.`)
  }
  setConnection(true)
  const text = await res.text()
  let data
  try { data = text ? JSON.parse(text) : undefined } catch { data = undefined }
  const requestId = (data && data.requestId) || res.headers.get('x-request-id') || undefined
  if (res.status === 401) {
    const message = state.signedIn
      ? 'You were signed out: the gateway no longer accepts this admin token (401). It may have changed; sign in with the current one.'
      : 'The gateway refused this token (401 Unauthorized). Copy the admin token again from .data/tokens.json (or ADMIN_TOKEN) and retry.'
    signOut(message)
    throw new ApiError(401, 'UNAUTHORIZED', message, requestId)
  }
  if (!res.ok) throw new ApiError(res.status, data?.code, describeFailure(res.status, data, path, requestId), requestId)
  return data
}

function setConnection (ok) {
  const banner = $('banner')
  if (ok) {
    if (banner.dataset.kind === 'network') { banner.hidden = true; banner.dataset.kind = '' }
    $('connection').textContent = state.signedIn ? `Connected to ${location.host}` : ''
    $('connection').classList.remove('bad')
  } else {
    banner.textContent = `The gateway at ${location.host} is not answering. Is Switchboard still running? Retrying every few seconds.`
    banner.className = 'banner error'
    banner.dataset.kind = 'network'
    banner.hidden = false
    $('connection').textContent = 'Gateway unreachable'
    $('connection').classList.add('bad')
  }
}

function message (el, text, kind = '') {
  el.textContent = text ?? ''
  el.className = `message ${kind}`.trim()
}

/** The message for a failed action; a 401 already took the person to the sign-in form. */
function failure (err) {
  return err instanceof ApiError ? err.message : `Something went wrong in the page: ${err?.message ?? err}. Reload the page and try again.`
}

// ---------------------------------------------------------------------------------------------
// Sign in and out

function showSignIn (text) {
  state.signedIn = false
  clearTimeout(state.timer)
  $('app').hidden = true
  $('sign-out').hidden = true
  $('signin').hidden = false
  $('connection').textContent = ''
  message($('signin-message'), text ?? '', text ? 'error' : '')
  const input = /** @type {HTMLInputElement} */ ($('token'))
  input.value = ''
  input.setAttribute('aria-invalid', text ? 'true' : 'false')
  input.focus()
}

function signOut (text) {
  state.token = null
  sessionStorage.removeItem(TOKEN_KEY)
  showSignIn(text)
}

async function signIn (token, { restoring = false } = {}) {
  state.token = token
  state.signedIn = false
  const button = $('signin-form').querySelector('button[type=submit]')
  button.disabled = true
  message($('signin-message'), restoring ? '' : 'Checking the token…')
  try {
    const settings = await api('GET', '/api/admin/settings/mock-mode')
    sessionStorage.setItem(TOKEN_KEY, token)
    state.signedIn = true
    $('signin').hidden = true
    $('app').hidden = false
    $('sign-out').hidden = false
    setConnection(true)
    renderSettings(settings)
    selectTab(tabFromHash(), { focus: false })
  } catch (err) {
    if (err.status !== 401) {
      state.token = null
      showSignIn(failure(err))
      if (restoring && err.status === 0) {
        // The gateway is restarting: keep the stored token and try again shortly.
        state.timer = setTimeout(() => signIn(token, { restoring: true }), 3000)
      }
    }
  } finally {
    button.disabled = false
  }
}

// ---------------------------------------------------------------------------------------------
// Tabs and polling

function tabFromHash () {
  const name = location.hash.slice(1)
  return TABS.includes(name) ? name : 'development'
}

function selectTab (name, { focus = true } = {}) {
  state.tab = name
  for (const t of TABS) {
    const tab = $(`tab-${t}`)
    const on = t === name
    tab.setAttribute('aria-selected', String(on))
    tab.tabIndex = on ? 0 : -1
    $(`panel-${t}`).hidden = !on
    if (on && focus) tab.focus()
  }
  if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`)
  poll()
}

/** Refreshes the visible tab now, then every POLL_MS of that tab, while the page is visible. */
async function poll () {
  clearTimeout(state.timer)
  if (!state.signedIn) return
  const tab = state.tab
  if (!document.hidden) {
    try {
      if (tab === 'development') await refreshDevelopment()
      else if (tab === 'activity') { if ($('live').checked || !state.journalLoaded) await refreshJournal() }
      else await refreshStats()
    } catch { /* each refresh shows its own errors */ }
  }
  if (state.signedIn && state.tab === tab) {
    clearTimeout(state.timer)
    state.timer = setTimeout(poll, POLL_MS[tab])
  }
}

// ---------------------------------------------------------------------------------------------
// Development tab

async function refreshDevelopment () {
  const [settings, changes] = await Promise.allSettled([
    api('GET', '/api/admin/settings/mock-mode'),
    api('GET', '/api/admin/settings/changes?limit=20')
  ])
  if (settings.status === 'fulfilled') renderSettings(settings.value)
  else if (settings.reason.status !== 401) message($('global-message'), failure(settings.reason), 'error')
  if (changes.status === 'fulfilled') renderChanges(changes.value.items ?? [])
}

function renderSettings (settings) {
  state.settings = settings
  const names = Object.keys(settings.services ?? {}).sort(byOrder)
  const global = /** @type {HTMLInputElement} */ ($('global-mock'))
  const nonZoom = names.filter(n => n !== 'zoom').map(n => settings.services[n].mode)
  const mixed = nonZoom.includes('mock') && nonZoom.includes('live')
  global.indeterminate = mixed
  global.checked = !mixed && Boolean(settings.mock_mode)
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
      const next = [...box.children].find(c => byOrder(c.dataset.service, name) > 0)
      box.insertBefore(card, next ?? null)
    }
    updateServiceCard(card, name, settings.services[name])
  }
  for (const card of [...box.children]) if (card.dataset.service && !names.includes(card.dataset.service)) card.remove()

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
  form.addEventListener('input', () => { form.dataset.dirty = '1'; form.querySelector('[data-act=revert]').disabled = false })
  form.addEventListener('submit', (e) => { e.preventDefault(); applySimulation(name, form) })
  form.querySelector('[data-act=revert]').addEventListener('click', () => {
    delete form.dataset.dirty
    form.querySelector('[data-act=revert]').disabled = true
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
    h('label', { class: 'check' }, fallbackInput, ' Fall back to the emulator when the provider fails'),
    h('p', { class: 'hint small', id: id('fallback-hint'), 'data-slot': 'fallback-hint' }),
    h('p', { class: 'message', 'data-slot': 'fallback-message', role: 'status', 'aria-live': 'polite' }),
    form,
    ...(name === 'whatsapp' ? [buildInboundForm()] : [])
  )
}

/** WhatsApp only: a customer's message to the business number, delivered by the emulator as AiSensy would. */
function buildInboundForm () {
  const form = h('form', { class: 'sim', 'aria-labelledby': 'whatsapp-inbound-title' },
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
  )
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const out = form.querySelector('[data-slot=inbound-message]')
    if (!form.reportValidity()) return
    const data = new FormData(form)
    const body = { from: String(data.get('from')), text: String(data.get('text')), ...(data.get('name') ? { name: String(data.get('name')) } : {}) }
    const button = form.querySelector('button[type=submit]')
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

function slot (card, name) { return card.querySelector(`[data-slot="${name}"]`) }

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
  ready.textContent = !svc.reachable ? 'Readiness unknown' : svc.ready ? 'Ready' : (!mock && svc.missing?.length ? `Not ready: ${svc.missing.join(', ')} not set` : 'Not ready')

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
  missing.textContent = list.length
    ? (mock
        ? `Live mode needs ${list.join(' and ')}, which ${list.length > 1 ? 'are' : 'is'} not set. Set ${list.length > 1 ? 'them' : 'it'} in the environment (or .env) and restart before switching.`
        : `Live mode without ${list.join(' and ')}: every call fails with PROVIDER_NOT_CONFIGURED. Set ${list.length > 1 ? 'them' : 'it'} or switch back to mock mode.`)
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

async function switchAll (input) {
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

/** Only what changed, for settings stored as objects (a simulation change lists its fields). */
function changeText (from, to) {
  if (from && to && typeof from === 'object' && typeof to === 'object') {
    const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])]
    const parts = keys.filter(k => JSON.stringify(from[k]) !== JSON.stringify(to[k])).map(k => `${k}: ${show(from[k])} → ${show(to[k])}`)
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
  body.replaceChildren(...items.map(c => {
    const [kind, service] = String(c.key).split('.')
    return h('tr', {},
      h('td', {}, h('time', { datetime: c.changed_at, title: new Date(c.changed_at).toLocaleString(), text: ago(c.changed_at) })),
      h('td', { text: c.changed_by ?? '' }),
      h('td', { text: service ? `${label(service)} · ${kind}` : String(c.key) }),
      h('td', { class: 'change', text: changeText(c.from_value, c.to_value) })
    )
  }))
}

// ---------------------------------------------------------------------------------------------
// Activity tab

function filters () {
  const form = /** @type {HTMLFormElement} */ ($('filters'))
  const q = new URLSearchParams()
  for (const key of ['service', 'status', 'request_id']) {
    const v = String(new FormData(form).get(key) ?? '').trim()
    if (v) q.set(key, v)
  }
  q.set('limit', '100')
  return q.toString()
}

async function refreshJournal () {
  const query = filters()
  const seq = ++state.journalSeq
  try {
    const data = await api('GET', `/api/admin/journal?${query}`)
    // A filter change while this was in flight: its own request draws the table.
    if (seq !== state.journalSeq) return
    renderJournal(data.items ?? [], query)
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

function rowSignature (item) { return [item.status, item.updated_at, item.latency_ms, item.error, item.fallback].join('|') }

function fillRow (tr, item) {
  const open = h('button', { type: 'button', class: 'linklike', 'aria-controls': 'detail', 'aria-label': `${when(item.created_at)}, ${label(item.service)} ${item.status}: show details` }, when(item.created_at))
  tr.replaceChildren(
    h('td', {}, h('time', { datetime: item.created_at }, open)),
    h('td', { text: label(item.service) }),
    h('td', {}, h('span', { class: `status ${statusClass(item.status)}`, text: item.status ?? '' })),
    h('td', {}, h('span', { class: `badge ${item.mode === 'live' ? 'live' : 'mock'}`, text: item.mode ?? '' }), item.fallback ? h('span', { class: 'badge fallback', text: 'fallback' }) : null),
    h('td', { class: 'contact', text: item.contact ?? '' }),
    h('td', { class: 'summary' }, item.summary ?? '', item.error ? h('span', { class: 'row-error', text: ` — ${item.error}` }) : null),
    h('td', { class: 'num', text: ms(item.latency_ms) })
  )
  tr.dataset.sig = rowSignature(item)
  tr.dataset.updated = item.updated_at ?? ''
}

function statusClass (status) {
  const st = String(status ?? '').toLowerCase()
  if (/(fail|bounce|drop|error|reject|spam|expired|cancel|busy|no.?answer|undeliver)/.test(st)) return 'bad'
  if (/(pending|queued|sent|processing|accepted|initiated|ringing|scheduled|deferred|started|created)/.test(st)) return 'pending'
  return 'good'
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
    let tr = state.rows.get(key)
    if (!tr) {
      tr = h('tr', { 'data-key': key, 'data-service': item.service, 'data-id': item.id })
      // The whole row opens the details; its time is a button for keyboards.
      tr.addEventListener('click', () => openDetail(tr.dataset.service, tr.dataset.id, true))
      fillRow(tr, item)
      if (state.journalLoaded && !fresh) tr.classList.add('arrived')
      state.rows.set(key, tr)
    } else if (tr.dataset.sig !== rowSignature(item)) {
      fillRow(tr, item)
    }
    const expected = prev ? prev.nextElementSibling : body.firstElementChild
    if (expected !== tr) body.insertBefore(tr, expected)
    prev = tr
  }
  for (const [key, tr] of state.rows) if (!seen.has(key)) { tr.remove(); state.rows.delete(key) }
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
    if (tr && tr.dataset.updated !== open.updated_at) openDetail(open.service, open.id, false)
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
  state.openRow = { service, id, updated_at: tr?.dataset.updated ?? '' }
  markOpenRow()
  const panel = $('detail')
  panel.hidden = false
  const title = $('detail-title')
  if (byPerson) {
    title.textContent = `${label(service)} · loading…`
    message($('detail-message'), '')
  }
  try {
    const data = await api('GET', `/api/admin/journal/${encodeURIComponent(service)}/${encodeURIComponent(id)}`)
    if (state.openRow?.service !== service || state.openRow?.id !== id) return
    const row = data.row ?? {}
    state.openRow.updated_at = row.updated_at ?? state.openRow.updated_at
    title.textContent = `${label(service)} · ${row.status ?? 'details'}`
    message($('detail-message'), '')
    $('detail-body').replaceChildren(...Object.entries(row).flatMap(([k, v]) => [h('dt', { text: k }), detailValue(k, v)]))
  } catch (err) {
    if (err.status === 401) return
    message($('detail-message'), err.status === 404
      ? 'This row no longer exists: it was probably deleted by a reset. Close this panel.'
      : `The details could not be loaded: ${failure(err)}`, 'error')
  }
  if (byPerson) {
    title.focus({ preventScroll: true })
    if (window.matchMedia('(max-width: 1100px)').matches) panel.scrollIntoView({ block: 'nearest', behavior: 'smooth' })
  }
}

function detailValue (key, v) {
  if (v === null || v === undefined) return h('dd', { class: 'hint', text: '—' })
  if (typeof v === 'object') return h('dd', {}, h('pre', { text: JSON.stringify(v, null, 2) }))
  if (typeof v === 'string' && /_at$/.test(key) && !Number.isNaN(Date.parse(v))) {
    return h('dd', {}, h('time', { datetime: v, text: `${new Date(v).toLocaleString()} ` }), h('span', { class: 'hint', text: `(${ago(v)})` }))
  }
  if (typeof v === 'string' && v.length > 120) return h('dd', {}, h('pre', { text: v }))
  return h('dd', { text: String(v) })
}

function closeDetail () {
  const open = state.openRow
  state.openRow = null
  $('detail').hidden = true
  $('detail-body').replaceChildren()
  markOpenRow()
  if (open) state.rows.get(`${open.service}/${open.id}`)?.querySelector('button')?.focus()
}

async function reset () {
  const dialog = /** @type {HTMLDialogElement} */ ($('reset-dialog'))
  dialog.returnValue = ''
  dialog.showModal()
  await new Promise(resolve => dialog.addEventListener('close', resolve, { once: true }))
  if (dialog.returnValue !== 'confirm') return
  const out = $('activity-message')
  delete out.dataset.kind
  message(out, 'Resetting…')
  try {
    const result = await api('POST', '/api/admin/reset')
    const cleared = Object.entries(result.cleared ?? {})
    const total = cleared.reduce((n, [, c]) => n + Number(c || 0), 0)
    const emulators = Object.keys(result.services ?? {}).map(label)
    message(out, `Reset done: ${total} row${total === 1 ? '' : 's'} deleted${cleared.length ? ` (${cleared.filter(([, c]) => c).map(([t, c]) => `${t} ${c}`).join(', ') || 'all tables were empty'})` : ''}${emulators.length ? `; emulators reset: ${emulators.join(', ')}` : ''}.`, 'ok')
    closeDetail()
    state.statuses.clear()
    await refreshJournal()
  } catch (err) {
    if (err.status !== 401) message(out, `Nothing was reset: ${failure(err)}`, 'error')
  }
}

// ---------------------------------------------------------------------------------------------
// Stats tab

async function refreshStats () {
  try {
    const data = await api('GET', `/api/admin/stats?minutes=${STATS_MINUTES}`)
    renderStats(data.services ?? {})
    message($('stats-message'), '')
    $('stats-updated').textContent = `Updated ${timeFmt.format(new Date())}`
  } catch (err) {
    if (err.status !== 401) message($('stats-message'), `The statistics could not be loaded: ${failure(err)}`, 'error')
  }
}

function renderStats (services) {
  const box = $('stats')
  const names = Object.keys(services).sort(byOrder)
  if (!names.length) { box.replaceChildren(h('p', { class: 'empty', text: 'No services report statistics.' })); return }
  box.querySelector(':scope > p')?.remove()
  for (const name of names) {
    let card = document.getElementById(`stats-${name}`)
    if (!card) {
      card = h('article', { class: 'card stats', id: `stats-${name}`, 'data-service': name, 'aria-labelledby': `stats-${name}-title` })
      const next = [...box.children].find(c => byOrder(c.dataset.service, name) > 0)
      box.insertBefore(card, next ?? null)
    }
    const st = services[name]
    const provider = state.settings?.services?.[name]?.provider
    const shownProvider = provider && provider !== label(name) ? provider : ''
    const rate = st.total ? (st.success_rate ?? (st.total - st.failed) / st.total) : null
    const buckets = slots(st.series ?? [])
    card.replaceChildren(
      h('header', { class: 'card-head' }, h('h3', { id: `stats-${name}-title` }, label(name), ' ', h('span', { class: 'provider', text: shownProvider }))),
      h('dl', { class: 'totals' },
        total('Calls', String(st.total ?? 0)),
        total('Failed', String(st.failed ?? 0), st.failed ? 'bad' : ''),
        total('Success rate', pct(rate), rate !== null && rate < 0.9 ? 'bad' : ''),
        total('Avg latency', ms(st.avg_latency_ms))
      ),
      h('figure', { class: 'chart' }, volumeChart(name, buckets), h('figcaption', {}, legend([['ok', 'succeeded'], ['failed', 'failed']]), h('span', { text: 'calls per minute' }))),
      h('figure', { class: 'chart' }, latencyChart(name, buckets), h('figcaption', {}, legend([['latency', 'average latency']]), h('span', { text: 'per minute' })))
    )
  }
  for (const card of [...box.children]) if (card.dataset.service && !names.includes(card.dataset.service)) card.remove()
}

function total (name, value, kind = '') {
  return h('div', { class: `total ${kind}`.trim() }, h('dt', { text: name }), h('dd', { text: value }))
}
function legend (entries) {
  return h('span', { class: 'legend' }, entries.map(([cls, text]) => h('span', { class: `key ${cls}` }, h('span', { class: 'swatch', 'aria-hidden': 'true' }), text)))
}

/** The last 60 minutes as 60 slots, oldest first, each with the API's bucket when there is one. */
function slots (series) {
  const byMinute = new Map()
  let latest = Math.floor(Date.now() / 60000) * 60000
  for (const b of series) {
    const t = Math.floor(Date.parse(b.bucket) / 60000) * 60000
    if (!Number.isFinite(t)) continue
    byMinute.set(t, b)
    if (t > latest) latest = t
  }
  const out = []
  for (let i = STATS_MINUTES - 1; i >= 0; i--) {
    const t = latest - i * 60000
    const b = byMinute.get(t)
    out.push({ t, count: Number(b?.count ?? 0), failed: Number(b?.failed ?? 0), latency: b && b.avg_latency_ms !== null && b.avg_latency_ms !== undefined ? Number(b.avg_latency_ms) : null })
  }
  return out
}

function niceMax (v) {
  if (!(v > 0)) return 1
  const mag = 10 ** Math.floor(Math.log10(v))
  for (const f of [1, 2, 2.5, 5, 10]) if (f * mag >= v) return f * mag
  return 10 * mag
}

const W = 600; const H = 150; const L = 44; const R = 8; const T = 10; const B = 22
const PW = W - L - R; const PH = H - T - B

function frame (name, kind, title, desc, max, fmt, buckets) {
  const id = `chart-${name}-${kind}`
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: `chart-svg ${kind}`, role: 'img', 'aria-labelledby': `${id}-t ${id}-d`, 'data-chart': kind, preserveAspectRatio: 'xMidYMid meet' },
    s('title', { id: `${id}-t`, text: title }),
    s('desc', { id: `${id}-d`, text: desc })
  )
  for (const f of [0, 0.5, 1]) {
    const y = T + PH - f * PH
    svg.append(s('line', { class: f === 0 ? 'axis' : 'grid', x1: L, x2: W - R, y1: y, y2: y }))
    svg.append(s('text', { class: 'tick', x: L - 6, y: y + 4, 'text-anchor': 'end', text: fmt(max * f) }))
  }
  const first = buckets[0]?.t ?? Date.now()
  for (const [i, anchor] of [[0, 'start'], [30, 'middle'], [59, 'end']]) {
    svg.append(s('text', { class: 'tick', x: L + (i + 0.5) * (PW / STATS_MINUTES), y: H - 6, 'text-anchor': anchor, text: i === 59 ? 'now' : minuteFmt.format(new Date(first + i * 60000)) }))
  }
  return svg
}

function volumeChart (name, buckets) {
  const sum = buckets.reduce((a, b) => a + b.count, 0)
  const failed = buckets.reduce((a, b) => a + b.failed, 0)
  const max = niceMax(Math.max(...buckets.map(b => b.count)))
  const svg = frame(name, 'volume', `${label(name)}: calls per minute, last ${STATS_MINUTES} minutes`,
    `${sum} call${sum === 1 ? '' : 's'}, ${failed} failed.`, max, v => Number.isInteger(v) ? String(v) : v.toFixed(1), buckets)
  const bw = PW / STATS_MINUTES
  const y = (v) => (v / max) * PH
  buckets.forEach((b, i) => {
    if (!b.count) return
    const x = L + i * bw + bw * 0.15
    const okH = y(b.count - b.failed)
    const failH = y(b.failed)
    const base = T + PH
    svg.append(s('g', { class: 'bar' },
      s('title', { text: `${minuteFmt.format(new Date(b.t))}: ${b.count} call${b.count === 1 ? '' : 's'}, ${b.failed} failed` }),
      okH > 0 ? s('rect', { class: 'ok', x, y: base - okH, width: bw * 0.7, height: okH }) : null,
      failH > 0 ? s('rect', { class: 'failed', x, y: base - okH - failH, width: bw * 0.7, height: failH }) : null
    ))
  })
  if (!sum) svg.append(s('text', { class: 'empty-note', x: L + PW / 2, y: T + PH / 2, 'text-anchor': 'middle', text: `No calls in the last ${STATS_MINUTES} minutes` }))
  return svg
}

function latencyChart (name, buckets) {
  const points = buckets.map((b, i) => ({ ...b, i })).filter(b => b.latency !== null)
  const max = niceMax(Math.max(0, ...points.map(p => p.latency)))
  const avg = points.length ? points.reduce((a, p) => a + p.latency * (p.count || 1), 0) / points.reduce((a, p) => a + (p.count || 1), 0) : null
  const svg = frame(name, 'latency', `${label(name)}: average latency per minute, last ${STATS_MINUTES} minutes`,
    points.length ? `Average ${ms(avg)}, highest minute ${ms(Math.max(...points.map(p => p.latency)))}.` : 'No calls, so no latency.', max, v => ms(v), buckets)
  const bw = PW / STATS_MINUTES
  const x = (i) => L + (i + 0.5) * bw
  const y = (v) => T + PH - (v / max) * PH
  // Consecutive minutes are joined; a minute with no calls breaks the line.
  let d = ''
  let prevI = -2
  for (const p of points) {
    d += `${p.i === prevI + 1 ? 'L' : 'M'}${x(p.i).toFixed(1)},${y(p.latency).toFixed(1)} `
    prevI = p.i
  }
  if (d) svg.append(s('path', { class: 'line', d: d.trim() }))
  for (const p of points) {
    svg.append(s('circle', { class: 'point', cx: x(p.i).toFixed(1), cy: y(p.latency).toFixed(1), r: 2.5 },
      s('title', { text: `${minuteFmt.format(new Date(p.t))}: ${ms(p.latency)} average over ${p.count} call${p.count === 1 ? '' : 's'}` })))
  }
  if (!points.length) svg.append(s('text', { class: 'empty-note', x: L + PW / 2, y: T + PH / 2, 'text-anchor': 'middle', text: 'No latency to show yet' }))
  return svg
}

// ---------------------------------------------------------------------------------------------
// Wiring

function start () {
  $('signin-form').addEventListener('submit', (e) => {
    e.preventDefault()
    const token = /** @type {HTMLInputElement} */ ($('token')).value.trim()
    if (!token) { message($('signin-message'), 'Enter the admin token.', 'error'); return }
    signIn(token)
  })
  $('sign-out').addEventListener('click', () => signOut('Signed out. The token was removed from this tab.'))
  // "Signed out" is news, not an error.
  $('sign-out').addEventListener('click', () => $('signin-message').classList.remove('error'))

  const tablist = document.querySelector('[role=tablist]')
  for (const t of TABS) $(`tab-${t}`).addEventListener('click', () => selectTab(t))
  tablist.addEventListener('keydown', (e) => {
    const i = TABS.indexOf(state.tab)
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: TABS.length - 1 }[e.key]
    if (next === undefined) return
    e.preventDefault()
    selectTab(TABS[(next + TABS.length) % TABS.length])
  })
  window.addEventListener('hashchange', () => { if (state.signedIn && tabFromHash() !== state.tab) selectTab(tabFromHash(), { focus: false }) })
  document.addEventListener('visibilitychange', () => { if (!document.hidden) poll() })

  $('global-mock').addEventListener('change', (e) => switchAll(e.currentTarget))

  let debounce = 0
  const filtersChanged = () => {
    clearTimeout(debounce)
    debounce = setTimeout(() => { refreshJournal() }, 250)
  }
  $('filters').addEventListener('input', filtersChanged)
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); refreshJournal() })
  $('filters').addEventListener('reset', () => setTimeout(filtersChanged, 0))
  $('live').addEventListener('change', (e) => {
    $('live-state').textContent = e.currentTarget.checked ? 'Updates every 2 seconds.' : 'Live updates paused.'
    if (e.currentTarget.checked) poll()
  })
  $('detail-close').addEventListener('click', closeDetail)
  $('detail').addEventListener('keydown', (e) => { if (e.key === 'Escape') closeDetail() })
  $('reset').addEventListener('click', reset)

  const stored = sessionStorage.getItem(TOKEN_KEY)
  if (stored) signIn(stored, { restoring: true })
  else showSignIn()
}

start()
