/**
 * The admin page's HTML: the structure of every tab, rendered by the server. It holds no data
 * (nothing here needs the admin token); web/main.js fills it in from /api/admin/* once signed in.
 */

import { SERVICE_NAMES, type ServiceName } from '@switchboard/service-kit/services'

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')

// A plain "S" on a dark tile, so the browser does not ask for /favicon.ico.
const FAVICON = 'data:image/svg+xml,' + encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1f3a5f"/><text x="8" y="12" font-size="11" text-anchor="middle" fill="#fff" font-family="sans-serif">S</text></svg>')

const SCENARIOS: Array<[string, string]> = [
  ['none', 'None — normal behaviour'],
  ['outage', 'Outage — every call fails'],
  ['rate_limit', 'Rate limit — calls are throttled'],
  ['slow', 'Slow — much higher latency'],
  ['timeout', 'Timeout — calls never answer in time']
]

/**
 * What the page shows of each service: its name in lists and headings (label), its tab, and its
 * channel view (what it lists, what a search reaches). Typed by ServiceName, so a sixth service
 * does not compile until it has its entry; the tabs follow this record's order, every other list on
 * the page the services' own order (service-kit's SERVICE_NAMES, written into the shell below).
 */
const CHANNELS: Record<ServiceName, { label: string, tab: string, title: string, hint: string, search: string, list: string }> = {
  email: { label: 'Email', tab: 'Email', title: 'Email inbox', hint: 'Every email SendGrid was asked to send, through Switchboard or straight to the emulator. Open one for its HTML (rendered in a sandboxed frame: no scripts, no remote loads), text, source and headers.', search: 'recipient, subject, text, id', list: 'Emails' },
  whatsapp: { label: 'WhatsApp', tab: 'WhatsApp', title: 'WhatsApp', hint: 'One thread per number: each template as the person sees it, with its media, buttons and ticks (✓ sent, ✓✓ delivered, blue ✓✓ read), and their replies.', search: 'number, template, text, id', list: 'Threads' },
  voice: { label: 'Voice', tab: 'Calls', title: 'Calls', hint: 'Every call Bolna was asked to place: its status timeline, the transcript as a conversation and the recording.', search: 'number, agent, transcript, id', list: 'Calls' },
  payments: { label: 'Payments', tab: 'Payments', title: 'Payments', hint: 'Every payment link: the link, its status timeline, the buyer\'s steps on the checkout page and Instamojo\'s webhook.', search: 'buyer, purpose, id', list: 'Payment links' },
  zoom: { label: 'Zoom', tab: 'Zoom', title: 'Zoom', hint: 'Every request to the Zoom API, through Switchboard or direct: meetings with their settings, lifecycle (started, ended) and recordings.', search: 'topic, meeting id, path', list: 'Zoom requests' }
}

/**
 * The tabs, in order. A tab is a button here, a panel below (its id panel-<name>) and, in
 * web/main.js, an entry of REFRESH that draws it; adding one is those three lines. A service's tab
 * comes from CHANNELS.
 */
export const TABS: Array<[string, string]> = [
  ['development', 'Development'], ['activity', 'Activity'],
  ...Object.entries(CHANNELS).map(([name, c]): [string, string] => [name, c.tab]),
  ['stats', 'Stats']
]

function channelPanel ([name, c]: [string, typeof CHANNELS[ServiceName]]): string {
  const id = (part: string) => `${name}-${part}`
  return `
    <section id="panel-${name}" class="panel channel" role="tabpanel" aria-labelledby="tab-${name}" tabindex="0" data-channel="${name}" hidden>
      <div class="panel-head">
        <div>
          <h2>${escapeAttr(c.title)}</h2>
          <p class="hint">${escapeAttr(c.hint)}</p>
        </div>
        <p class="hint live-note" data-slot="live" role="status" aria-live="polite"></p>
      </div>
      <form class="filters" role="search" aria-label="Search ${escapeAttr(c.title)}" data-slot="filters">
        <div class="field grow"><label for="${id('q')}">Search</label><input id="${id('q')}" name="q" type="search" maxlength="200" placeholder="${escapeAttr(c.search)}" spellcheck="false"></div>
        <div class="field"><label for="${id('since')}">Time</label><select id="${id('since')}" name="since"><option value="">Any time</option><option value="15">Last 15 minutes</option><option value="60">Last hour</option><option value="1440">Last 24 hours</option><option value="10080">Last 7 days</option></select></div>
        <div class="field"><label for="${id('direct')}">Sent</label><select id="${id('direct')}" name="direct"><option value="">Any way</option><option value="false">Through Switchboard</option><option value="true">Straight to the emulator</option></select></div>
      </form>
      <p class="message" data-slot="message" role="status"></p>
      <div class="split">
        <div class="list-wrap">
          <ul class="items" data-slot="list" aria-label="${escapeAttr(c.list)}"></ul>
          <p class="empty" data-slot="empty" hidden></p>
          <div class="row more"><button type="button" class="button" data-slot="more" hidden>Load older</button></div>
        </div>
        <dialog id="${id('inspect')}" class="detail inspect" aria-labelledby="${id('inspect-title')}">
          <div class="detail-head">
            <h3 id="${id('inspect-title')}" tabindex="-1">Details</h3>
            <button type="button" class="button ghost" data-slot="close" aria-label="Close details">Close</button>
          </div>
          <p class="message" data-slot="detail-message" role="status"></p>
          <div data-slot="detail-body"></div>
        </dialog>
      </div>
    </section>`
}

