/**
 * `./switchboard dataset <name|file> [--seed N] [--base-url URL] [--latency realistic|MS]`: loads a
 * data set into a running stack through its gateway (the local one by default, tokens from
 * .data/tokens.json or API_TOKEN / ADMIN_TOKEN). `--schema` prints the data set JSON schema.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadDataset, readDataset } from './load.ts'
import { DatasetSchema } from './schema.ts'

const USAGE = `Usage: ./switchboard dataset <demo|FILE> [--seed N] [--latency realistic|MS] [--base-url URL]
       ./switchboard dataset --schema

Loads a data set into a running stack through its gateway: by default the stack of the data folder
(SWITCHBOARD_DATA_DIR, .data), with the tokens of its tokens.json or API_TOKEN and ADMIN_TOKEN.
  --seed N        the same seed, the same data
  --latency       the providers' realistic latencies (the default) or a fixed number of ms
  --schema        print the data set JSON schema (for your own files)`

function fail (message: string): never {
  console.error(message)
  process.exit(2)
}

let parsed
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      seed: { type: 'string' },
      'base-url': { type: 'string' },
      latency: { type: 'string' },
      schema: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    }
  })
} catch (err) {
  fail(`${(err as Error).message}\n\n${USAGE}`)
}
const { values, positionals } = parsed

if (values.help) {
  console.log(USAGE)
  process.exit(0)
}
if (values.schema) {
  process.stdout.write(JSON.stringify(DatasetSchema, null, 2) + '\n')
  process.exit(0)
}

const name = positionals[0] ?? fail('Which data set? ./switchboard dataset demo (built in), or the path of your own JSON file.')
const seed = values.seed === undefined ? undefined : Number(values.seed)
if (seed !== undefined && !Number.isInteger(seed)) fail(`--seed must be a whole number, got "${values.seed}".`)
const latency = values.latency === undefined || values.latency === 'realistic' ? 'realistic' : Number(values.latency)
if (latency !== 'realistic' && !(Number.isInteger(latency) && latency >= 0)) fail(`--latency is "realistic" or a whole number of milliseconds, got "${values.latency}".`)

let dataset
try {
  dataset = readDataset(name)
} catch (err) {
  fail((err as Error).message)
}
const dataDir = process.env.SWITCHBOARD_DATA_DIR || '.data'
let stored: { apiToken?: string, adminToken?: string } = {}
try { stored = JSON.parse(readFileSync(join(dataDir, 'tokens.json'), 'utf8')) } catch { /* tokens from the environment instead */ }
const apiToken = process.env.API_TOKEN ?? stored.apiToken
const adminToken = process.env.ADMIN_TOKEN ?? stored.adminToken
if (!apiToken || !adminToken) {
  fail(`No tokens: ${join(dataDir, 'tokens.json')} is not there${process.env.SWITCHBOARD_DATA_DIR ? ' (SWITCHBOARD_DATA_DIR)' : ''}. ` +
    'Run this from the folder the stack was started in (with the same SWITCHBOARD_DATA_DIR), or set API_TOKEN and ADMIN_TOKEN.')
}

// A running stack says where it listens in its data folder's stack.json (any ports, port 0 too).
let running: string | undefined
try { running = (JSON.parse(readFileSync(join(dataDir, 'stack.json'), 'utf8')) as { urls?: { gateway?: string } }).urls?.gateway } catch { /* not running here */ }
const baseUrl = values['base-url'] ?? process.env.SWITCHBOARD_URL ?? running ?? 'http://127.0.0.1:3000'
try {
  const report = await loadDataset(dataset, { baseUrl, apiToken, adminToken, ...(seed !== undefined ? { seed } : {}), latency, log: line => console.log(line) })
  for (const f of report.failures.slice(0, 10)) console.error(`  ${f.kind}: HTTP ${f.status} ${f.message}`)
  process.exit(report.failures.length ? 1 : 0)
} catch (err) {
  fail(`Could not load ${name}: ${(err as Error).message}`)
}
