import t from 'tap'
import { computeMac, hmacSha1Hex, isFormEncoded, macMessage, parseWebhookForm, verifyMac, webhookBody, type PaymentWebhookFields } from '../src/instamojo-webhooks.ts'

// providers.md §3, "Webhook": the two test vectors.
const CONSTRUCTED = 'amount=2500.00&buyer=foo%40example.com&buyer_name=John+Doe&buyer_phone=%2B919999999999&currency=INR&fees=47.50&longurl=https%3A%2F%2Ftest.instamojo.com%2F%40ashwch%2Fd66cb29dd059482e8072999f995c4eef&payment_id=MOJO5a06005J21512197&payment_request_id=d66cb29dd059482e8072999f995c4eef&purpose=FIFA+16&shorturl=https%3A%2F%2Fimjo.in%2FNNxHg&status=Credit&mac=f3002fef605921d24441d2a4057a8eacc67fced8'
const fieldsOf = (body: string) => Object.fromEntries(new URLSearchParams(body))

t.test('the Instamojo engineer\'s vector: salt abcde', async t => {
  t.equal(hmacSha1Hex('abcde', '123.45|aditya@instamojo.com|Aditya Sengupta|9999999999'), '676a4b5ba30e464f027249747a63ea587f8c4b9a')
  // The same message built from fields, sorted by key.
  const fields = { buyer_phone: '9999999999', amount: '123.45', buyer_name: 'Aditya Sengupta', buyer: 'aditya@instamojo.com' }
  t.equal(macMessage(fields), '123.45|aditya@instamojo.com|Aditya Sengupta|9999999999')
  t.equal(computeMac(fields, 'abcde'), '676a4b5ba30e464f027249747a63ea587f8c4b9a')
})

t.test('the constructed webhook: salt test_salt_123, values URL-decoded', async t => {
  const fields = fieldsOf(CONSTRUCTED)
  t.equal(macMessage(fields), '2500.00|foo@example.com|John Doe|+919999999999|INR|47.50|https://test.instamojo.com/@ashwch/d66cb29dd059482e8072999f995c4eef|MOJO5a06005J21512197|d66cb29dd059482e8072999f995c4eef|FIFA 16|https://imjo.in/NNxHg|Credit')
  t.equal(computeMac(fields, 'test_salt_123'), 'f3002fef605921d24441d2a4057a8eacc67fced8')
  t.ok(verifyMac(fields, 'test_salt_123'))
  t.ok(verifyMac({ ...fields, mac: fields.mac!.toUpperCase() }, 'test_salt_123'), 'hex case does not matter')
})

t.test('tampering, a wrong salt, or a missing or malformed mac fail verification', async t => {
  const fields = fieldsOf(CONSTRUCTED)
  t.notOk(verifyMac({ ...fields, amount: '25000.00' }, 'test_salt_123'), 'amount changed')
  t.notOk(verifyMac({ ...fields, status: 'Failed' }, 'test_salt_123'), 'status changed')
  t.notOk(verifyMac({ ...fields, extra: 'x' }, 'test_salt_123'), 'a field added')
  t.notOk(verifyMac(fields, 'test_salt_124'), 'wrong salt')
  t.notOk(verifyMac(fields, ''), 'empty salt')
  const { mac: _mac, ...unsigned } = fields
  t.notOk(verifyMac(unsigned, 'test_salt_123'), 'no mac')
  t.notOk(verifyMac({ ...fields, mac: 'f3002fef' }, 'test_salt_123'), 'short mac')
  t.notOk(verifyMac({ ...fields, mac: 'z'.repeat(40) }, 'test_salt_123'), 'not hex')
})

t.test('keys sort case-insensitively, and new keys join the message in their place', async t => {
  t.equal(macMessage({ b: '2', A: '1', c: '3', mac: 'ignored' }), '1|2|3')
  t.equal(macMessage({ Zeta: 'z', alpha: 'a', Beta: 'b' }), 'a|b|z')
})

t.test('the emulator\'s body for the constructed webhook\'s fields is the vector, byte for byte; the receiver reads it back', async t => {
  const { mac: _mac, ...fields } = fieldsOf(CONSTRUCTED)
  t.equal(webhookBody(fields as unknown as PaymentWebhookFields, 'test_salt_123'), CONSTRUCTED)
  const parsed = parseWebhookForm(Buffer.from(CONSTRUCTED))
  t.same(parsed, { fields: fieldsOf(CONSTRUCTED) })
  t.same(parseWebhookForm(Buffer.from('a=1&status=Credit&a=2')), { repeated: 'a' }, 'a field sent twice is named')
  t.ok(isFormEncoded('application/x-www-form-urlencoded; charset=utf-8'))
  t.notOk(isFormEncoded('application/json'))
  t.notOk(isFormEncoded(undefined))
})
