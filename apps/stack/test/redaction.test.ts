/**
 * Provider keys never come back: against a fake provider that echoes the whole request (headers
 * and body) in a 400 error, with a SendGrid-shaped key of its own thrown in, nothing secret reaches
 * an API caller, a log line or a stored row.
 */
import t from 'tap'
import { Writable } from 'node:stream'
import { startRecorder } from '@switchboard/service-kit/testing'
import { LOG_TABLES, api, startStack } from './helper.ts'

const KEYS = {
  SENDGRID_API_KEY: 'SG.echoedkeyid0123456789.echoed-sendgrid-secret-0123456789',
  AISENSY_API_KEY: `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"project":"echo"}').toString('base64url')}.echoed-aisensy-signature-0123456789`,
  BOLNA_API_KEY: 'bn-echoedbolnakey0123456789abcdef'
}
// Not configured anywhere, but shaped like a SendGrid key: redacted all the same.
const STRAY_KEY = 'SG.strayunconfigured01.stray-secret-value-0123456789'

t.test('a provider that echoes the request: no key in answers, logs or rows', async t => {
  const echo = await startRecorder(t, (request, res) => {
    res.writeHead(400, { 'content-type': 'application/json' })
    const echoed = `you sent ${JSON.stringify(request.headers)} ${request.body} and ${STRAY_KEY}`
    res.end(JSON.stringify({ errors: [{ message: echoed, field: null }], message: echoed, status: false }))
  })
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(chunk.toString()); done() } })
  const { call, stack } = await startStack(t, {
    ...KEYS,
    MOCK_MODE: 'false',
    SENDGRID_BASE_URL: echo.origin,
    AISENSY_BASE_URL: echo.origin,
    BOLNA_BASE_URL: echo.origin
  }, { level: 'debug', stream })

  const answers = [
    await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Hi', content: '<p>Hi</p>' }, api),
    await call('POST', '/api/automation/trigger/email/batch', { email_list: [{ to_email: 'a@example.com', subject: 'Hi', content: '<p>Hi</p>' }] }, api),
    await call('POST', '/api/automation/trigger/whatsapp', { to_number: '+919876543210', template_name: 'welcome_message', params: ['A'] }, api),
    await call('POST', '/api/automation/trigger/call', { to_number: '+919876543210', script_id: 'appointment_reminder' }, api)
  ]
  t.ok(echo.received.length >= 3, 'the fake provider was called')
  t.ok(echo.received.some(r => JSON.stringify(r.headers).includes(KEYS.SENDGRID_API_KEY)), 'the key did travel to the provider, so the echo had it')
  t.ok(answers.some(a => a.status >= 400 && /REDACTED/.test(a.text)), 'an echoed error came back, redacted')
  await stack.shared.activityLog.flush()
  const rows = []
  for (const table of LOG_TABLES) rows.push(...await stack.shared.activityLog.select(table, {}))
  t.ok(rows.length > 0, 'failures were stored')
  const haystacks = { answers: answers.map(a => a.text + JSON.stringify(a.headers)).join('\n'), logs: lines.join(''), rows: JSON.stringify(rows) }
  for (const [where, text] of Object.entries(haystacks)) {
    for (const [name, key] of Object.entries({ ...KEYS, STRAY_KEY })) t.notOk(text.includes(key), `${name} is not in the ${where}`)
    // A key cut in half by a JSON escape is still a leak: look for the secret part alone too.
    t.notOk(text.includes('echoed-sendgrid-secret') || text.includes('echoed-aisensy-signature') || text.includes('echoedbolnakey'), `no fragment of a key in the ${where}`)
  }
})
