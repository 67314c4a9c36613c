/**
 * What the admin page shows of a Zoom exchange (describeZoom): a meeting created is its settings;
 * a request Zoom refused (an expired token after the test clock moved, a rate limit, an outage)
 * created nothing, and says so, with no empty meeting to show.
 */
import t from 'tap'
import type { SeenExchange } from '@switchboard/service-kit/capture'
import { describeZoom } from '../src/emulator/inspect.ts'

const exchange = (over: Partial<SeenExchange>): SeenExchange => ({
  kind: 'provider', method: 'POST', path: '/v2/users/me/meetings', query: {}, requestHeaders: {}, requestBody: null, statusCode: 201, responseHeaders: {}, responseBody: null, ...over
})

t.test('a meeting created: its topic and settings', async t => {
  const d = describeZoom(exchange({ requestBody: { topic: 'Launch review', duration: 30 }, responseBody: { id: 81234567890, topic: 'Launch review', join_url: 'https://zoom.example/j/1' } }))
  t.match(d, { providerId: '81234567890', summary: 'meeting created: Launch review', content: { kind: 'zoom', topic: 'Launch review', join_url: 'https://zoom.example/j/1' } })
})

t.test('a creation Zoom refused: not created, and no meeting', async t => {
  // The token check runs before the body is read: a refused request has no body to show.
  const expired = describeZoom(exchange({ statusCode: 401, responseBody: { code: 124, message: 'Access token is expired.' } }))
  t.same(expired, { summary: 'meeting not created' })
  const limited = describeZoom(exchange({ statusCode: 429, requestBody: { topic: 'Launch review' }, responseBody: { code: 429, message: 'Too many requests' } }))
  t.same(limited, { summary: 'meeting not created: Launch review' })
})

t.test('a meeting read: its settings, unless Zoom answered with an error', async t => {
  const found = describeZoom(exchange({ method: 'GET', path: '/v2/meetings/81234567890', statusCode: 200, responseBody: { id: 81234567890, topic: 'Launch review' } }))
  t.match(found, { providerId: '81234567890', content: { kind: 'zoom', topic: 'Launch review' } })
  const missing = describeZoom(exchange({ method: 'GET', path: '/v2/meetings/81234567890', statusCode: 404, responseBody: { code: 3001, message: 'Meeting does not exist: 81234567890.' } }))
  t.match(missing, { providerId: '81234567890', summary: 'GET meeting of meeting 81234567890' })
  t.notOk(missing && 'content' in missing, 'no meeting to show')
})
