// A team's test suite on node:test, with its own sandbox: `npm install --save-dev @switchboard/cli`,
// then `node --test`. Every test file gets its own stack on free ports and its own data folder, so
// node's parallel test files never share state.
import assert from 'node:assert/strict'
import { after, before, beforeEach, test } from 'node:test'
import { startSwitchboard } from '@switchboard/cli'

let sb
before(async () => { sb = await startSwitchboard({ seed: 7 }) })
after(() => sb?.close())
beforeEach(() => sb.reset())

// What the app under test does: it reads the gateway's URL and API token from its configuration.
async function sendWelcomeEmail (to) {
  const res = await fetch(`${sb.url}/api/automation/trigger/email`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sb.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ to_email: to, subject: 'Welcome aboard', content: '<p>Hello!</p>' })
  })
  return { status: res.status, body: await res.json() }
}

test('the welcome email reaches the recipient', async () => {
  const sent = await sendWelcomeEmail('deliver+ada@example.com')
  assert.equal(sent.status, 202)
  const email = await sb.waitForEmail({ to: 'deliver+ada@example.com', status: 'delivered' })
  assert.equal(email.subject, 'Welcome aboard')
})

test('a bouncing address is reported as bounced', async () => {
  await sendWelcomeEmail('bounce@example.com')
  const email = await sb.waitForEmail({ to: 'bounce@example.com', status: 'bounced' })
  assert.equal(email.mode, 'mock')
})

test('reset() starts each test from an empty journal', async () => {
  assert.deepEqual(await sb.journal(), [])
})
