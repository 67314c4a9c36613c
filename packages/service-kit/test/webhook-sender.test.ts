/**
 * WebhookSender against receivers that fail: retried with backoff, then given up and reported
 * (counts, the onGiveUp callback, a warning), or delivered once the receiver recovers. Delays are
 * a few tens of milliseconds so the whole file takes well under a few seconds.
 */
import t, { type Test } from 'tap'
import { freePort, startRecorder } from '../src/testing.ts'
import { WebhookSender, type WebhookDelivery } from '../src/webhook-sender.ts'

/** A receiver answering `statuses` in turn, then `after`; keeps every post and when it came. */
async function receiver (t: Test, statuses: number[], after = 200) {
  const { origin, received } = await startRecorder(t, (_request, res) => {
    res.statusCode = statuses.shift() ?? after
    res.end()
  })
  return { url: `${origin}/hook`, hits: received }
}

async function until (check: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) return false
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  return true
}

const logger = () => {
  const lines: Array<{ level: string, obj: Record<string, unknown>, msg?: string }> = []
  return { lines, warn: (obj: object, msg?: string) => { lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }) }, debug: (obj: object, msg?: string) => { lines.push({ level: 'debug', obj: obj as Record<string, unknown>, msg }) } }
}

t.test('a receiver that always answers 500: every retry, spaced by the backoff, then given up and reported once', async t => {
  const { url, hits } = await receiver(t, [], 500)
  const delays = [20, 40, 80]
  const gaveUp: Array<{ delivery: WebhookDelivery, error: string }> = []
  const log = logger()
  const sender = new WebhookSender({ retryDelaysMs: delays, timeoutMs: 2000, logger: log, onGiveUp: (delivery, error) => gaveUp.push({ delivery, error }) })
  t.teardown(() => sender.close())
  const delivery = { url, body: '{"event":"x"}', headers: { 'content-type': 'application/json', 'x-signature': 'sig' }, label: 'test.event' }
  sender.send(delivery)

  t.ok(await until(() => gaveUp.length === 1), 'gave up')
  t.equal(hits.length, delays.length + 1, 'the first attempt and one per retry delay')
  for (const h of hits) t.match(h, { body: '{"event":"x"}', headers: { 'x-signature': 'sig' } }, 'the same body and headers every time')
  delays.forEach((d, i) => {
    const gap = hits[i + 1]!.at - hits[i]!.at
    t.ok(gap >= d - 2, `retry ${i + 1} waited its backoff (${gap.toFixed(0)} ms ≥ ${d} ms)`)
  })
  t.same(gaveUp[0], { delivery, error: 'HTTP 500' })
  t.match(sender, { delivered: 0, failedAttempts: 4, gaveUp: 1 })
  t.equal(log.lines.filter(l => l.level === 'warn').length, 1, 'one warning, at the end')
  t.match(log.lines.find(l => l.level === 'warn'), { obj: { webhook: 'test.event', attempts: 4, error: 'HTTP 500' }, msg: 'webhook delivery gave up' })
  t.equal(log.lines.filter(l => l.level === 'debug').length, 3, 'each failed attempt before it at debug')
  await new Promise(resolve => setTimeout(resolve, 150))
  t.equal(hits.length, 4, 'nothing more after giving up')
})

t.test('a receiver that fails twice then recovers: delivered on the third attempt, nothing given up', async t => {
  const { url, hits } = await receiver(t, [500, 503])
  let gaveUp = 0
  const sender = new WebhookSender({ retryDelaysMs: [10, 10, 10], onGiveUp: () => { gaveUp++ } })
  t.teardown(() => sender.close())
  sender.send({ url, body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, label: 'recovering' })
  t.ok(await until(() => sender.delivered === 1))
  t.equal(hits.length, 3)
  t.match(sender, { delivered: 1, failedAttempts: 2, gaveUp: 0 })
  t.equal(gaveUp, 0)
})

t.test('a receiver that is not there at all: network errors are retried and reported the same way', async t => {
  const port = await freePort()
  const errors: string[] = []
  const sender = new WebhookSender({ retryDelaysMs: [10, 10], timeoutMs: 1000, onGiveUp: (_d, error) => errors.push(error) })
  t.teardown(() => sender.close())
  sender.send({ url: `http://127.0.0.1:${port}/hook`, body: '{}', headers: {}, label: 'nobody' })
  t.ok(await until(() => errors.length === 1))
  t.same(errors, ['ECONNREFUSED'])
  t.match(sender, { delivered: 0, failedAttempts: 3, gaveUp: 1 })
})

t.test('many deliveries to a failing receiver are independent, and close() cancels the pending retries', async t => {
  const { url, hits } = await receiver(t, [], 500)
  const given: string[] = []
  const sender = new WebhookSender({ retryDelaysMs: [10, 60_000], onGiveUp: d => given.push(d.label) })
  for (let i = 0; i < 20; i++) sender.send({ url, body: String(i), headers: {}, label: `d${i}` })
  t.ok(await until(() => hits.length === 40 && sender.failedAttempts === 40), 'each delivery tried twice, both answers seen')
  t.equal(sender.gaveUp, 0, 'the long retry is still pending')
  const started = Date.now()
  await sender.close()
  t.ok(Date.now() - started < 1000, 'close does not wait for a retry a minute away')
  t.equal(given.length, 0, 'closed, not given up')
  sender.send({ url, body: 'late', headers: {}, label: 'late' })
  await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(hits.length, 40, 'nothing is sent after close')
})

t.test('a receiver that answers 200 with a large page: delivered once, its answer not kept', async t => {
  const { origin, received } = await startRecorder(t, (_request, res) => {
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end('<p>thanks</p>'.repeat(200_000)) // 2.6 MB
  })
  const sender = new WebhookSender({ retryDelaysMs: [10] })
  sender.send({ url: `${origin}/hook`, body: '{}', headers: {}, label: 'big-answer' })
  await sender.close()
  t.equal(sender.delivered, 1)
  t.equal(sender.failedAttempts, 0)
  t.equal(received.length, 1)
})
