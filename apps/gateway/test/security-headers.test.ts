import t from 'tap'
import { startStack } from './helper.ts'

t.test('every page carries the security headers: the admin page and the API docs, each with the CSP it needs', async t => {
  const { call } = await startStack(t)
  const pages = {
    admin: await call('GET', '/admin'),
    adminScript: await call('GET', '/admin/main.js'),
    docs: await call('GET', '/docs/'),
    docsScript: await call('GET', '/docs/static/swagger-initializer.js')
  }
  for (const [name, res] of Object.entries(pages)) {
    t.equal(res.status, 200, `${name} is served`)
    t.equal(res.headers['x-frame-options'], 'DENY', `${name}: no framing`)
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${name}: nosniff`)
    t.equal(res.headers['referrer-policy'], 'no-referrer', `${name}: no referrer`)
    t.match(res.headers['content-security-policy'], /frame-ancestors 'none'/, `${name}: a CSP`)
    t.notMatch(res.headers['content-security-policy'], /unsafe-inline|unsafe-eval|upgrade-insecure-requests/, `${name}: no unsafe CSP escape hatch`)
  }
  t.match(pages.admin.headers['content-security-policy'], /default-src 'none'/, 'the admin page keeps its strict policy')
  // Swagger UI needs its own policy (its images, fonts and styles), computed by @fastify/swagger-ui.
  t.match(pages.docs.headers['content-security-policy'], /script-src 'self'.*img-src 'self' data:|img-src 'self' data:.*script-src 'self'/, 'the docs page has the policy Swagger UI needs')
  t.not(pages.docs.headers['content-security-policy'], pages.admin.headers['content-security-policy'])
})
