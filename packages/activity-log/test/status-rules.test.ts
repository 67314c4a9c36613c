import t from 'tap'
import { composeStatus, movesFrom, type StatusTable } from '../src/index.ts'

// The targets each table's writers use, and the statuses its rows start in.
const TABLES: Record<StatusTable, { targets: string[], starts: string[] }> = {
  email_logs: { targets: ['processed', 'deferred', 'delivered', 'bounced', 'opened', 'clicked', 'unsubscribed'], starts: ['queued', 'sent', 'delivered', 'bounced', 'failed'] },
  whatsapp_logs: { targets: ['sent', 'delivered', 'read', 'failed'], starts: ['submitted', 'sent', 'delivered', 'read', 'failed'] },
  crm_messages: { targets: ['sent', 'delivered', 'read', 'failed'], starts: ['submitted', 'failed'] },
  call_logs: { targets: ['queued', 'initiated', 'ringing', 'in-progress', 'completed', 'busy', 'stopped'], starts: ['scheduled', 'queued', 'ringing', 'completed', 'failed'] },
  payments: { targets: ['paid', 'failed'], starts: ['pending', 'failed', 'paid'] }
}

const apply = (table: StatusTable) => (row: string, status: string) => movesFrom(table, status)!.includes(row) ? status : row

t.test('coalesced moves end where the same moves applied one by one would, from every starting status', async t => {
  let checked = 0
  for (const [table, { targets, starts }] of Object.entries(TABLES) as Array<[StatusTable, typeof TABLES[StatusTable]]>) {
    const sequences: string[][] = [[]]
    for (let length = 1; length <= 4; length++) {
      for (const shorter of sequences.filter(s => s.length === length - 1)) for (const s of targets) sequences.push([...shorter, s])
    }
    for (const start of starts) {
      for (const sequence of sequences.slice(1)) {
        const oneByOne = sequence.reduce(apply(table), start)
        // What the activity log writes: each move folded into the waiting one, or queued after it.
        const written: string[] = []
        let waiting: string | undefined
        for (const status of sequence) {
          const folded = waiting === undefined ? undefined : composeStatus(table, waiting, status)
          if (folded !== undefined) waiting = folded
          else {
            if (waiting !== undefined) written.push(waiting)
            waiting = status
          }
        }
        written.push(waiting!)
        const merged = written.reduce(apply(table), start)
        if (merged !== oneByOne) t.fail(`${table}: ${start} then ${sequence.join(', ')}: one by one ${oneByOne}, coalesced ${merged}`)
        checked++
      }
    }
  }
  t.ok(checked > 10_000, `${checked} sequences checked`)
  t.equal(composeStatus('whatsapp_logs', 'failed', 'read'), undefined, 'read after failed is no single status')
  t.equal(composeStatus('whatsapp_logs', 'delivered', 'failed'), 'delivered')
  t.equal(composeStatus('whatsapp_logs', 'sent', 'failed'), 'failed')
  t.equal(composeStatus('call_logs', 'ringing', 'queued'), 'ringing', 'a late status folds into the later one')
})

t.test('a status moves only forward', async t => {
  t.same(movesFrom('call_logs', 'queued'), ['scheduled'])
  t.same(movesFrom('call_logs', 'in-progress'), ['scheduled', 'queued', 'rescheduled', 'initiated', 'ringing'])
  t.notOk(movesFrom('call_logs', 'completed')!.includes('busy'), 'final statuses never replace each other')
  t.equal(movesFrom('call_logs', 'answered'), undefined)
  t.same(movesFrom('payments', 'paid'), ['pending', 'failed'])
  t.same(movesFrom('payments', 'failed'), ['pending'], 'paid is final')
  t.notOk(movesFrom('email_logs', 'bounced')!.includes('delivered'), 'no failure after delivery')
  t.ok(movesFrom('email_logs', 'clicked')!.includes('opened'))
  t.equal(movesFrom('email_logs', 'constructor'), undefined, 'only the table\'s own statuses')
})
