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
