// The same on Vitest: `npm install --save-dev @switchboard/cli vitest`, then `npx vitest run`.
// Vitest runs test files in parallel workers; each file starts its own sandbox.
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest'
import { startSwitchboard } from '@switchboard/cli'

let sb
beforeAll(async () => { sb = await startSwitchboard({ seed: 7 }) }, 120_000)
afterAll(() => sb?.close())
beforeEach(() => sb.reset())

test('the welcome email reaches the recipient', async () => {
  const res = await fetch(`${sb.url}/api/automation/trigger/email`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sb.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ to_email: 'deliver+ada@example.com', subject: 'Welcome aboard', content: '<p>Hello!</p>' })
  })
  expect(res.status).toBe(202)
  const email = await sb.waitForEmail({ to: 'deliver+ada@example.com', status: 'delivered' })
  expect(email.subject).toBe('Welcome aboard')
})
