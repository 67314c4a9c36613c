// Live updates: one server-sent event stream (GET /api/admin/activity/stream), read with fetch so
// it carries the admin token in the Authorization header like every other call (EventSource cannot
// set headers). Each "activity" event is an item created or changed; listeners decide what to do.
// Reconnects with a growing pause when the stream ends or fails; stops on sign-out.

import { state } from './state.js'

/** @type {Set<(item: any) => void>} */
const listeners = new Set()
/** @type {Set<(on: boolean) => void>} */
const statusListeners = new Set()
let controller = /** @type {AbortController | null} */ (null)
let retry = 0
let connected = false

export function onActivity (/** @type {(item: any) => void} */ fn) { listeners.add(fn) }
export function onLiveStatus (/** @type {(on: boolean) => void} */ fn) { statusListeners.add(fn) }
export const isLive = () => connected

function setConnected (on) {
  if (connected === on) return
  connected = on
  for (const fn of statusListeners) fn(on)
}

export function startLive () {
  if (controller || !state.token) return
  const mine = new AbortController()
  controller = mine
  run(mine).catch(() => {}).finally(() => {
    setConnected(false)
    if (controller !== mine) return
    controller = null
    if (!state.signedIn) return
    retry = Math.min(retry + 1, 5)
    setTimeout(() => { if (state.signedIn) startLive() }, 1000 * retry)
  })
}

export function stopLive () {
  const c = controller
  controller = null
  c?.abort()
  setConnected(false)
}

async function run (/** @type {AbortController} */ c) {
  const res = await fetch('/api/admin/activity/stream', { headers: { authorization: `Bearer ${state.token}`, accept: 'text/event-stream' }, cache: 'no-store', signal: c.signal })
  if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`)
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value
    let end
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '')
      let event = 'message'
      const data = []
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':')) continue
        const i = line.indexOf(':')
        const field = i < 0 ? line : line.slice(0, i)
        const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '')
        if (field === 'event') event = val
        else if (field === 'data') data.push(val)
      }
      if (event === 'ready') { retry = 0; setConnected(true) }
      if (event === 'activity' && data.length) {
        let item
        try { item = JSON.parse(data.join('\n')) } catch { continue }
        for (const fn of listeners) { try { fn(item) } catch { /* one view's bug does not stop the others */ } }
      }
    }
  }
}
