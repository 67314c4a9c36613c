/** The emulator's hosted checkout page: plain server-rendered HTML, inline CSS, no external assets. */

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

const STYLE = `
  body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #f4f5f7; margin: 0; color: #1f2933; }
  main { max-width: 420px; margin: 48px auto; background: #fff; border-radius: 10px; box-shadow: 0 2px 12px rgba(0,0,0,.08); padding: 28px; }
  h1 { font-size: 18px; margin: 0 0 4px; }
  .amount { font-size: 32px; font-weight: 700; margin: 16px 0; }
  .muted { color: #616e7c; font-size: 13px; }
  .banner { background: #fff4d6; border: 1px solid #f0c14b; border-radius: 6px; padding: 8px 10px; font-size: 13px; margin-bottom: 18px; }
  label { display: block; font-size: 13px; margin: 12px 0 4px; }
  input, select { width: 100%; box-sizing: border-box; padding: 8px; border: 1px solid #cbd2d9; border-radius: 6px; font-size: 14px; }
  .buttons { display: flex; gap: 10px; margin-top: 20px; }
  button { flex: 1; padding: 11px; border: 0; border-radius: 6px; font-size: 15px; cursor: pointer; }
  #pay { background: #2f9e44; color: #fff; }
  #fail { background: #e8eaed; color: #b42318; }
  .status { font-size: 22px; font-weight: 700; margin: 12px 0; }
  .ok { color: #2f9e44; } .bad { color: #b42318; }
  code { font-size: 12px; }
`

function layout (title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main>
<div class="banner">Switchboard Instamojo emulator: no real money moves.</div>
${body}
</main></body></html>`
}

export interface CheckoutView {
  requestId: string
  purpose: string
  amount: string
  buyerName: string | null
  email: string | null
  phone: string | null
  /** Form target (relative to the page). */
  action: string
  /** Why the request cannot be paid (paid already, expired), if so. */
  closed?: string
}

export function checkoutPage (v: CheckoutView): string {
  const field = (id: string, label: string, value: string | null, type = 'text') =>
    `<label for="${id}">${label}</label><input id="${id}" name="${id}" type="${type}" value="${escapeHtml(value ?? '')}">`
  if (v.closed) {
    return layout(`Payment for ${v.purpose}`, `<h1>${escapeHtml(v.purpose)}</h1>
<div class="amount">₹${escapeHtml(v.amount)}</div>
<p id="closed" class="status bad">${escapeHtml(v.closed)}</p>`)
  }
  return layout(`Payment for ${v.purpose}`, `<h1>${escapeHtml(v.purpose)}</h1>
<div class="muted">Payment request <code>${escapeHtml(v.requestId)}</code></div>
<div class="amount" id="amount">₹${escapeHtml(v.amount)}</div>
<form method="post" action="${escapeHtml(v.action)}">
${field('buyer_name', 'Name', v.buyerName)}
${field('email', 'Email', v.email, 'email')}
${field('phone', 'Phone', v.phone, 'tel')}
<label for="instrument">Pay with</label>
<select id="instrument" name="instrument">
  <option value="UPI">UPI</option><option value="CARD">Card</option><option value="NETBANKING">Net banking</option><option value="WALLET">Wallet</option>
</select>
<div class="buttons">
  <button id="pay" type="submit" name="outcome" value="success">Pay ₹${escapeHtml(v.amount)}</button>
  <button id="fail" type="submit" name="outcome" value="failure">Fail payment</button>
</div>
</form>`)
}

export interface ReceiptView {
  purpose: string
  amount: string
  paymentId: string
  status: 'Credit' | 'Failed'
  failure: string | null
}

/** Shown when the payment request has no redirect_url. */
export function receiptPage (v: ReceiptView): string {
  const ok = v.status === 'Credit'
  return layout(ok ? 'Payment successful' : 'Payment failed', `<h1>${escapeHtml(v.purpose)}</h1>
<div class="amount">₹${escapeHtml(v.amount)}</div>
<p id="result" class="status ${ok ? 'ok' : 'bad'}" data-status="${v.status}">${ok ? 'Payment successful' : 'Payment failed'}</p>
${v.failure ? `<p class="muted">${escapeHtml(v.failure)}</p>` : ''}
<p class="muted">Payment id <code id="payment-id">${escapeHtml(v.paymentId)}</code></p>`)
}

export function notFoundPage (): string {
  return layout('Not found', '<h1>Payment request not found</h1><p class="muted">The link is wrong, or the emulator was restarted (its state is in memory).</p>')
}
