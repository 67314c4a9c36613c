import t from 'tap'
import { normalizePhone } from '../src/phone.ts'

const ok = (input: string) => {
  const r = normalizePhone(input)
  return r.ok ? r.e164 : `invalid: ${r.reason}`
}

t.test('Indian numbers in every way people write them become +91 E.164', async t => {
  const same = ['+919876543210', '9876543210', '09876543210', '919876543210', '+91 98765 43210', '98765-43210', '+91-98765-43210',
    '(+91) 98765 43210', '0091 98765 43210', ' 98765.43210 ', '+91\u00a09876543210', '098765 43210']
  for (const input of same) t.equal(ok(input), '+919876543210', JSON.stringify(input))
})

t.test('other countries keep their code; 11-15 digit numbers are taken as carrying one', async t => {
  t.equal(ok('+1 (415) 555-2671'), '+14155552671')
  t.equal(ok('+44 7911 123456'), '+447911123456')
  t.equal(ok('447911123456'), '+447911123456')
  t.equal(ok('00971501234567'), '+971501234567')
  t.equal(ok('+6591234567'), '+6591234567', 'an 8-digit national number (Singapore) is fine')
})

t.test('what cannot be a reachable number is refused with a reason', async t => {
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['   ', /empty/],
    ['12345', /5 digits/],
    ['98765432', /8 digits/],
    ['1234567890', /starts with 6, 7, 8 or 9/],
    ['+915876543210', /starts with 6, 7, 8 or 9/],
    ['+91987654321', /10 digits after \+91, this one has 9/],
    ['+9198765432109', /10 digits after \+91, this one has 11/],
    ['9876543210123456', /16 digits/],
    ['+1234567', /8 to 15 digits, this one has 7/],
    ['+0123456789', /never starts with 0/],
    ['98765abc10', /only digits/],
    ['+91 98765 4321O', /only digits may follow/],
    ['++919876543210', /only digits may follow/]
  ]
  for (const [input, reason] of bad) {
    const r = normalizePhone(input)
    t.equal(r.ok, false, JSON.stringify(input))
    if (!r.ok) t.match(r.reason, reason, JSON.stringify(input))
  }
})

t.test('the default country can be changed', async t => {
  const r = normalizePhone('7911123456', '44')
  t.same(r, { ok: true, e164: '+447911123456' })
})
