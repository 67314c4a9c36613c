import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { DATASETS_DIR, readDataset, validateDataset } from '../src/load.ts'
import { allocate, planDataset, seededRandom } from '../src/plan.ts'
import { DatasetSchema, type Dataset } from '../src/schema.ts'

const demo = readDataset('demo')
const count = <T>(items: T[]) => items.reduce<Record<string, number>>((acc, k) => ({ ...acc, [String(k)]: (acc[String(k)] ?? 0) + 1 }), {})

t.test('the shipped schema file is the schema the loader checks against', async t => {
  const file = JSON.parse(readFileSync(join(DATASETS_DIR, 'dataset.schema.json'), 'utf8'))
  t.same(file, JSON.parse(JSON.stringify(DatasetSchema)), 'regenerate it: node packages/datasets/src/cli.ts --schema > packages/datasets/datasets/dataset.schema.json')
})

t.test('the demo data set is an Indian team\'s: +91 numbers, INR amounts, Indian names', async t => {
  t.ok(demo.contacts.length >= 30)
  t.ok(demo.contacts.every(c => c.phone?.startsWith('+91')), 'every contact has a +91 number')
  t.ok(demo.payments!.items.every(i => Number(i.amount) >= 9), 'amounts are rupees within Instamojo\'s range')
})

t.test('a seed gives the same plan, another seed another one', async t => {
  const now = Date.parse('2026-12-06T10:00:00Z')
  t.same(planDataset(demo, 7, now), planDataset(demo, 7, now))
  t.notSame(planDataset(demo, 7).steps, planDataset(demo, 8).steps)
  t.equal(planDataset(demo).seed, demo.seed, 'the data set\'s own seed by default')
})

t.test('the demo\'s history is spread over the past week\'s working days, a tenth of it in the last hour, oldest first', async t => {
  const now = Date.parse('2026-12-06T10:00:00Z') // 15:30 IST
  const plan = planDataset(demo, undefined, now)
  const ago = plan.agoMs!
  t.equal(demo.history_days, 7)
  t.equal(ago.length, plan.steps.length, 'a time for every step')
  t.same(ago, [...ago].sort((a, b) => b - a), 'oldest first: the clock only moves forward while loading')
  const at = ago.map(a => new Date(now - a))
  const istDay = (d: Date) => new Date(d.getTime() + 5.5 * 3_600_000).toISOString().slice(0, 10)
  const days = new Set(at.map(istDay))
  t.ok(days.size >= 6, `traffic on ${days.size} different days`)
  t.ok(ago.every(a => a >= 0 && a <= 8 * 86_400_000), 'within the past eight days')
  const lastHour = ago.filter(a => a < 3_600_000).length
  t.equal(lastHour, Math.ceil(plan.steps.length / 10), 'a tenth in the last hour (the Stats charts)')
  const older = at.filter((_, i) => ago[i]! >= 3_600_000)
  t.ok(older.every(d => { const h = (d.getUTCHours() + d.getUTCMinutes() / 60 + 5.5) % 24; return h >= 9 && h < 21 }), 'the rest within IST working hours')
  t.same(planDataset({ ...demo, history_days: 0 }, undefined, now).agoMs, undefined, 'history_days 0: everything now')
})

t.test('outcomes get their exact share of the count (largest remainder), in a seeded order', async t => {
  t.same(count(allocate(10, { a: 0.8, b: 0.2 }, 'a', seededRandom(1))), { a: 8, b: 2 })
  t.same(count(allocate(60, { delivered: 0.8, opened: 0.12, bounced: 0.04, dropped: 0.02, deferred: 0.01, spam: 0.01 }, 'delivered', seededRandom(1))),
    { delivered: 48, opened: 7, bounced: 2, dropped: 1, deferred: 1, spam: 1 })
  t.same(count(allocate(5, undefined, 'x', seededRandom(1))), { x: 5 }, 'no weights: the fallback')
  t.same(allocate(0, { a: 1 }, 'a', seededRandom(1)), [])
  const plan = planDataset(demo)
  const emails = plan.steps.filter(s => s.kind === 'email')
  t.equal(emails.length, demo.email!.count)
  t.same(count(emails.map(s => s.outcome)), { delivered: 48, opened: 7, bounced: 2, dropped: 1, deferred: 1, spam: 1 })
})

