import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hmac, loadOrCreateSecret, safeEqual, timestampIsFresh, verifyHmac } from '../src/hmac.ts'

t.test('hmac and verifyHmac: Zoom\'s published-style vector, prefixes, several secrets, encodings', async t => {
  // providers.md §5: secret zoom_secret_token_abc, plainToken → encryptedToken.
  t.equal(hmac('zoom_secret_token_abc', 'qgg8vlvZRS6UYooatFL8Aw'), '80edd1714ed1e0ce28ac44937f9822300ea2bd1361dfcdf1ab38db12171cbd33')
  const sig = `v0=${hmac('s1', 'payload')}`
  t.ok(verifyHmac('s1', 'payload', sig, { prefix: 'v0=' }))
  t.ok(verifyHmac(['other', 's1'], 'payload', sig, { prefix: 'v0=' }), 'any of several secrets')
  t.notOk(verifyHmac('s1', 'payload ', sig, { prefix: 'v0=' }), 'a changed payload fails')
  t.notOk(verifyHmac('s1', 'payload', sig), 'the prefix is part of the signature')
  t.notOk(verifyHmac(['', 'nope'], 'payload', sig, { prefix: 'v0=' }), 'empty secrets are skipped, not matched')
  t.equal(hmac('k', 'v', { algorithm: 'sha1', encoding: 'base64' }).length, 28)
  t.ok(safeEqual('abc', 'abc'))
  t.notOk(safeEqual('abc', 'abcd'))
})

t.test('timestampIsFresh takes unix seconds within the window, either way', async t => {
  const now = 1_700_000_000_000
  t.ok(timestampIsFresh('1700000000', 300, now))
  t.ok(timestampIsFresh(1_700_000_290, 300, now))
  t.notOk(timestampIsFresh('1699999000', 300, now), 'too old')
  t.notOk(timestampIsFresh('1700001000', 300, now), 'too far in the future')
  for (const bad of [undefined, '', 'abc', '1.5', '-1', '17000000000000']) t.notOk(timestampIsFresh(bad, 300, now), String(bad))
})

t.test('loadOrCreateSecret generates once, keeps it, and survives an unwritable folder', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'sk-hmac-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const first = loadOrCreateSecret(dir, 'secret')
  t.match(first, /^[\w-]{32}$/)
  t.equal(loadOrCreateSecret(dir, 'secret'), first, 'read back on the next start')
  t.equal(readFileSync(join(dir, 'secret'), 'utf8').trim(), first)
  writeFileSync(join(dir, 'blocker'), 'a file, not a folder')
  const inMemory = loadOrCreateSecret(join(dir, 'blocker', 'sub'), 'secret')
  t.match(inMemory, /^[\w-]{32}$/, 'a folder that cannot be made still yields a secret (kept in memory)')
  t.not(loadOrCreateSecret(undefined, 'secret'), loadOrCreateSecret(undefined, 'secret'), 'no folder: a fresh one each time')
})
