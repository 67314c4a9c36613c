import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApp as buildEmail } from '@switchboard/email/app'
import { loadEmailEnv, emailSimulationOverrides } from '@switchboard/email/config'
import { buildApp as buildGateway } from '@switchboard/gateway/app'
import { loadGatewayEnv } from '@switchboard/gateway/config'
import type { Tokens } from '@switchboard/gateway/tokens'
import { buildApp as buildPayments } from '@switchboard/payments/app'
import { loadPaymentsEnv, paymentsSimulationOverrides } from '@switchboard/payments/config'
import { assertModeAllowed } from '@switchboard/service-kit/env'
import { closeSharedInfrastructure, openSharedInfrastructure, type SharedInfrastructure, type SimulationOverrides } from '@switchboard/service-kit/service-app'
import { processLogger } from '@switchboard/service-kit/logging'
import type { ServiceName } from '@switchboard/service-kit/services'
import { buildApp as buildWhatsApp } from '@switchboard/whatsapp/app'
import { loadWhatsAppEnv, whatsappSimulationOverrides } from '@switchboard/whatsapp/config'
import { buildApp as buildVoice } from '@switchboard/voice/app'
import { loadVoiceEnv, voiceSimulationOverrides } from '@switchboard/voice/config'
import { buildApp as buildZoom } from '@switchboard/zoom/app'
import { loadZoomEnv, zoomSimulationOverrides } from '@switchboard/zoom/config'

export interface StackServer { name: ServiceName | 'gateway', app: FastifyInstance, port: number, host: string }

export interface Stack {
  /** The services, then (once listenStack ran) the gateway. */
  servers: StackServer[]
  shared: SharedInfrastructure
  tokens: Tokens
  /** Builds the gateway in front of the services at the addresses they actually listen on. */
  buildGateway: (serviceUrls: Record<ServiceName, string>) => Promise<StackServer>
  close: () => Promise<void>
}

type Env = Record<string, string | undefined>

/**
 * Every service plus the gateway in one process, sharing one activity log (the embedded database
 * by default). Each service registers here with its env loader and buildApp.
 */
export async function buildStack (rawEnv: Env = process.env, logger?: boolean | object): Promise<Stack> {
  const gatewayEnv = loadGatewayEnv(rawEnv)
  assertModeAllowed(gatewayEnv)
  // The database starts opening (on its own thread) first; the services' environments are read
  // meanwhile, and their simulation settings are taken once it is open.
  const seed: { simulation?: SimulationOverrides } = {}
  // The activity log writes its JSON lines as the servers do (not through the console).
  const opening = openSharedInfrastructure(gatewayEnv, processLogger(logger, gatewayEnv, 'activity-log'), () => seed.simulation)
  let envs
  try {
    envs = { email: loadEmailEnv(rawEnv), whatsapp: loadWhatsAppEnv(rawEnv), payments: loadPaymentsEnv(rawEnv), voice: loadVoiceEnv(rawEnv), zoom: loadZoomEnv(rawEnv) }
  } catch (err) {
    await opening.then(closeSharedInfrastructure, () => {})
    throw err
  }
  const { email: emailEnv, whatsapp: whatsappEnv, payments: paymentsEnv, voice: voiceEnv, zoom: zoomEnv } = envs
  seed.simulation = {
    email: emailSimulationOverrides(emailEnv),
    whatsapp: whatsappSimulationOverrides(whatsappEnv),
    payments: paymentsSimulationOverrides(paymentsEnv),
    voice: voiceSimulationOverrides(voiceEnv),
    zoom: zoomSimulationOverrides(zoomEnv)
  }
  const shared = await opening
  const servers: StackServer[] = []
  try {
    servers.push({ name: 'email', app: await buildEmail({ env: emailEnv, shared, ...(logger !== undefined ? { logger } : {}) }), port: emailEnv.EMAIL_PORT, host: emailEnv.HOST })
    servers.push({ name: 'whatsapp', app: await buildWhatsApp({ env: whatsappEnv, shared, ...(logger !== undefined ? { logger } : {}) }), port: whatsappEnv.WHATSAPP_PORT, host: whatsappEnv.HOST })
    // A link resent by email or WhatsApp goes to this stack's own services, wherever they listen.
    const siblingUrl = (name: 'email' | 'whatsapp') => {
      try { return servers.find(s => s.name === name)?.app.selfBaseUrl() } catch { return undefined }
    }
    servers.push({ name: 'payments', app: await buildPayments({ env: paymentsEnv, shared, siblingUrl, ...(logger !== undefined ? { logger } : {}) }), port: paymentsEnv.PAYMENTS_PORT, host: paymentsEnv.HOST })
    servers.push({ name: 'voice', app: await buildVoice({ env: voiceEnv, shared, ...(logger !== undefined ? { logger } : {}) }), port: voiceEnv.VOICE_PORT, host: voiceEnv.HOST })
    servers.push({ name: 'zoom', app: await buildZoom({ env: zoomEnv, shared, ...(logger !== undefined ? { logger } : {}) }), port: zoomEnv.ZOOM_PORT, host: zoomEnv.HOST })
    const services = servers.map(s => s.name) as ServiceName[]
    // One set of tokens for the six servers (resolved with the shared infrastructure): the
    // gateway sends the internal credential the services check.
    const tokens = shared.tokens
    return {
      servers,
      shared,
      tokens,
      buildGateway: async (serviceUrls) => {
        const env = { ...gatewayEnv, ...Object.fromEntries(services.map(s => [`${s.toUpperCase()}_SERVICE_URL`, serviceUrls[s]])) }
        return { name: 'gateway', app: await buildGateway({ env, tokens, services, shared, ...(logger !== undefined ? { logger } : {}) }), port: gatewayEnv.GATEWAY_PORT, host: gatewayEnv.HOST }
      },
      close: async () => {
        // The gateway stops taking requests first; the database closes last, after every buffer flushed.
        for (const s of [...servers].reverse()) await s.app.close()
        await closeSharedInfrastructure(shared)
      }
    }
  } catch (err) {
    for (const s of servers) await s.app.close()
    await closeSharedInfrastructure(shared)
    throw err
  }
}

