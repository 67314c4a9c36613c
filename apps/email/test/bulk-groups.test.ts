import t from 'tap'
import { BODY_TAG, MAX_PACKED_BYTES, planBulkGroups, requestBody, substitutionBytes } from '../src/service/bulk-groups.ts'

const to = (i: number, content: string, content_type?: 'text/plain' | 'text/html') => ({ to_email: `u${i}@example.com`, subject: `s${i}`, content, ...(content_type ? { content_type } : {}) })
const sizes = (groups: unknown[][]) => groups.map(g => g.length)

t.test('bodies of their own are packed 1,000 to a request; packing off gives one request per body', async t => {
  const list = Array.from({ length: 2500 }, (_v, i) => to(i, `<p>Hello ${i}</p>`))
  t.same(sizes(planBulkGroups(list, { pack: true })), [1000, 1000, 500])
  t.equal(planBulkGroups(list, { pack: false }).length, 2500)
})

t.test('a shared body fills whole requests first; its remainder joins the packs', async t => {
  const list = [...Array.from({ length: 2300 }, (_v, i) => to(i, 'Same for all')), ...Array.from({ length: 10 }, (_v, i) => to(5000 + i, `own ${i}`))]
  const groups = planBulkGroups(list, { pack: true })
  t.same(sizes(groups), [1000, 1000, 310])
  t.same(new Set(groups[0]!.map(r => r.content)), new Set(['Same for all']))
  t.same(requestBody(groups[0]!).content, [{ type: 'text/html', value: 'Same for all' }], 'a request of one body carries it as its content')
  t.equal(requestBody(groups[0]!).substitutionsOf(groups[0]![0]!), undefined, 'and no substitutions')
})

t.test('text and HTML bodies never share a request; a body too large for substitutions goes alone', async t => {
  const big = 'x'.repeat(10_000)
  t.ok(substitutionBytes(big) >= 10_000, 'over SendGrid\'s 10,000 bytes of substitutions')
  const list = [to(1, 'a', 'text/plain'), to(2, 'b'), to(3, 'c', 'text/plain'), to(4, big), to(5, 'd', 'text/html')]
  const groups = planBulkGroups(list, { pack: true })
  t.same(groups.map(g => g.map(r => r.to_email)), [['u1@example.com', 'u3@example.com'], ['u2@example.com', 'u5@example.com'], ['u4@example.com']])
  const body = requestBody(groups[0]!)
  t.same(body.content, [{ type: 'text/plain', value: BODY_TAG }])
  t.same(body.substitutionsOf(groups[0]![1]!), { [BODY_TAG]: 'c' }, 'each recipient\'s own body, under the tag the content is')
})

t.test('a request\'s substituted bodies stay under MAX_PACKED_BYTES', async t => {
  const body = (i: number) => `${i}`.padEnd(9000, '.')
  const list = Array.from({ length: 1000 }, (_v, i) => to(i, body(i)))
  const groups = planBulkGroups(list, { pack: true })
  t.ok(groups.length > 1, `split into ${groups.length} requests`)
  for (const g of groups) t.ok(g.reduce((n, r) => n + substitutionBytes(r.content), 0) <= MAX_PACKED_BYTES)
  t.equal(groups.flat().length, 1000, 'every recipient in exactly one request')
})

t.test('a subject holding the tag is never packed: SendGrid would put the body there too', async t => {
  const list = [to(1, 'own 1'), { ...to(2, 'own 2'), subject: `Hi ${BODY_TAG} there` }, to(3, 'own 3')]
  const groups = planBulkGroups(list, { pack: true })
  t.same(groups.map(g => g.map(r => r.to_email)), [['u1@example.com', 'u3@example.com'], ['u2@example.com']])
  t.same(requestBody(groups[1]!).content, [{ type: 'text/html', value: 'own 2' }], 'sent with its own body as the content')
})
