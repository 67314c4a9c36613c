// The Stats tab: totals and per-minute charts (SVG drawn here, so the strict CSP allows them).

import { api, failure } from './api.js'
import { $, h, message, s } from './dom.js'
import { byOrder, label, minuteFmt, ms, pct, timeFmt } from './format.js'
import { state } from './state.js'

const STATS_MINUTES = 60

export async function refreshStats () {
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
      const next = [...(/** @type {HTMLCollectionOf<HTMLElement>} */ (box.children))].find(c => byOrder(c.dataset.service, name) > 0)
      box.insertBefore(card, next ?? null)
    }
    const st = services[name]
    const provider = state.settings?.services?.[name]?.provider
    const shownProvider = provider && provider !== label(name) ? provider : ''
    const errors = Number(st.errors ?? st.failed ?? 0)
    const outcomes = Number(st.outcomes ?? 0)
    const rate = st.total ? (st.success_rate ?? (st.total - errors) / st.total) : null
    const buckets = slots(st.series ?? [])
    const byOutcome = Object.entries(st.by_outcome ?? {}).filter(([, n]) => Number(n) > 0)
    const meetings = st.meetings
    card.replaceChildren(
      h('header', { class: 'card-head' }, h('h3', { id: `stats-${name}-title` }, label(name), ' ', h('span', { class: 'provider', text: shownProvider }))),
      h('dl', { class: 'totals' },
        total('Calls', String(st.total ?? 0)),
        total('Errors', String(errors), errors ? 'bad' : ''),
        total('Outcomes', String(outcomes), outcomes ? 'outcome' : ''),
        total('Success rate', pct(rate), rate !== null && rate < 0.9 ? 'bad' : ''),
        total('Avg latency', ms(st.avg_latency_ms))
      ),
      h('p', { class: 'hint small outcomes', 'data-slot': 'outcomes' }, byOutcome.length
        ? `Outcomes — the provider did its job and reported: ${byOutcome.map(([k, n]) => `${n} ${k}`).join(', ')}. They are not failures and do not lower the success rate.`
        : 'Errors are calls the provider refused or failed; outcomes (a bounce, a declined payment, a busy line) are not failures.'),
      ...(meetings
        ? [h('dl', { class: 'totals meetings', 'aria-label': 'Zoom meetings' },
            total('Meetings created', String(meetings.created ?? 0)),
            total('Started', String(meetings.started ?? 0)),
            total('Ended', String(meetings.ended ?? 0)),
            total('Recordings', String(meetings.recordings ?? 0))
          )]
        : []),
      h('figure', { class: 'chart' }, volumeChart(name, buckets), h('figcaption', {}, legend([['ok', 'succeeded'], ['outcome', 'outcome'], ['failed', 'error']]), h('span', { text: 'calls per minute' }))),
      h('figure', { class: 'chart' }, latencyChart(name, buckets), h('figcaption', {}, legend([['latency', 'average latency']]), h('span', { text: 'per minute' })))
    )
  }
  for (const card of [...(/** @type {HTMLCollectionOf<HTMLElement>} */ (box.children))]) if (card.dataset.service && !names.includes(card.dataset.service)) card.remove()
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
    out.push({ t, count: Number(b?.count ?? 0), failed: Number(b?.failed ?? 0), outcomes: Number(b?.outcomes ?? 0), latency: b && b.avg_latency_ms !== null && b.avg_latency_ms !== undefined ? Number(b.avg_latency_ms) : null })
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
  for (const [i, anchor] of /** @type {Array<[number, string]>} */ ([[0, 'start'], [30, 'middle'], [59, 'end']])) {
    svg.append(s('text', { class: 'tick', x: L + (i + 0.5) * (PW / STATS_MINUTES), y: H - 6, 'text-anchor': anchor, text: i === 59 ? 'now' : minuteFmt.format(new Date(first + i * 60000)) }))
  }
  return svg
}

function volumeChart (name, buckets) {
  const sum = buckets.reduce((a, b) => a + b.count, 0)
  const failed = buckets.reduce((a, b) => a + b.failed, 0)
  const outcomes = buckets.reduce((a, b) => a + b.outcomes, 0)
  const max = niceMax(Math.max(...buckets.map(b => b.count)))
  const svg = frame(name, 'volume', `${label(name)}: calls per minute, last ${STATS_MINUTES} minutes`,
    `${sum} call${sum === 1 ? '' : 's'}, ${failed} error${failed === 1 ? '' : 's'}, ${outcomes} outcome${outcomes === 1 ? '' : 's'} (bounced, declined, not answered…).`, max, v => Number.isInteger(v) ? String(v) : v.toFixed(1), buckets)
  const bw = PW / STATS_MINUTES
  const y = (v) => (v / max) * PH
  buckets.forEach((b, i) => {
    if (!b.count) return
    const x = L + i * bw + bw * 0.15
    const okH = y(b.count - b.failed - b.outcomes)
    const outH = y(b.outcomes)
    const failH = y(b.failed)
    const base = T + PH
    svg.append(s('g', { class: 'bar' },
      s('title', { text: `${minuteFmt.format(new Date(b.t))}: ${b.count} call${b.count === 1 ? '' : 's'}, ${b.failed} error${b.failed === 1 ? '' : 's'}, ${b.outcomes} outcome${b.outcomes === 1 ? '' : 's'}` }),
      okH > 0 ? s('rect', { class: 'ok', x, y: base - okH, width: bw * 0.7, height: okH }) : null,
      outH > 0 ? s('rect', { class: 'outcome', x, y: base - okH - outH, width: bw * 0.7, height: outH }) : null,
      failH > 0 ? s('rect', { class: 'failed', x, y: base - okH - outH - failH, width: bw * 0.7, height: failH }) : null
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