t.test('forced outcomes use the emulators\' documented magic values', async t => {
  const plan = planDataset(demo)
  for (const s of plan.steps) {
    if (s.kind === 'email') {
      const tag = { delivered: null, opened: 'open', bounced: 'bounce', dropped: 'drop', deferred: 'defer', spam: 'spam' }[s.outcome]
      if (tag === null) t.notMatch(s.body.to_email, /^(open|bounce|drop|defer|spam|deliver|reject|fail)\+/, 'a delivered email goes to the contact as is')
      else t.match(s.body.to_email, new RegExp(`^${tag}\\+[^@]+@`), `${s.outcome} → ${tag}+`)
    }
    if (s.kind === 'call') {
      const ending = { completed: '5550100', busy: '5550101', no_answer: '5550102', failed: '5550103', voicemail: '5550104' }[s.outcome]
      t.ok(s.body.to_number.startsWith('+91') && s.body.to_number.endsWith(ending), `${s.outcome} → …${ending}`)
    }
  }
})

t.test('a team\'s own file is validated, and a bad one is refused saying where', async t => {
  const dir = t.testdir()
  const own: Dataset = { name: 'mine', contacts: [{ name: 'Asha Rao', email: 'asha@example.com' }], email: { count: 3, subjects: ['Hi {{name}}'], bodies: ['<p>Hello {{name}}</p>'], outcomes: {} } }
  writeFileSync(join(dir, 'mine.json'), JSON.stringify(own))
  const plan = planDataset(readDataset(join(dir, 'mine.json')), 3)
  t.equal(plan.steps.length, 3)
  t.ok(plan.steps.every(s => s.kind === 'email' && s.body.subject === 'Hi Asha'), 'placeholders filled in')

  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ name: 'bad', contacts: [{ name: 'X', phone: 'abc' }], payments: { count: 2, items: [], outcomes: { paid: -1 } } }))
  t.throws(() => readDataset(join(dir, 'bad.json')), /bad\.json does not match the data set schema[\s\S]*\/contacts\/0\/phone/)
  t.throws(() => readDataset('no-such-set'), /No data set "no-such-set".*Built in: demo/)
  writeFileSync(join(dir, 'broken.json'), '{"name": ')
  t.throws(() => readDataset(join(dir, 'broken.json')), /is not valid JSON/)
  t.throws(() => planDataset(validateDataset({ name: 'x', contacts: [{ name: 'No Email' }], email: { count: 1, subjects: ['s'], bodies: ['b'] } })), /no contact has an email/)
})

t.test('meetings: the ended ones start when they are created; the scheduled ones are booked for the coming days, after the clock\'s now', async t => {
  const now = Date.parse('2026-12-06T10:00:00Z') // 15:30 IST
  const meetings = planDataset(demo, undefined, now).steps.filter(s => s.kind === 'meeting')
  t.same(count(meetings.map(s => s.ended)), { true: 4, false: 2 }, 'the README\'s 6 meetings, 4 of them ended')
  t.ok(meetings.filter(s => s.ended).every(s => s.body.start_time === undefined), 'an ended meeting starts at once (and is ended, with its recording)')
  for (const s of meetings.filter(s => !s.ended)) {
    const at = Date.parse(s.body.start_time!)
    t.match(s.body.start_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$/, 'as Zoom takes it')
    t.ok(at > now + 3_600_000 && at < now + 4 * 86_400_000, `booked within the next three days (${s.body.start_time}), so it has not started when the load ends`)
    const ist = new Date(at + 5.5 * 3_600_000)
    t.ok(ist.getUTCHours() >= 10 && ist.getUTCHours() < 18 && ist.getUTCMinutes() % 30 === 0, 'on a half hour of the IST working day')
  }
  const later = Date.parse('2030-01-15T10:00:00Z')
  t.ok(planDataset(demo, undefined, later).steps.every(s => s.kind !== 'meeting' || s.ended || Date.parse(s.body.start_time!) > later), 'relative to the clock the plan is made at')
})

t.test('a placeholder nothing fills in is refused, naming where it is; the ones a text takes pass', async t => {
  const demo = readDataset('demo')
  const withTypo = structuredClone(demo) as Dataset
  withTypo.email!.subjects[0] = 'Hi {{nmae}}, your order'
  withTypo.zoom!.topics[0] = 'Review for {{order}}'
  t.throws(() => validateDataset(withTypo, 'typo.json'), /typo\.json has placeholders nothing fills in[\s\S]*\/email\/subjects\/0: \{\{nmae\}\} is not filled in here \(known: \{\{name\}\}, \{\{full_name\}\}, \{\{company\}\}\)[\s\S]*\/zoom\/topics\/0: \{\{order\}\}/)
  const fine = structuredClone(demo) as Dataset
  fine.email!.subjects[0] = 'Hi {{name}} of {{company}}'
  t.doesNotThrow(() => validateDataset(fine))
})