export function renderShell (assets: { script: string, style: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Switchboard admin</title>
<link rel="icon" href="${escapeAttr(FAVICON)}">
<link rel="stylesheet" href="${escapeAttr(assets.style)}">
<script type="module" src="${escapeAttr(assets.script)}"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="topbar">
  <h1 class="brand">Switchboard <span class="brand-sub">admin</span></h1>
  <p id="connection" class="connection" role="status" aria-live="polite"></p>
  <button type="button" id="sign-out" class="button ghost" hidden>Sign out</button>
</header>

<main id="main" tabindex="-1">
  <noscript><p class="banner error">This page needs JavaScript. The same settings are available through the admin API: see <a href="/docs">/docs</a>.</p></noscript>
  <p id="banner" class="banner" role="alert" hidden></p>

  <section id="signin" class="signin" aria-labelledby="signin-title" hidden>
    <h2 id="signin-title">Sign in</h2>
    <p>Enter the <strong>admin token</strong>. It is printed by <code>./switchboard start</code> (or
      <code>npx switchboard env</code> from the npm package), kept in <code>tokens.json</code> in the data
      folder (<code>.data/</code>, or <code>.switchboard/</code> for the package), or set with
      <code>ADMIN_TOKEN</code>. The page keeps it in this tab only
      (session storage) and sends it as <code>Authorization: Bearer</code> to <code>/api/admin/*</code>.</p>
    <form id="signin-form" class="stack" autocomplete="off">
      <label for="token">Admin token</label>
      <input id="token" name="token" type="password" required minlength="1" spellcheck="false" autocomplete="current-password" aria-describedby="signin-message">
      <p id="signin-message" class="message error" role="alert"></p>
      <div><button type="submit" class="button primary">Sign in</button></div>
    </form>
  </section>

  <div id="app" hidden>
    <nav class="tabs" role="tablist" aria-label="Admin sections">
      ${TABS.map(([name, text], i) => `<button type="button" role="tab" id="tab-${name}" aria-controls="panel-${name}" aria-selected="${i === 0}"${i === 0 ? '' : ' tabindex="-1"'}>${escapeAttr(text)}</button>`).join('\n      ')}
    </nav>

    <section id="panel-development" class="panel" role="tabpanel" aria-labelledby="tab-development" tabindex="0">
      <div class="panel-head">
        <div>
          <h2>Development</h2>
          <p class="hint">Mock mode answers every call from the service's own provider emulator: no keys, no cost, no internet. Live mode calls the real provider with the keys from the environment.</p>
        </div>
        <div class="global-switch">
          <label class="switch">
            <input type="checkbox" role="switch" id="global-mock">
            <span class="switch-track" aria-hidden="true"></span>
            <span class="switch-label">Mock mode <span class="hint">(all services except Zoom)</span></span>
          </label>
          <p id="global-message" class="message" role="status" aria-live="polite"></p>
        </div>
      </div>
      <div id="services" class="cards" aria-busy="true"><p class="hint">Loading services…</p></div>
      <template id="service-names">${SERVICE_NAMES.map(name => `<option value="${name}">${escapeAttr(CHANNELS[name].label)}</option>`).join('')}</template>
      <template id="scenario-options">${SCENARIOS.map(([v, label]) => `<option value="${v}">${escapeAttr(label)}</option>`).join('')}</template>

      <section id="playground" class="playground" aria-label="Test clock and scenarios"></section>

      <h3 id="changes-title">Recent settings changes</h3>
      <div class="table-wrap" tabindex="0" role="region" aria-labelledby="changes-title">
        <table class="table" aria-labelledby="changes-title">
          <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Setting</th><th scope="col">From → to</th></tr></thead>
          <tbody id="changes"><tr><td colspan="4" class="hint">No changes yet.</td></tr></tbody>
        </table>
      </div>
    </section>

    <section id="panel-activity" class="panel" role="tabpanel" aria-labelledby="tab-activity" tabindex="0" hidden>
      <div class="panel-head">
        <div>
          <h2>Activity</h2>
          <p class="hint">Every call each service made, Zoom's requests and the traffic sent straight to an emulator (marked direct), newest first. <span id="live-state">Updates every 2 seconds.</span></p>
        </div>
        <div class="actions">
          <label class="check"><input type="checkbox" id="live" checked> Live updates</label>
          <button type="button" id="reset" class="button danger">Reset…</button>
        </div>
      </div>
      <form id="filters" class="filters" role="search" aria-label="Filter the journal">
        <div class="field"><label for="f-service">Service</label><select id="f-service" name="service"><option value="">All services</option></select></div>
        <div class="field"><label for="f-status">Status</label><input id="f-status" name="status" list="statuses" placeholder="any" spellcheck="false"><datalist id="statuses"></datalist></div>
        <div class="field grow"><label for="f-request">Search</label><input id="f-request" name="q" type="search" maxlength="200" placeholder="request id, recipient, subject, content, any id" spellcheck="false"></div>
        <div class="field"><button type="reset" class="button ghost">Clear filters</button></div>
      </form>
      <p id="activity-message" class="message" role="status" aria-live="polite"></p>
      <div class="split">
        <div class="table-wrap" tabindex="0" role="region" aria-label="Journal">
          <table class="table journal" aria-describedby="journal-caption">
            <caption id="journal-caption" class="visually-hidden">Journal rows; choose a row to see everything recorded about it.</caption>
            <thead><tr><th scope="col">Time</th><th scope="col">Service</th><th scope="col">Status</th><th scope="col">Mode</th><th scope="col">To</th><th scope="col">Summary</th><th scope="col" class="num">Latency</th></tr></thead>
            <tbody id="journal"></tbody>
          </table>
          <p id="journal-empty" class="empty" hidden>Nothing recorded yet. Send a message through the API and it appears here.</p>
        </div>
        <dialog id="detail" class="detail" aria-labelledby="detail-title">
          <div class="detail-head">
            <h3 id="detail-title" tabindex="-1">Details</h3>
            <button type="button" id="detail-close" class="button ghost" aria-label="Close details">Close</button>
          </div>
          <p id="detail-message" class="message" role="status"></p>
          <dl id="detail-body" class="kv"></dl>
          <div id="detail-inspect"></div>
        </dialog>
      </div>
      <dialog id="reset-dialog" aria-labelledby="reset-title">
        <form method="dialog" class="stack">
          <h3 id="reset-title">Reset everything?</h3>
          <p>This deletes every journal row of every service and resets each emulator's state (messages, payment requests, calls, meetings). Modes are kept. It cannot be undone.</p>
          <label class="check"><input type="checkbox" id="reset-settings"> Also restore the simulation settings (latency, success rate, seed, scenario, fallback) to their defaults</label>
          <div class="row end">
            <button value="cancel" class="button ghost" autofocus>Cancel</button>
            <button value="confirm" class="button danger">Delete and reset</button>
          </div>
        </form>
      </dialog>
    </section>

${Object.entries(CHANNELS).map(channelPanel).join('\n')}

    <section id="panel-stats" class="panel" role="tabpanel" aria-labelledby="tab-stats" tabindex="0" hidden>
      <div class="panel-head">
        <div>
          <h2>Stats</h2>
          <p class="hint">The last 60 minutes, per minute. Bars: calls, with errors (the provider refused or failed) in red and business outcomes (bounced, declined, busy, no answer) in amber: those are the provider doing its job, not failures. Line: average latency.</p>
        </div>
        <p id="stats-updated" class="hint" role="status" aria-live="polite"></p>
      </div>
      <p id="stats-message" class="message" role="status"></p>
      <div id="stats" class="cards wide"></div>
    </section>
  </div>
</main>
</body>
</html>
`
}
