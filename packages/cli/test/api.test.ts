import t from 'tap'
import { existsSync } from 'node:fs'
import { SERVICE_NAMES } from '@switchboard/service-kit/services'
import { SERVICES, startSwitchboard, type Switchboard } from '../src/index.ts'

/** startSwitchboard() as parallel test workers use it: two stacks at once, each its own. */
t.setTimeout(300_000)

async function sendEmail (sb: Switchboard, to: string, subject: string, body: { content: string, content_type?: string } = { content: '<p>Hi</p>' }): Promise<number> {
  const res = await fetch(`${sb.url}/api/automation/trigger/email`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sb.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ to_email: to, subject, ...body })
  })
  await res.arrayBuffer()
  return res.status
}

t.test("the package's service list is the workspace's", async t => {
  t.same(SERVICES, SERVICE_NAMES)
})

t.test('two instances started together share no port, folder, token or data', async t => {
  const [a, b] = await Promise.all([startSwitchboard({ seed: 1 }), startSwitchboard({ seed: 2 })])
  t.teardown(async () => { await a.close(); await b.close() })

  const ports = [...Object.values(a.urls), ...Object.values(b.urls)].map(u => new URL(u).port)
  const servers = 2 * (SERVICES.length + 1) // each instance: its services and its gateway
  t.equal(new Set(ports).size, servers, `${servers} servers, ${servers} ports`)
  t.not(a.dataDir, b.dataDir)
  t.not(a.apiToken, b.apiToken)
  for (const sb of [a, b]) {
    const ready = await fetch(`${sb.url}/ready`)
    t.equal(ready.status, 200, `${sb.url} is ready, its gateway forwarding to its own services`)
    await ready.arrayBuffer()
  }

  t.equal(await sendEmail(a, 'deliver+a@example.com', 'Only in A'), 202)
  const email = await a.waitForEmail({ to: 'deliver+a@example.com', status: 'delivered' })
  t.match(email, { to: 'deliver+a@example.com', subject: 'Only in A', status: 'delivered', mode: 'mock' })
  t.match(email.providerMessageId, /\S+/, 'with the id SendGrid (the emulator) gave it')
  t.match(email, { html: '<p>Hi</p>', text: null }, 'and what was sent: the HTML body')
  t.match(await a.waitForEmail({ to: 'Deliver+A@Example.com', status: 'delivered' }), { id: email.id }, 'an address matches whatever its case')
  await t.rejects(a.waitForEmail({ to: 'deliver+a@example.com', status: 'deliverd', timeoutMs: 60_000 }), /no email ever has status "deliverd"; one of .*delivered/, 'a status no email has is refused at once')
  t.equal(await sendEmail(a, 'deliver+text@example.com', 'Plain', { content: 'Your code is 4711', content_type: 'text/plain' }), 202)
  t.match(await a.waitForEmail({ to: 'deliver+text@example.com' }), { subject: 'Plain', text: 'Your code is 4711', html: null }, 'or the plain text, for a test to read a code or a link from')
  t.same(await b.journal({ service: 'email' }), [], "B's journal does not see A's email")
  const refused = await fetch(`${b.url}/api/admin/journal`, { headers: { authorization: `Bearer ${a.adminToken}` } })
  t.equal(refused.status, 401, "A's token does not open B")
  await refused.arrayBuffer()

  await a.reset()
  t.same(await a.journal(), [], 'reset() empties the journal')
  await t.rejects(a.waitForEmail({ to: 'nobody@example.com', timeoutMs: 300 }), /no email to nobody@example.com within 300 ms/, 'waiting for an email that never comes fails, saying which')

  await a.close()
  t.notOk(existsSync(a.dataDir), 'close() removes the folder it made')
  t.equal(await fetch(`${a.url}/health`).then(() => 'answered', () => 'refused'), 'refused', 'and nothing listens any more')
  t.equal(await sendEmail(b, 'deliver+b@example.com', 'B still runs'), 202, 'closing A leaves B running')
})

