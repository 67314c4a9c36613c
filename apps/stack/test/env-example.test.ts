/**
 * The README (Configuration) sends a reader to .env.example: "every variable is there with a
 * comment". Every variable any app's environment schema reads must be in it, set or commented out.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { EmailEnvSchema } from '@switchboard/email/config'
import { GatewayEnvSchema } from '@switchboard/gateway/config'
import { PaymentsEnvSchema } from '@switchboard/payments/config'
import { VoiceEnvSchema } from '@switchboard/voice/config'
import { WhatsAppEnvSchema } from '@switchboard/whatsapp/config'
import { ZoomEnvSchema } from '@switchboard/zoom/config'

t.test('.env.example lists every variable the apps read', async t => {
  const example = readFileSync(resolve(import.meta.dirname, '../../../.env.example'), 'utf8')
  const listed = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map(m => m[1]))
  const schemas = [EmailEnvSchema, GatewayEnvSchema, PaymentsEnvSchema, VoiceEnvSchema, WhatsAppEnvSchema, ZoomEnvSchema]
  const read = new Set(schemas.flatMap(s => Object.keys(s.properties)))
  t.same([...read].filter(name => !listed.has(name)).sort(), [], 'no variable an app reads is missing from .env.example')
})
