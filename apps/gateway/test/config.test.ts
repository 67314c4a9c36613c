import t from 'tap'
import { loadGatewayEnv } from '../src/config.ts'

t.test('each service URL follows its port unless set explicitly', async t => {
  const moved = loadGatewayEnv({ EMAIL_PORT: '4101', ZOOM_PORT: '4105', ZOOM_SERVICE_URL: 'http://zoom.internal:8080' })
  t.equal(moved.EMAIL_SERVICE_URL, 'http://127.0.0.1:4101', 'EMAIL_PORT moves the gateway\'s view of email with it')
  t.equal(moved.ZOOM_SERVICE_URL, 'http://zoom.internal:8080', 'an explicit URL wins')
  t.equal(moved.WHATSAPP_SERVICE_URL, 'http://127.0.0.1:3002', 'an unmoved service keeps its default port')
  t.same(['PAYMENTS_SERVICE_URL', 'VOICE_SERVICE_URL'].map(k => moved[k as 'VOICE_SERVICE_URL']), ['http://127.0.0.1:3003', 'http://127.0.0.1:3004'])
})