t.test('receiveEvents(): a local endpoint that collects the events, each checked against its signature', async t => {
  const sb = await startSwitchboard({ seed: 3 })
  t.teardown(() => sb.close())
  await t.rejects(startSwitchboard({ dataDir: sb.dataDir }), {
    message: /^The data folder .* is in use by another stack in this process; .*Give each stack its own folder \(startSwitchboard's dataDir, or none for a temporary one/
  }, 'a second stack on a folder in use is refused in the words of the API (not SWITCHBOARD_DATA_DIR, not kill <this pid>)')
  const inbox = await sb.receiveEvents({ types: ['email.delivered'] })
  t.match(inbox, { url: /^http:\/\/127\.0\.0\.1:\d+\/events$/, id: String, secret: /^whsec_/ })

  const forged = await fetch(inbox.url, { method: 'POST', headers: { 'webhook-id': 'msg_forged', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' }, body: '{"type":"email.delivered","data":{}}' })
  t.equal(forged.status, 401, 'a post without the right signature is refused and not kept')

  t.equal(await sendEmail(sb, 'deliver+events@example.com', 'Event me'), 202)
  const event = await inbox.waitFor({ type: 'email.delivered', where: d => d.to_email === 'deliver+events@example.com', timeoutMs: 30_000 })
  t.match(event, { id: /^msg_/, type: 'email.delivered', data: { to_email: 'deliver+events@example.com', subject: 'Event me', status: 'delivered' } })
  t.same(inbox.events.map(e => e.type), ['email.delivered'], 'only the types asked for; the forged post is not among them')
  await t.rejects(inbox.waitFor({ type: 'payment.paid', timeoutMs: 200 }), /no payment\.paid event within 200 ms \(received: email\.delivered\)/)
  await sb.reset()
  t.same(inbox.events, [], 'reset() empties the inbox too, as it empties the journal')
  await t.rejects(inbox.waitFor({ type: 'email.delivered', timeoutMs: 200 }), /no email\.delivered event within 200 ms/, "so a test after the reset does not take the last test's event for its own")
  await inbox.close()
  const left = await fetch(`${sb.url}/api/admin/endpoints`, { headers: { authorization: `Bearer ${sb.adminToken}` } }).then(r => r.json()) as { items: unknown[] }
  t.same(left.items, [], 'close() deletes the endpoint')
})

t.test('emulator(): where an emulator answers and the credentials it takes, for pointing an official SDK at it', async t => {
  const sb = await startSwitchboard({ env: { EMULATOR_AUTH: 'issued' } })
  t.teardown(() => sb.close())
  const sendgrid = await sb.emulator('email')
  t.match(sendgrid, { provider: 'SendGrid', baseUrl: `${sb.urls.email}/sendgrid`, credentials: { apiKey: /^SG\./ } })
  const mail = (key: string) => fetch(`${sendgrid.baseUrl}/v3/mail/send`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ personalizations: [{ to: [{ email: 'deliver@example.com' }] }], from: { email: 'me@example.com' }, subject: 'Hi', content: [{ type: 'text/plain', value: 'Hi' }] })
  }).then(async res => { await res.arrayBuffer(); return res.status })
  t.equal(await mail(sendgrid.credentials.apiKey!), 202, 'the account\'s key')
  t.equal(await mail('SG.any.key'), 401, 'with EMULATOR_AUTH=issued, no other')
  t.match(await sb.emulator('zoom'), { provider: 'Zoom', credentials: { account_id: /\w+/, client_id: /\w+/, client_secret: /\w+/ } })
})

t.test('a start removes the temporary folders of stacks whose process died without close()', async t => {
  const { mkdtempSync, writeFileSync, mkdirSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { spawnSync } = await import('node:child_process')
  // A pid that existed and is gone: a process that has already exited.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!
  const folder = (owner: number | undefined) => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-'))
    mkdirSync(join(dir, 'pglite'))
    if (owner !== undefined) writeFileSync(join(dir, 'started-by.json'), JSON.stringify({ pid: owner }))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    return dir
  }
  const abandoned = folder(dead)
  const live = folder(process.pid)
  const unmarked = folder(undefined)
  const sb = await startSwitchboard()
  t.teardown(() => sb.close())
  const gone = async () => { for (let i = 0; i < 200 && existsSync(abandoned); i++) await new Promise(resolve => setTimeout(resolve, 25)); return !existsSync(abandoned) }
  t.ok(await gone(), 'the folder of a process that is gone is removed')
  t.ok(existsSync(live), 'a live process\'s folder stays')
  t.ok(existsSync(unmarked), 'a folder that names no process (not made by the package) stays')
  t.ok(existsSync(sb.dataDir), 'and the new stack\'s own')
})

t.test('startSwitchboard() names a mistaken option in its own words, before starting anything', async t => {
  await t.rejects(startSwitchboard({ port: 'abc' } as never), { name: 'TypeError', message: /^startSwitchboard\(\): port must be a whole number from 0 to 65535/ })
  await t.rejects(startSwitchboard({ prot: 0 } as never), /unknown option "prot"; the options are port, host/)
  await t.rejects(startSwitchboard({ seed: 1.5 }), /seed must be a whole number/)
  await t.rejects(startSwitchboard({ logLevel: 'loud' } as never), /logLevel must be one of fatal/)
  await t.rejects(startSwitchboard({ apiToken: 'short' }), /apiToken must be at least 16 characters/)
})
