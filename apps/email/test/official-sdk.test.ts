import t from 'tap'
import sgMail from '@sendgrid/mail'
import { Client } from '@sendgrid/client'
import { startEmailApp } from './helper.ts'

t.test('@sendgrid/mail pointed at the emulator works unchanged', async t => {
  const { url } = await startEmailApp(t)
  const client = new Client()
  client.setApiKey('SG.official-sdk.test-key-123')
  // The SDK resets baseUrl in setApiKey, so the override comes after it (reference, §1).
  client.setDefaultRequest('baseUrl', `${url}/sendgrid`)
  sgMail.setClient(client)

  const [res] = await sgMail.send({ to: 'deliver@example.com', from: 'sender@example.com', subject: 'From the SDK', text: 'plain', html: '<p>html</p>' })
  t.equal(res.statusCode, 202)
  t.match(res.headers['x-message-id'], /^[\w-]{22}$/)

  try {
    await sgMail.send({ to: 'not-an-address', from: 'sender@example.com', subject: 's', text: 't' })
    t.fail('should have thrown')
  } catch (err) {
    const e = err as { code: number, response: { body: { errors: Array<{ field: string }> } } }
    t.equal(e.code, 400)
    t.equal(e.response.body.errors[0]?.field, 'personalizations.0.to.0.email')
  }
})
