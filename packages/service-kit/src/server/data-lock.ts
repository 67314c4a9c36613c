import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { ConfigError } from './env.ts'

/** The embedded database folder is held by a live process. */
export class DataFolderLockedError extends ConfigError {
  readonly file: string
  readonly holder: LockHolder

  constructor (file: string, holder: LockHolder) {
    super(`The embedded database in ${resolve(file, '..')} is in use by process ${holder.pid}` +
      `${holder.started_at ? ` (started ${holder.started_at}${holder.command ? `: ${holder.command}` : ''})` : ''}. ` +
      'Two processes writing one embedded database would corrupt it. ' +
      `Use the stack that is already running, stop it (kill ${holder.pid}), or start this one with another SWITCHBOARD_DATA_DIR (or a DATABASE_URL).`)
    this.name = 'DataFolderLockedError'
    this.file = file
    this.holder = holder
  }
}

export interface LockHolder { pid: number, started_at?: string, command?: string }

/** Whether a process with this pid exists (EPERM: it does, but belongs to someone else). */
export function processAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  return !zombie(pid)
}

/**
 * A process killed (kill -9) but not yet reaped by its parent still answers kill(pid, 0): a start
 * within a second of the kill was refused as "in use by" it. Linux shows it in state Z.
 */
function zombie (pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z'
  } catch {
    return false // no /proc (not Linux), or gone meanwhile: kill(pid, 0) said it exists
  }
}

function readHolder (file: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as LockHolder
    return Number.isInteger(parsed.pid) ? parsed : undefined
  } catch {
    return undefined
  }
}

/**
 * Takes `<dir>/<name>.lock` for this process: a file created exclusively, holding the pid. A lock
 * whose process is gone (killed, crashed) is stale and taken over. Returns the release function.
 */
export function acquireFolderLock (dir: string, name: string): () => void {
  mkdirSync(dir, { recursive: true })
  const file = resolve(dir, `${name}.lock`)
  const mine: LockHolder = { pid: process.pid, started_at: new Date().toISOString(), command: process.argv.slice(1).join(' ') }
  for (let attempt = 0; ; attempt++) {
    try {
      // Owner only, as everything in the data folder is (it names the holder's command line).
      writeFileSync(file, JSON.stringify(mine) + '\n', { flag: 'wx', mode: 0o600 })
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw err
      const holder = readHolder(file)
      if (holder && processAlive(holder.pid)) throw new DataFolderLockedError(file, holder)
      // Stale (its process is gone) or unreadable (a crash while writing it): take it over.
      rmSync(file, { force: true })
    }
  }
  let released = false
  return () => {
    if (released) return
    released = true
    if (readHolder(file)?.pid === process.pid) rmSync(file, { force: true })
  }
}
