import type { Table } from '@switchboard/activity-log'
import type { ServiceName } from '@switchboard/schemas/common'
import type { SimulationSettings } from '../emulator/simulation.ts'

export type { ServiceName }

export interface ServiceDescriptor {
  name: ServiceName
  /** The provider this service fronts, as people call it. */
  provider: string
  /** Default port (each is configurable). */
  port: number
  /** Prefix of the service's error codes. */
  codePrefix: string
  /** Where the provider emulator is mounted on the service. */
  emulatorPrefix: string
  /** Which variable seeds the mode at first start. */
  modeVariable: 'MOCK_MODE' | 'USE_MOCK_ZOOM'
  /**
   * The table of the service's own rows (one per message, payment link or call), where the admin
   * API finds an item by id; undefined for Zoom, whose requests are only in activity_exchanges.
   */
  logTable?: Table
  /** The spec's response times and success rates. */
  simulation: SimulationSettings
  /**
   * Why the service never falls back to its emulator, for the services that never do (the admin
   * API refuses to turn fallback on, and says this); undefined where fallback is allowed.
   */
  neverFallsBack?: string
}

const sim = (min: number, max: number, successRate: number): SimulationSettings =>
  ({ latencyMs: { min, max }, successRate, seed: null, scenario: 'none' })

/** The five services and the spec's simulation defaults for each (spec: "Mock Services Features"). */
export const SERVICES: Record<ServiceName, ServiceDescriptor> = {
  email: { name: 'email', provider: 'SendGrid', port: 3001, codePrefix: 'EMAIL', emulatorPrefix: '/sendgrid', logTable: 'email_logs', modeVariable: 'MOCK_MODE', simulation: sim(300, 1300, 0.90) },
  whatsapp: { name: 'whatsapp', provider: 'AiSensy', port: 3002, codePrefix: 'WHATSAPP', emulatorPrefix: '/aisensy', logTable: 'whatsapp_logs', modeVariable: 'MOCK_MODE', simulation: sim(400, 1200, 0.95) },
  payments: {
    name: 'payments',
    provider: 'Instamojo',
    port: 3003,
    codePrefix: 'PAYMENTS',
    emulatorPrefix: '/instamojo',
    logTable: 'payments',
    modeVariable: 'MOCK_MODE',
    simulation: sim(400, 1000, 0.98),
    neverFallsBack: 'Payments never fall back to the emulator: a mock payment link would be a lie to a buyer.'
  },
  voice: { name: 'voice', provider: 'Bolna.ai', port: 3004, codePrefix: 'VOICE', emulatorPrefix: '/bolna', logTable: 'call_logs', modeVariable: 'MOCK_MODE', simulation: sim(500, 1300, 0.90) },
  zoom: {
    name: 'zoom',
    provider: 'Zoom',
    port: 3005,
    codePrefix: 'ZOOM',
    emulatorPrefix: '/zoom',
    modeVariable: 'USE_MOCK_ZOOM',
    simulation: sim(0, 0, 1),
    neverFallsBack: 'Zoom never falls back to the emulator: invitees would get a join link to a meeting that does not exist.'
  }
}

export const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[]

/** The services that keep a log table (all but Zoom): the admin API's per-row routes take these. */
export const LOGGED_SERVICES = SERVICE_NAMES.filter(name => SERVICES[name].logTable !== undefined)