/** Says which port was taken (and by which variable it is set), instead of a bare EADDRINUSE. */
export class PortInUseError extends Error {
  /** The system's code, so callers that retry on EADDRINUSE recognise it. */
  readonly code = 'EADDRINUSE'
  readonly variable: string
  readonly port: number

  constructor (variable: string, port: number, host: string, cause: unknown) {
    super(`Port ${port} (${variable}) on ${host} is already in use, probably by another Switchboard or another program. ` +
      `Stop that process (\`lsof -i :${port}\` names it), or start with ${variable}=<another port> (${variable}=0 picks any free port; the chosen ones are printed and written to stack.json in the data folder).`, { cause })
    this.name = 'PortInUseError'
    this.variable = variable
    this.port = port
  }
}

async function listenOne (s: StackServer, port: number): Promise<string> {
  try {
    const address = await s.app.listen({ port, host: s.host })
    s.port = (s.app.server.address() as { port: number }).port
    return address.replace('0.0.0.0', '127.0.0.1')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(`${s.name.toUpperCase()}_PORT`, port, s.host, err)
    throw err
  }
}

/**
 * Listens on every service, then builds the gateway with the services' real addresses (so port 0,
 * any free port, works for every server) and listens on it. Returns each server's base URL.
 */
export async function listenStack (stack: Stack, portOverride?: number): Promise<Record<string, string>> {
  const urls: Record<string, string> = {}
  for (const s of stack.servers) {
    if (s.name === 'gateway') continue
    urls[s.name] = await listenOne(s, portOverride ?? s.port)
  }
  let gateway = stack.servers.find(s => s.name === 'gateway')
  if (!gateway) stack.servers.push(gateway = await stack.buildGateway(urls as Record<ServiceName, string>))
  urls.gateway = await listenOne(gateway, portOverride ?? gateway.port)
  return urls
}

/** What stack.json in the data folder holds, for scripts (and parallel test runs on port 0). */
export interface StackFile {
  pid: number
  started_at: string
  urls: Record<string, string>
  admin_page: string
  docs: string
  tokens_file: string | null
}

/** Writes <data folder>/stack.json (every URL and the pid); returns its path. */
export function writeStackFile (dataDir: string, urls: Record<string, string>, tokens: Tokens): string {
  const file = join(dataDir, 'stack.json')
  const body: StackFile = { pid: process.pid, started_at: new Date().toISOString(), urls, admin_page: `${urls.gateway}/admin`, docs: `${urls.gateway}/docs`, tokens_file: tokens.file ?? null }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  // Owner only, as everything in the data folder is (also the one a killed stack left behind).
  writeFileSync(file, JSON.stringify(body, null, 2) + '\n', { mode: 0o600 })
  chmodSync(file, 0o600)
  return file
}
