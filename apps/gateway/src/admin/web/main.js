// Switchboard admin page. Plain ES modules with no dependencies and no build step: the gateway
// serves these files as they are. It signs in with the admin token, keeps it in sessionStorage, sends
// it as `Authorization: Bearer` on every /api/admin/* call, and draws the three tabs from the admin API.

import { refreshJournal, closeDetail, reset } from './activity.js'
import { api, failure, onUnauthorized, setConnection } from './api.js'
import { refreshDevelopment, renderSettings, switchAll } from './development.js'
import { $, message, panelBehaviour } from './dom.js'
import { refreshEvents } from './events.js'
import { mountPlayground, refreshPlayground } from './playground.js'
import { state } from './state.js'
import { refreshStats } from './stats.js'
import { CHANNELS, refreshFirstPage, startInspect, upsert } from './inspect.js'
import { isLive, onActivity, onLiveStatus, startLive, stopLive } from './live.js'

const TOKEN_KEY = 'switchboard.adminToken'
/**
 * Each tab: how it refreshes, and how often while it is shown (0: only when it opens; live updates
 * arrive by server-sent events). The tabs are the page's tab buttons, in order (page.ts names them).
 * @type {Record<string, { refresh: () => Promise<void>, every: () => number }>}
 */
const REFRESH = {
  development: {
    refresh: async () => {
      mountPlayground($('playground'))
      await Promise.all([refreshDevelopment(), refreshEvents(), refreshPlayground().catch(() => {})])
    },
    every: () => 5000
  },
  // The journal and the channel views follow the live stream; they poll every 2 s only while the
  // stream is down, and otherwise every 10 s as a safety net (which also notices a revoked token:
  // an open stream is not asked for it again).
  activity: { refresh: () => (/** @type {HTMLInputElement} */ ($('live')).checked || !state.journalLoaded) ? refreshJournal() : Promise.resolve(), every: () => isLive() ? 10000 : 2000 },
  stats: { refresh: refreshStats, every: () => 10000 },
  ...Object.fromEntries(CHANNELS.map(c => [c, { refresh: () => refreshFirstPage(c), every: () => isLive() ? 10000 : 2000 }]))
}
const TABS = [...document.querySelectorAll('[role=tablist] [role=tab]')].map(t => t.id.replace(/^tab-/, '')).filter(name => name in REFRESH)

function showSignIn (text) {
  state.signedIn = false
  clearTimeout(state.timer)
  stopLive()
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
  const button = /** @type {HTMLButtonElement} */ ($('signin-form').querySelector('button[type=submit]'))
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
    startLive()
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
      await REFRESH[tab].refresh()
    } catch { /* each refresh shows its own errors */ }
  }
  if (state.signedIn && state.tab === tab) {
    clearTimeout(state.timer)
    state.timer = setTimeout(poll, REFRESH[tab].every())
  }
}

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

  const tablist = /** @type {HTMLElement} */ (document.querySelector('[role=tablist]'))
  for (const t of TABS) $(`tab-${t}`).addEventListener('click', () => selectTab(t))
  tablist.addEventListener('keydown', (/** @type {KeyboardEvent} */ e) => {
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
  const live = /** @type {HTMLInputElement} */ ($('live'))
  const liveText = () => live.checked ? (isLive() ? 'Live: new activity arrives as it happens.' : 'Updates every 2 seconds (the live stream is reconnecting).') : 'Live updates paused.'
  live.addEventListener('change', () => {
    $('live-state').textContent = liveText()
    if (live.checked) poll()
  })
  onLiveStatus((on) => {
    $('live-state').textContent = liveText()
    for (const c of CHANNELS) {
      const note = /** @type {HTMLElement | null} */ (document.querySelector(`#panel-${c} [data-slot=live]`))
      if (note) note.textContent = on ? '● Live' : 'Reconnecting…'
    }
    // Back from a gap: what changed meanwhile is fetched once.
    if (on && state.signedIn) poll()
  })
  let journalDebounce = 0
  onActivity((item) => {
    upsert(item)
    if (state.tab === 'activity' && live.checked && !document.hidden) {
      clearTimeout(journalDebounce)
      journalDebounce = setTimeout(() => { refreshJournal() }, 150)
    }
  })
  startInspect()
  $('detail-close').addEventListener('click', closeDetail)
  panelBehaviour(/** @type {HTMLDialogElement} */ ($('detail')), closeDetail)
  $('reset').addEventListener('click', reset)

  const stored = sessionStorage.getItem(TOKEN_KEY)
  if (stored) signIn(stored, { restoring: true })
  else showSignIn()
}

onUnauthorized(signOut)
start()
