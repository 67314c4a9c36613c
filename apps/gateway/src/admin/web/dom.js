// DOM helpers: every value reaches the page through textContent or an attribute, never as HTML.

export const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id))

/**
 * Creates an element. attrs: class, text, dataset-free plain attributes, on<event> handlers, booleans.
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  setAttrs(el, attrs)
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c)
  return el
}
const SVG = 'http://www.w3.org/2000/svg'
/**
 * Creates an SVG element, as h does.
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...any} children
 * @returns {SVGElement}
 */
export function s (tag, attrs = {}, ...children) {
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

export function message (el, text, kind = '') {
  el.textContent = text ?? ''
  el.className = `message ${kind}`.trim()
}

export function slot (card, name) { return card.querySelector(`[data-slot="${name}"]`) }

/** Where a side panel becomes a full-screen dialog: the width below which it would open below the list. */
export const NARROW = '(max-width: 1100px)'

/**
 * Opens a <dialog> side panel: beside the list on a wide screen (non-modal), and on a narrow one as
 * a modal dialog over the page, where the person is looking (focus kept inside, Escape closes).
 * Called again when the width crosses NARROW, it reopens the panel in the other form.
 * @param {HTMLDialogElement} dialog
 */
export function showPanel (dialog) {
  const modal = window.matchMedia(NARROW).matches
  if (dialog.open && dialog.matches(':modal') === modal) return
  if (dialog.open) { dialog.dataset.reopening = '1'; dialog.close(); delete dialog.dataset.reopening }
  if (modal) dialog.showModal(); else dialog.show()
}

/**
 * Wires a side panel's closing: Escape (native on the modal form) and the width changing.
 * @param {HTMLDialogElement} dialog
 * @param {() => void} onClose what closing means to the page (forget the open row, restore focus)
 */
export function panelBehaviour (dialog, onClose) {
  dialog.addEventListener('cancel', (e) => { e.preventDefault(); onClose() })
  dialog.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.preventDefault(); onClose() } })
  window.matchMedia(NARROW).addEventListener('change', () => { if (dialog.open) showPanel(dialog) })
}
