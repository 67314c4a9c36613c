#!/usr/bin/env node
import { spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import closeWithGrace from 'close-with-grace'
import { resolveTokens } from '@switchboard/gateway/tokens'
import { compileCacheDir } from '@switchboard/service-kit/compile-cache'
import { ConfigError } from '@switchboard/service-kit/env'
import { loadDotEnv } from '@switchboard/service-kit/lifecycle'

const USAGE = `Usage: switchboard <command> [options]

  start    start the sandbox in the background (pid, URLs and log in the data folder)
  wait     wait until the running sandbox answers GET /ready (--timeout seconds, default 60)
  status   is it running and ready; its URLs (exit 0 ready, 1 not ready, 3 not running)
  reset    clear the logs and every emulator's state (POST /api/admin/reset)
  env      print SWITCHBOARD_URL, SWITCHBOARD_API_TOKEN and SWITCHBOARD_ADMIN_TOKEN as NAME=value lines
  stop     stop it (SIGTERM, then wait for it to flush and exit)
  run      run in the foreground (what start runs; for containers and process managers)

Options:
  --port N        the gateway's port (default GATEWAY_PORT or 3000; 0 picks a free one)
  --host H        interface to listen on (default HOST or 127.0.0.1)
  --data-dir D    embedded database, tokens, state and log (default SWITCHBOARD_DATA_DIR or .switchboard)
  --seed N        reproducible simulated latencies and outcomes
  --timeout S     seconds that wait, start and stop allow (default 60)

Tokens come from API_TOKEN / ADMIN_TOKEN, or are generated once into the data folder.
Other configuration (MOCK_MODE, DATABASE_URL, provider keys, ...) is read from the environment and .env.`

interface State { pid: number, url: string, urls: Record<string, string>, startedAt: string }

// The package's engines say this too, but npm only warns: say it plainly before anything fails obscurely.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
if (major < 20 || (major === 20 && minor < 18)) {
  console.error(`switchboard: needs Node.js 20.18 or later; this is ${process.version}.`)
  process.exit(1)
}

loadDotEnv()

function fail (message: string, code = 1): never {
  console.error(`switchboard: ${message}`)
  process.exit(code)
}

const HELP = 'npx switchboard --help lists the options.'

/** Node's parseArgs throws its own error (a stack trace at the top level): said in the CLI's words. */
function parseOptions () {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'data-dir': { type: 'string' },
        seed: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    })
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException
    const option = /'(-[^' ]+)/.exec(message)?.[1] ?? ''
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') fail(`unknown option ${option}. ${HELP}`, 2)
    // "--seed -1": a value that starts with a dash reads as an option, so --seed got none.
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') fail(`${option} needs a value: ${option} <value> (one starting with "-" as ${option}=<value>). ${HELP}`, 2)
    fail(`${message.split('\n')[0]} ${HELP}`, 2)
  }
}

function integer (value: string | undefined, name: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value) || Number(value) > max) fail(`${name} must be a whole number${max < Number.MAX_SAFE_INTEGER ? ` from 0 to ${max}` : ''}, got "${value}"`, 2)
  return Number(value)
}

const { positionals, values } = parseOptions()
const command = positionals[0] ?? 'help'
const dataDir = resolve(values['data-dir'] ?? process.env.SWITCHBOARD_DATA_DIR ?? '.switchboard')
const stateFile = join(dataDir, 'state.json')
const logFile = join(dataDir, 'switchboard.log')
// Options are checked before a command acts on them: a typo is one line, not a wait without end
// (NaN never passes a deadline) or a sandbox started only to fail in its log.
const timeout = values.timeout ?? '60'
if (!/^\d+(\.\d+)?$/.test(timeout) || Number(timeout) <= 0) fail(`--timeout must be a number of seconds above 0, got "${timeout}"`, 2)
const timeoutMs = Number(timeout) * 1000

/** What start and run listen with: start checks them too, before its background process would. */
function listenOptions () {
  return {
    port: integer(values.port ?? process.env.GATEWAY_PORT, values.port !== undefined ? '--port' : 'GATEWAY_PORT', 65535) ?? 3000,
    seed: integer(values.seed, '--seed'),
    host: values.host ?? process.env.HOST ?? '127.0.0.1'
  }
}

function isAlive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' }
}

/** The running instance's state, or undefined when none runs (a stale file from a crash is removed). */
function readState (): State | undefined {
  let state: State
  try { state = JSON.parse(readFileSync(stateFile, 'utf8')) } catch { return undefined }
  if (isAlive(state.pid)) return state
  rmSync(stateFile, { force: true })
  return undefined
}

function runningState (): State {
  return readState() ?? fail(`not running (no live instance recorded in ${stateFile}). Start it with: npx switchboard start`, 3)
}

async function isReady (url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2000) })
    await res.arrayBuffer()
    return res.status === 200
  } catch { return false }
}

