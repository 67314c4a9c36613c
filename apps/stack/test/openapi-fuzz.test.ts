/**
 * The fuzz generator's valid values must not trigger a documented magic outcome, or a valid
 * request would fail on purpose and read as a defect (a payment amount ending in .19 fails the
 * link with Instamojo's 500).
 */
import t from 'tap'
import { AmountSchema } from '@switchboard/schemas/payments'
import { sample } from './openapi-fuzz.ts'

t.test('sampled payment amounts match the schema and carry no paise', async t => {
  const re = new RegExp(AmountSchema.pattern!, 'u')
  const amounts = Array.from({ length: 2000 }, () => sample(AmountSchema, Math.random) as string)
  t.ok(amounts.every(a => re.test(a)), 'every amount matches the pattern')
  t.same(amounts.filter(a => /\.\d*[1-9]/.test(a)), [], 'none has non-zero paise')
  t.ok(amounts.some(a => a.includes('.')), 'decimals are still generated (with a zero fraction)')
})
