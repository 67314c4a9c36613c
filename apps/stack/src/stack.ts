import type { FastifyInstance } from 'fastify'
import { buildApp as buildEmail } from '@switchboard/email/app'
import { loadEmailEnv, emailSimulationOverrides } from '@switchboard/email/config'
import { buildApp as buildGateway } from '@switchboard/gateway/app'
import { loadGatewayEnv } from '@switchboard/gateway/config'
import type { Tokens } from '@switchboard/gateway/tokens'
import { buildApp as buildPayments } from '@switchboard/payments/app'
import { loadPaymentsEnv, paymentsSimulationOverrides } from '@switchboard/payments/config'
import { assertModeAllowed } from '@switchboard/service-kit/env'
import { closeSharedInfrastructure, openSharedInfrastructure, type SharedInfrastructure } from '@switchboard/service-kit/service-app'
import type { ServiceName } from '@switchboard/service-kit/services'
import { buildApp as buildWhatsApp } from '@switchboard/whatsapp/app'
import { loadWhatsAppEnv, whatsappSimulationOverrides } from '@switchboard/whatsapp/config'
import { buildApp as buildVoice } from '@switchboard/voice/app'
import { loadVoiceEnv, voiceSimulationOverrides } from '@switchboard/voice/config'
import { buildApp as buildZoom } from '@switchboard/zoom/app'
import { loadZoomEnv, zoomSimulationOverrides } from '@switchboard/zoom/config'

export interface StackServer { name: ServiceName | 'gateway', app: FastifyInstance, port: number, host: string }

export interface Stack {
  servers: StackServer[]
  shared: SharedInfrastructure
  tokens: Tokens
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
  const emailEnv = loadEmailEnv(rawEnv)
  const whatsappEnv = loadWhatsAppEnv(rawEnv)
  const paymentsEnv = loadPaymentsEnv(rawEnv)
  const voiceEnv = loadVoiceEnv(rawEnv)
  const zoomEnv = loadZoomEnv(rawEnv)

  const shared = await openSharedInfrastructure(gatewayEnv, undefined, {
    email: emailSimulationOverrides(emailEnv),
    whatsapp: whatsappSimulationOverrides(whatsappEnv),
    payments: paymentsSimulationOverrides(paymentsEnv),
    voice: voiceSimulationOverrides(voiceEnv),
    zoom: zoomSimulationOverrides(zoomEnv)
  })
  const servers: StackServer[] = []
  try {
    servers.push({ name: 'email', app: await buildEmail({ env: emailEnv, shared, ...(logger !== undefined ? { logger } : {}) }), port: emailEnv.EMAIL_PORT, host: emailEnv.HOST })
    servers.push({ name: 'whatsapp', app: await buildWhatsApp({ env: whatsappEnv, shared, ...(logger !== undefined ? { logger } : {}) }), port: whatsappEnv.WHATSAPP_PORT, host: whatsappEnv.HOST })
    servers.push({ name: 'payments', app: await buildPayments({ env: paymentsEnv, shared, ...(logger !== undefined ? { logger } : {}) }), port: paymentsEnv.PAYMENTS_PORT, host: paymentsEnv.HOST })
    servers.push({ name: 'voice', app: await buildVoice({ env: voiceEnv, shared, ...(logger !== undefined ? { logger } : {}) }), port: voiceEnv.VOICE_PORT, host: voiceEnv.HOST })
    servers.push({ name: 'zoom', app: await buildZoom({ env: zoomEnv, shared, ...(logger !== undefined ? { logger } : {}) }), port: zoomEnv.ZOOM_PORT, host: zoomEnv.HOST })
    const services = servers.map(s => s.name) as ServiceName[]
    // One set of tokens for the six servers (resolved with the shared infrastructure): the
    // gateway sends the internal credential the services check.
    const tokens = shared.tokens
    servers.push({ name: 'gateway', app: await buildGateway({ env: gatewayEnv, tokens, services, shared, ...(logger !== undefined ? { logger } : {}) }), port: gatewayEnv.GATEWAY_PORT, host: gatewayEnv.HOST })
    return {
      servers,
      shared,
      tokens,
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

/** Listens on every server; port 0 (tests) picks free ports. Returns each server's base URL. */
export async function listenStack (stack: Stack, portOverride?: number): Promise<Record<string, string>> {
  const urls: Record<string, string> = {}
  for (const s of stack.servers) {
    const address = await s.app.listen({ port: portOverride ?? s.port, host: s.host })
    urls[s.name] = address.replace('0.0.0.0', '127.0.0.1')
  }
  return urls
}