async function until (check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await check()) {
    if (Date.now() > deadline) fail(`${what} within ${timeoutMs / 1000} s. See ${logFile}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

function tokens () {
  return resolveTokens({ API_TOKEN: process.env.API_TOKEN, ADMIN_TOKEN: process.env.ADMIN_TOKEN, SWITCHBOARD_DATA_DIR: dataDir })
}

/**
 * A token set in the environment is the operator's and never shown. A generated one is shown at a
 * terminal, so a newcomer can call the API at once; never in CI, whose logs are kept and often
 * public, nor into a file or a pipe (the sandbox's own log, which CI recipes upload on failure).
 */
function describe (state: State): string {
  const t = tokens()
  const hidden = Boolean(process.env.CI) || process.stdout.isTTY !== true
  const shown = (token: string, variable: string) => process.env[variable] ? `(from ${variable})` : hidden ? `(generated into ${join(dataDir, 'tokens.json')}; npx switchboard env prints it)` : token
  return [
    `Switchboard is running (pid ${state.pid}, data in ${dataDir})`,
    `  Gateway      ${state.url}   API docs ${state.url}/docs`,
    ...Object.entries(state.urls).filter(([name]) => name !== 'gateway').map(([name, url]) => `  ${name.padEnd(11)}  ${url}`),
    `  API token    ${shown(t.apiToken, 'API_TOKEN')}`,
    `  Admin token  ${shown(t.adminToken, 'ADMIN_TOKEN')}`
  ].join('\n')
}

async function run (): Promise<void> {
  if (readState()) fail(`already running from ${dataDir}: stop it first (npx switchboard stop)`)
  const { port, seed, host } = listenOptions()
  const t = tokens()
  // Loaded here, not at the top: the other commands start in a blink without the whole stack.
  const { startSwitchboard } = await import('./index.ts')
  let sb
  try {
    sb = await startSwitchboard({
      port,
      host,
      dataDir,
      apiToken: t.apiToken,
      adminToken: t.adminToken,
      env: process.env,
      logLevel: (process.env.LOG_LEVEL as 'info' | undefined) ?? 'info',
      ...(seed !== undefined ? { seed } : {})
    })
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 78)
    // The stack's PortInUseError names the environment variable; here the port is an option.
    const taken = err as { code?: string, port?: number }
    if (taken.code === 'EADDRINUSE') {
      const p = taken.port ?? port
      fail(`port ${p} on ${host} is already in use, by another Switchboard or another program (\`lsof -i :${p}\` names it). Stop that, or start with --port <another port> (--port 0 picks a free one).`)
    }
    throw err
  }
  const state: State = { pid: process.pid, url: sb.url, urls: sb.urls, startedAt: new Date().toISOString() }
  closeWithGrace({ delay: 15_000 }, async () => {
    await sb.close()
    rmSync(stateFile, { force: true })
  })
  writeFileSync(stateFile, JSON.stringify(state, null, 2) + '\n')
  console.log(describe(state))
}

async function start (): Promise<void> {
  const existing = readState()
  if (existing) fail(`already running (pid ${existing.pid}) at ${existing.url}, from ${dataDir}. Use it (npx switchboard status), stop it first (npx switchboard stop), or start another with --data-dir <another folder>.`)
  listenOptions()
  mkdirSync(dataDir, { recursive: true })
  // The log is appended to across runs: a failed start shows what this one wrote, from here on.
  const from = existsSync(logFile) ? statSync(logFile).size : 0
  const log = openSync(logFile, 'a')
  const args = [process.argv[1]!, 'run', '--data-dir', dataDir]
  for (const name of ['port', 'host', 'seed'] as const) if (values[name] !== undefined) args.push(`--${name}`, values[name])
  // The sandbox's process compiles the package's code and its dependencies at every start; the
  // compile cache keeps what it compiled for the next one (a stack per test worker starts often).
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log], env: { ...process.env, NODE_COMPILE_CACHE: compileCacheDir() } })
  closeSync(log)
  let exited: number | null | undefined
  child.once('exit', code => { exited = code })
  await until(() => {
    if (exited !== undefined) {
      const written = readFileSync(logFile).subarray(from).toString('utf8').trimEnd()
      fail(`it stopped at start-up (exit code ${exited}):\n${written.split('\n').slice(-15).join('\n')}`)
    }
    return readState()?.pid === child.pid
  }, 'it did not start')
  child.unref()
  console.log(describe(readState()!))
}

async function stop (): Promise<void> {
  const state = readState()
  if (!state) { console.log('switchboard: not running'); return }
  process.kill(state.pid, 'SIGTERM')
  await until(() => !isAlive(state.pid), `pid ${state.pid} did not stop`)
  rmSync(stateFile, { force: true })
  console.log(`switchboard: stopped (pid ${state.pid})`)
}

async function status (): Promise<void> {
  const state = runningState()
  const ready = await isReady(state.url)
  console.log(describe(state))
  console.log(`  Ready        ${ready ? 'yes' : 'no'} (GET ${state.url}/ready)`)
  process.exitCode = ready ? 0 : 1
}

async function reset (): Promise<void> {
  const state = runningState()
  const res = await fetch(`${state.url}/api/admin/reset`, { method: 'POST', headers: { authorization: `Bearer ${tokens().adminToken}` } })
  const body = await res.json() as { message?: string }
  if (res.status !== 200) fail(`reset answered ${res.status}: ${body.message ?? ''}`)
  console.log('switchboard: reset (logs cleared, emulators back to their start state)')
}

switch (values.help ? 'help' : command) {
  case 'run': await run(); break
  case 'start': await start(); break
  case 'wait': { const state = runningState(); await until(() => isReady(state.url), `${state.url}/ready did not answer 200`); console.log(`switchboard: ready at ${state.url}`); break }
  case 'status': await status(); break
  case 'reset': await reset(); break
  case 'env': { const state = runningState(); const t = tokens(); console.log(`SWITCHBOARD_URL=${state.url}\nSWITCHBOARD_API_TOKEN=${t.apiToken}\nSWITCHBOARD_ADMIN_TOKEN=${t.adminToken}`); break }
  case 'stop': await stop(); break
  case 'help': console.log(USAGE); break
  default: console.error(`switchboard: unknown command "${command}".\n\n${USAGE}`); process.exit(2)
}
