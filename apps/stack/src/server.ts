import closeWithGrace from 'close-with-grace'
import { maskSecret } from '@switchboard/service-kit/credentials'
import { ConfigError } from '@switchboard/service-kit/env'
import { loadDotEnv } from '@switchboard/service-kit/lifecycle'
import { buildStack, listenStack } from './stack.ts'

// `./switchboard start`: the whole stack on the embedded defaults.
loadDotEnv()
let stack
try {
  stack = await buildStack()
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message)
    process.exit(78)
  }
  throw err
}
closeWithGrace({ delay: 15_000 }, async () => { await stack.close() })
const urls = await listenStack(stack)

// A token set in the environment is the operator's secret, and start-up output often ends up in a
// log collector: it is shown masked. Generated ones are printed so a newcomer can call the API.
const shown = (token: string, variable: string) => process.env[variable] ? `${maskSecret(token)} (from ${variable})` : token
const modes = stack.shared.runtime.all()
const lines = [
  '',
  '  Switchboard is running',
  '',
  `  Gateway     ${urls.gateway}        API docs ${urls.gateway}/docs`,
  ...stack.servers.filter(s => s.name !== 'gateway').map(s => {
    const name = s.name as keyof typeof modes
    return `  ${name.padEnd(10)}  ${urls[name]}   ${modes[name].mode === 'mock' ? 'MOCK mode (provider emulator)' : 'LIVE mode (real provider)'}`
  }),
  '',
  `  API token   ${shown(stack.tokens.apiToken, 'API_TOKEN')}`,
  `  Admin token ${shown(stack.tokens.adminToken, 'ADMIN_TOKEN')}`,
  stack.tokens.file ? `  (generated, kept in ${stack.tokens.file}; set API_TOKEN / ADMIN_TOKEN to choose your own)` : '',
  '',
  `  Try:  curl -s -X POST ${urls.gateway}/api/automation/trigger/email \\`,
  `          -H "Authorization: Bearer ${process.env.API_TOKEN ? '$API_TOKEN' : stack.tokens.apiToken}" -H 'content-type: application/json' \\`,
  `          -d '{"to_email":"deliver@example.com","subject":"Hello","content":"<p>Hi</p>"}'`,
  ''
]
process.stdout.write(lines.join('\n') + '\n')
