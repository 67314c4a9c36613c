import t from 'tap'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hmac, loadOrCreateSecret, safeEqual, timestampIsFresh, verifyHmac } from '../src/outbound/hmac.ts'

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

t.test('loadOrCreateSecret derivedFrom: instances with folders of their own agree, and nothing is written', async t => {
  const one = mkdtempSync(join(tmpdir(), 'sk-hmac-'))
  const two = mkdtempSync(join(tmpdir(), 'sk-hmac-'))
  t.teardown(() => { rmSync(one, { recursive: true, force: true }); rmSync(two, { recursive: true, force: true }) })
  const shared = 'sb_internal_the-same-for-every-instance'
  writeFileSync(join(one, 'salt'), 'an-older-generated-salt\n')
  const salt = loadOrCreateSecret(one, 'salt', { bytes: 16, encoding: 'hex', derivedFrom: shared })
  t.match(salt, /^[0-9a-f]{32}$/, 'in the format asked for')
  t.equal(loadOrCreateSecret(two, 'salt', { bytes: 16, encoding: 'hex', derivedFrom: shared }), salt, 'the same in another folder (a file already there does not win)')
  t.same(readFileSync(join(one, 'salt'), 'utf8'), 'an-older-generated-salt\n', 'nothing written')
  t.notOk(existsSync(join(two, 'salt')))
  t.not(loadOrCreateSecret(two, 'token', { derivedFrom: shared }), loadOrCreateSecret(two, 'other-token', { derivedFrom: shared }), 'each file name its own secret')
  t.not(loadOrCreateSecret(two, 'salt', { bytes: 16, encoding: 'hex', derivedFrom: `${shared}-2` }), salt, 'another shared secret, another salt')
  t.not(salt, shared.slice(0, 32))
  const pem = (seed?: Buffer) => `PEM:${seed?.toString('hex') ?? 'random'}`
  t.equal(loadOrCreateSecret(one, 'key.pem', { generate: pem, derivedFrom: shared }), loadOrCreateSecret(two, 'key.pem', { generate: pem, derivedFrom: shared }), 'a format of its own is made from the seed')
})

t.test('loadOrCreateSecret: a provider\'s own format, an existing file read as it was written, a file of the wrong kind replaced', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'sk-hmac-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const salt = loadOrCreateSecret(dir, 'salt', { bytes: 16, encoding: 'hex' })
  t.match(salt, /^[0-9a-f]{32}$/, '16 bytes, hex')
  t.equal(readFileSync(join(dir, 'salt'), 'utf8'), `${salt}\n`, 'the secret and a newline')
  // A file written before, without a newline, is read as it is.
  writeFileSync(join(dir, 'old-salt'), 'abcdef0123456789')
  t.equal(loadOrCreateSecret(dir, 'old-salt', { bytes: 16, encoding: 'hex' }), 'abcdef0123456789')
  t.equal(readFileSync(join(dir, 'old-salt'), 'utf8'), 'abcdef0123456789', 'and left untouched')

  const opts = {
    generate: () => `-----BEGIN KEY-----\n${String(Math.random())}\n-----END KEY-----\n`,
    accept: (s: string) => s.startsWith('-----BEGIN KEY-----')
  }
  const key = loadOrCreateSecret(dir, 'key.pem', opts)
  t.match(key, /^-----BEGIN KEY-----\n[\d.]+\n-----END KEY-----$/, 'generated in the file\'s format, read trimmed')
  t.equal(loadOrCreateSecret(dir, 'key.pem', opts), key, 'read back on the next start')
  writeFileSync(join(dir, 'key.pem'), 'not a key\n')
  const replaced = loadOrCreateSecret(dir, 'key.pem', opts)
  t.not(replaced, key)
  t.ok(opts.accept(replaced), 'a file holding something else is replaced with a new one')
  t.equal(readFileSync(join(dir, 'key.pem'), 'utf8'), `${replaced}\n`, 'which is kept')
  const throwing = loadOrCreateSecret(dir, 'key.pem', { ...opts, accept: () => { throw new Error('unparseable') } })
  t.not(throwing, replaced, 'an accept that throws says no')
})
