import t, { type Test } from 'tap'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { alphanumeric, emulatorAccount } from '../src/emulator/account.ts'
import { redactText } from '../src/server/redact.ts'

const folder = (t: Test) => {
  const dir = mkdtempSync(join(tmpdir(), 'emulator-account-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
const credentials = {
  client_id: (b: Buffer) => alphanumeric(b, 22),
  client_secret: (b: Buffer) => alphanumeric(b, 32)
}

t.test('issued: only the account\'s own values pass; any: every value does', async t => {
  const dataDir = folder(t)
  const issued = emulatorAccount({ provider: 'zoom', auth: 'issued', credentials, dataDir })
  t.match(issued.credentials, { client_id: /^[A-Za-z0-9]{22}$/, client_secret: /^[A-Za-z0-9]{32}$/ })
  t.not(issued.credentials.client_id, issued.credentials.client_secret.slice(0, 22), 'each credential from bytes of its own')
  t.ok(issued.accepts('client_id', issued.credentials.client_id))
  t.notOk(issued.accepts('client_id', issued.credentials.client_secret), 'another field\'s value')
  t.notOk(issued.accepts('client_secret', `${issued.credentials.client_secret}x`))
  t.notOk(issued.accepts('client_secret', undefined))
  t.notOk(issued.accepts('client_secret', ['a']))

  const open = emulatorAccount({ provider: 'zoom', auth: 'any', credentials, dataDir })
  t.same(open.credentials, issued.credentials, 'the same account in either mode')
  t.ok(open.accepts('client_secret', 'anything at all'))
})

t.test('kept in the data folder, owner only, and the same after a restart', async t => {
  const dataDir = folder(t)
  const first = emulatorAccount({ provider: 'instamojo', auth: 'issued', credentials, dataDir })
  const file = join(dataDir, 'instamojo-emulator-account')
  t.equal(statSync(file).mode & 0o777, 0o600)
  t.same(JSON.parse(readFileSync(file, 'utf8')), first.credentials)
  t.same(emulatorAccount({ provider: 'instamojo', auth: 'issued', credentials, dataDir }).credentials, first.credentials)

  // One made readable by others (copied in by hand) is made the owner's again at the next start.
  ;(await import('node:fs')).chmodSync(file, 0o644)
  emulatorAccount({ provider: 'instamojo', auth: 'issued', credentials, dataDir })
  t.equal(statSync(file).mode & 0o777, 0o600, 'a loose file is tightened')

  // A file from an account of fewer fields (a credential added since) is made anew.
  writeFileSync(file, JSON.stringify({ client_id: 'old' }) + '\n')
  const renewed = emulatorAccount({ provider: 'instamojo', auth: 'issued', credentials, dataDir })
  t.not(renewed.credentials.client_id, 'old')
  t.same(JSON.parse(readFileSync(file, 'utf8')), renewed.credentials)
})

t.test('instances without a shared folder agree through INTERNAL_TOKEN, and nothing is written', async t => {
  const [a, b] = [folder(t), folder(t)]
  const derivedFrom = 'an-internal-token-every-instance-has'
  const one = emulatorAccount({ provider: 'bolna', auth: 'issued', credentials, dataDir: a, derivedFrom })
  const two = emulatorAccount({ provider: 'bolna', auth: 'issued', credentials, dataDir: b, derivedFrom })
  t.same(one.credentials, two.credentials)
  t.same(readdirSync(a), [])
  t.not(emulatorAccount({ provider: 'sendgrid', auth: 'issued', credentials, dataDir: a, derivedFrom }).credentials.client_id, one.credentials.client_id, 'another provider, another account')
})

t.test('the values are secrets: redacted wherever they would be logged or stored', async t => {
  const account = emulatorAccount({ provider: 'zoom', auth: 'any', credentials, dataDir: folder(t) })
  t.equal(redactText(`client ${account.credentials.client_secret} said`), 'client [REDACTED] said')
})
