import type { FastifyPluginAsync } from 'fastify'
import type { ServiceName } from '@switchboard/service-kit/services'
import { emailRoutes } from './email.ts'
import { paymentsRoutes } from './payments.ts'
import { voiceRoutes } from './voice.ts'
import { zoomRoutes } from './zoom.ts'
import { whatsappRoutes } from './whatsapp.ts'

/** Each service's public routes. A service plugs in here with one line. */
export const SERVICE_ROUTES: Partial<Record<ServiceName, FastifyPluginAsync>> = {
  email: emailRoutes,
  whatsapp: whatsappRoutes,
  payments: paymentsRoutes,
  voice: voiceRoutes,
  zoom: zoomRoutes
}
