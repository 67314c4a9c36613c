// The admin API: one fetch wrapper that sends the admin token, reads our error envelope and turns
// every failure into a message a person can act on.

import { $ } from './dom.js'
import { state } from './state.js'

export class ApiError extends Error {
  constructor (status, code, message, requestId) {
    super(message)
    this.status = status
    this.code = code
    this.requestId = requestId
  }
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

/** What a 401 does: the page (main.js) signs out with the message. */
let unauthorized = (/** @type {string} */ _text) => {}
export function onUnauthorized (/** @type {(text: string) => void} */ fn) { unauthorized = fn }

export async function api (method, path, body) {
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
      : 'The gateway refused this token (401 Unauthorized). Copy the admin token again from tokens.json in the data folder (.data/, or .switchboard/ for the npm package; npx switchboard env prints it) or ADMIN_TOKEN, and retry.'
    unauthorized(message)
    throw new ApiError(401, 'UNAUTHORIZED', message, requestId)
  }
  if (!res.ok) throw new ApiError(res.status, data?.code, describeFailure(res.status, data, path, requestId), requestId)
  return data
}

export function setConnection (ok) {
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

/** The message for a failed action; a 401 already took the person to the sign-in form. */
export function failure (err) {
  return err instanceof ApiError ? err.message : `Something went wrong in the page: ${err?.message ?? err}. Reload the page and try again.`
}
