import type { Test } from 'tap'
import { eventually as eventuallyWithin, startServiceApp, type ServiceTestApp, type ServiceTestAppOptions } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { loadEmailEnv, type EmailEnv } from '../src/config.ts'

export type EmailTestApp = ServiceTestApp

/** The email service listening on a free port, on a test database, instant and always successful by default. */
export const startEmailApp = (t: Test, opts: Pick<ServiceTestAppOptions<EmailEnv>, 'env' | 'simulation' | 'mockMode' | 'activityLog'> = {}): Promise<EmailTestApp> =>
  startServiceApp(t, { service: 'email', buildApp, loadEnv: loadEmailEnv, ...opts })

export const MOCK_KEY = 'SG.test-key.abcdefghijklmnop'
export const auth = { authorization: `Bearer ${MOCK_KEY}` }

export const mail = (to: string | string[], extra: Record<string, unknown> = {}) => ({
  personalizations: (Array.isArray(to) ? to : [to]).map(email => ({ to: [{ email }] })),
  from: { email: 'sender@example.com' },
  subject: 'Hello',
  content: [{ type: 'text/plain', value: 'Hi there' }],
  ...extra
})

/** Polls until check() passes or the time runs out (for webhook-driven state): 5 s unless told. */
export const eventually = <T>(check: () => Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> => eventuallyWithin(check, timeoutMs)
