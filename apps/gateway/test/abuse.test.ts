/**
 * The gateway under abuse: paths spelled to slip past the token check, too many requests, bodies
 * too big.
 */
import t from 'tap'
import { ADMIN_TOKEN, api, startStack } from './helper.ts'

t.test('a route reached through %-escapes or other spellings still needs its token', async t => {
  const { call } = await startStack(t)
  // The router decodes %61 to "a": these reach /api/admin/... and /api/automation/... routes.
  const admin = ['/api/%61dmin/settings/mock-mode', '/%61pi/admin/settings/mock-mode', '/api/admi%6E/journal', '/%61%70%69/%61dmin/stats']
  const automation = ['/api/%61utomation/email/stats', '/%61pi/automation/email/stats', '/api/automation/%65mail/stats']
  for (const path of [...admin, ...automation]) {
    const res = await call('GET', path)
    t.equal(res.status, 401, `${path} without a token`)
    t.equal(res.body.code, 'GATEWAY_UNAUTHORIZED')
  }
  for (const path of admin) t.equal((await call('GET', path, undefined, api)).status, 401, `${path} with the API token`)
  t.equal((await call('GET', admin[0]!, undefined, { authorization: `Bearer ${ADMIN_TOKEN}` })).status, 200, 'with the admin token it is the admin route')
  t.equal((await call('GET', automation[0]!, undefined, api)).status, 200, 'with the API token it is the automation route')
  for (const path of ['/API/admin/settings/mock-mode', '/api//admin/settings/mock-mode', '/api/admin/settings/mock-mode/']) {
    t.not((await call('GET', path)).status, 200, `${path} reaches nothing without a token`)
  }
})
