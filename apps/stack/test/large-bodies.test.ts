/**
 * Memory under large bodies: four 60 MB bulk bodies at once used to take the stack to 1.87 GB RSS.
 * Each server now holds at most BODY_BYTES_IN_FLIGHT (64 MB) of bodies at once; the rest are
 * answered 503 with Retry-After before a byte is read. Measured here with real concurrent uploads.
 */
import t from 'tap'
import { api, send, startStack } from './helper.ts'

const BODY_MB = 60

/** A 60 MB bulk body that parses (all of it is read and parsed) and is refused by validation at the end. */
function bulkBody (): Buffer {
  // Written straight into one buffer, so building it leaves no large strings behind to blur the RSS.
  const item = Buffer.from(JSON.stringify({ to_email: 'deliver@example.com', subject: 'Bulk', content: `<p>${'x'.repeat(6000)}</p>` }) + ',')
  const head = Buffer.from('{"email_list":[')
  const tail = Buffer.from('{"to_email":"a@example.com","subject":"x","content":"x"}],"not_a_field":true}')
  const count = Math.floor(BODY_MB * 1024 * 1024 / item.length)
  const out = Buffer.allocUnsafe(head.length + count * item.length + tail.length)
  head.copy(out, 0)
  for (let i = 0; i < count; i++) item.copy(out, head.length + i * item.length)
  tail.copy(out, head.length + count * item.length)
  return out
}

t.test(`four ${BODY_MB} MB bodies at once: one is read at a time per server, the others get 503 with Retry-After; RSS stays bounded`, async t => {
  const { gatewayUrl } = await startStack(t)
  const body = bulkBody()
  global.gc?.()
  const before = process.memoryUsage().rss
  let peak = before
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 10)
  t.teardown(() => clearInterval(sampler))
  const answers = await Promise.all(Array.from({ length: 4 }, () => send({
    method: 'POST', url: `${gatewayUrl}/api/automation/trigger/email/batch`, headers: { ...api, 'content-type': 'application/json' }, body, timeoutMs: 60_000
  })))
  clearInterval(sampler)
  const statuses = answers.map(a => a.status).sort()
  t.comment(`RSS before ${Math.round(before / 1048576)} MB, peak ${Math.round(peak / 1048576)} MB (+${Math.round((peak - before) / 1048576)} MB); answers ${statuses.join(', ')}`)
  t.ok(answers.every(a => a.status === 400 || a.status === 503), 'each answered: read and refused by validation (400), or not read (503)')
  const busy = answers.filter(a => a.status === 503)
  t.ok(busy.length >= 1, 'at least one body was turned away while another was being read')
  for (const b of busy) {
    t.match(b.body, { code: 'GATEWAY_BUSY', message: /BODY_BYTES_IN_FLIGHT/ })
    t.ok(Number(b.headers['retry-after']) > 0, 'with Retry-After')
  }
  t.ok(peak - before < 1024 * 1024 * 1024, `the stack grew by less than 1 GB (it grew by ${Math.round((peak - before) / 1048576)} MB)`)
  // The cap is per server at a time, not a ban: sent again alone, a large body is read.
  t.equal((await send({ method: 'POST', url: `${gatewayUrl}/api/automation/trigger/email/batch`, headers: { ...api, 'content-type': 'application/json' }, body, timeoutMs: 60_000 })).status, 400)
})
