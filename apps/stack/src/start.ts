import { rmSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import closeWithGrace from 'close-with-grace'
import { loadDataset, readDataset } from '@switchboard/datasets/load'
import type { Dataset } from '@switchboard/datasets/schema'
import { maskSecret } from '@switchboard/service-kit/credentials'
import { ConfigError } from '@switchboard/service-kit/env'
import { loadDotEnv } from '@switchboard/service-kit/lifecycle'
import { buildStack, listenStack, PortInUseError, writeStackFile, type Stack } from './stack.ts'

// `./switchboard start [--dataset demo|FILE] [--seed N]`: the whole stack on the embedded defaults,
// optionally loaded with a data set once it listens.
const USAGE = `Usage: ./switchboard start [--dataset demo|FILE] [--seed N]

Starts the whole stack (gateway and five services) on the embedded database, in mock mode unless
MOCK_MODE=false. Settings come from the environment and .env (see .env.example).
  --dataset demo|FILE  load a data set once the stack listens (README: Data sets)
  --seed N             the data set's seed (the same seed, the same data)`
let flags: { dataset?: string | undefined, seed?: string | undefined, help?: boolean | undefined }
let dataset: Dataset | undefined
try {
  flags = parseArgs({ options: { dataset: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }).values
  if (flags.help) {
    console.log(USAGE)
    process.exit(0)
  }
  dataset = flags.dataset === undefined ? undefined : readDataset(flags.dataset)
  if (flags.seed !== undefined && !/^\d+$/.test(flags.seed)) throw new Error(`--seed must be a whole number, got "${flags.seed}".`)
} catch (err) {
  console.error(`${(err as Error).message}\n\n${USAGE}`)
  process.exit(2)
}
loadDotEnv()
let stack: Stack
try {
  stack = await buildStack()
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message)
    process.exit(78)
  }
  throw err
}
// The stack's own lines (shutdown) under the gateway's name, the stack's public face.
const log = () => (stack.servers.find(s => s.name === 'gateway') ?? stack.servers[0]!).app.log
// eslint-disable-next-line prefer-const -- set once the stack listens, below; the shutdown hook reads it first
let stackFile: string | undefined
closeWithGrace({ delay: 15_000 }, async ({ err, signal }) => {
  if (err) log().error({ err }, 'closing after an unexpected error')
  else log().info({ signal }, `shutting down (${signal ?? 'requested'}): finishing requests in flight, flushing the activity log`)
  if (stackFile) rmSync(stackFile, { force: true })
  await stack.close()
  log().info('stopped')
})
let urls: Record<string, string>
try {
  urls = await listenStack(stack)
} catch (err) {
  // The gateway is built here, once the services listen (it needs their ports), so a setting only
  // it checks (SWITCHBOARD_EVENTS_*) fails here: said as any other bad setting is, not as a crash.
  if (err instanceof PortInUseError || err instanceof ConfigError) {
    console.error(err.message)
    await stack.close()
    process.exit(err instanceof ConfigError ? 78 : 1)
  }
  throw err
}
const dataDir = process.env.SWITCHBOARD_DATA_DIR || '.data'
stackFile = writeStackFile(dataDir, urls, stack.tokens)

// A token set in the environment is the operator's secret: it is shown masked. A generated one is
// printed whole at a terminal, so a newcomer can call the API; output that is not a terminal (a
// pipe, nohup, a container's log) ends up in files and log collectors, so there it is masked too
// and the banner says where the whole one is (tokens.json, readable by its owner only).
const atTerminal = process.stdout.isTTY === true
const shown = (token: string, variable: string) => process.env[variable]
  ? `${maskSecret(token)} (from ${variable})`
  : atTerminal ? token : `${maskSecret(token)} (whole in ${stack.tokens.file ? resolve(stack.tokens.file) : 'the tokens file'})`
const curlToken = process.env.API_TOKEN || !atTerminal ? '$API_TOKEN' : stack.tokens.apiToken
const modes = stack.shared.runtime.all()
const lines = [
  '',
  '  Switchboard is running',
  '',
  `  Gateway     ${urls.gateway}        API docs ${urls.gateway}/docs`,
  `  Admin page  ${urls.gateway}/admin  (sign in with the admin token)`,
  ...stack.servers.filter(s => s.name !== 'gateway').map(s => {
    const name = s.name as keyof typeof modes
    return `  ${name.padEnd(10)}  ${urls[name]}   ${modes[name].mode === 'mock' ? 'MOCK mode (provider emulator)' : 'LIVE mode (real provider)'}`
  }),
  `  (every URL and this process's pid are in ${stackFile}, for scripts)`,
  process.env.EMULATOR_AUTH === 'issued'
    ? '  Emulators   take only this stack\'s own accounts (EMULATOR_AUTH=issued): GET /api/admin/emulators'
    : '  Emulators   take any credential of the provider\'s shape (EMULATOR_AUTH=issued for a shared box)',
  '',
  `  API token   ${shown(stack.tokens.apiToken, 'API_TOKEN')}`,
  `  Admin token ${shown(stack.tokens.adminToken, 'ADMIN_TOKEN')}`,
  // Only when one of the two shown was generated (the internal credential alone may have been).
  stack.tokens.file && !(process.env.API_TOKEN && process.env.ADMIN_TOKEN) ? `  (generated, kept in ${stack.tokens.file}; set API_TOKEN / ADMIN_TOKEN to choose your own)` : '',
  '',
  `  Try:  curl -s -X POST ${urls.gateway}/api/automation/trigger/email \\`,
  `          -H "Authorization: Bearer ${curlToken}" -H 'content-type: application/json' \\`,
  '          -d \'{"to_email":"deliver@example.com","subject":"Hello","content":"<p>Hi</p>"}\'',
  ''
]
process.stdout.write(lines.join('\n') + '\n')

if (dataset !== undefined) {
  // Through the gateway like any client, so every table and emulator agrees (README: Data sets).
  loadDataset(dataset, { baseUrl: urls.gateway!, apiToken: stack.tokens.apiToken, adminToken: stack.tokens.adminToken, ...(flags.seed !== undefined ? { seed: Number(flags.seed) } : {}), log: line => log().info(line) })
    .then(report => { for (const f of report.failures.slice(0, 10)) log().warn(`data set ${report.dataset}: a ${f.kind} step failed: HTTP ${f.status} ${f.message}`) })
    .catch((err: Error) => log().error(`could not load the data set: ${err.message}`))
}
