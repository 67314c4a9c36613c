/**
 * How long the emulator keeps an ended meeting. A data set plays its meetings up to 90 days back on
 * the test clock (history_days), and a team's demo shows their recordings: a meeting that ended a
 * week ago on the clock is still there (and its recordings) once the clock is back to real time
 * and the retention sweep has run.
 */
import t from 'tap'
import type { ZoomEmulatorState } from '../src/emulator/index.ts'
import { loadZoomEnv } from '../src/config.ts'
import { startZoomApp } from './helper.ts'

t.test('a meeting that ended a week ago on the test clock outlives the sweep, with its recordings', async t => {
  const { app, zcall, call, token } = await startZoomApp(t, { env: { ZOOM_WEBHOOK_URL: 'off' } })
  const weekAgo = Date.now() - 7 * 86_400_000
  app.clock.apply({ frozen_at: weekAgo, offset_ms: 0 })
  const created = await zcall('POST', '/v2/users/me/meetings', { topic: 'Last week\'s review', type: 1, duration: 30 })
  t.equal(created.status, 201)
  app.clock.apply({ frozen_at: weekAgo + 3_600_000, offset_ms: 0 }) // it ended, and its recordings are made
  app.clock.apply({ frozen_at: null, offset_ms: 0 }) // back to real time

  const state = (app as unknown as { zoomEmulator: ZoomEmulatorState }).zoomEmulator
  t.equal(state.store.sweep(), 0, 'the sweep keeps it')
  // A token of today's (the first one's hour ran out last week on the clock).
  const now = { authorization: `Bearer ${await token()}` }
  t.match((await call('GET', `/zoom/v2/meetings/${created.body.id}`, undefined, now)).body, { id: created.body.id })
  const recordings = await call('GET', `/zoom/v2/meetings/${created.body.id}/recordings`, undefined, now)
  t.equal(recordings.status, 200, 'its recordings are served')
  t.equal(recordings.body.recording_files.length, 3)
  t.equal(loadZoomEnv({}).ZOOM_ENDED_RETENTION_S, 90 * 86_400, 'by default 90 days: the longest history a data set plays')
})
