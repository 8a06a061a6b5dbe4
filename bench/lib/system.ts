import { spawn } from 'node:child_process'
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort, ROOT, track } from './proc.ts'
import type { BenchEnv } from './token-service.ts'

/** The whole system as `pnpm start` runs it, on this run's database, Redis prefix, streams and ports. */
export type System = {
  tokenUrl: string
  analyticsUrl: string
  eventsStream: string
  /** The processes whose CPU is counted: start-all.ts itself, the token service, analytics (API + worker). */
  pids: { startAll: number; token: number; analytics: number }
  /** Bytes the system has written to its output so far (stdout and stderr of every child, as a terminal gets). */
  logBytes: () => number
  stop: () => Promise<void>
}

/**
 * Starts `node infra/scripts/start-all.ts` (what `pnpm start` execs) with the defaults a user keeps; only
 * the places are this run's own (database, Redis key prefix, stream names, ports) and the per-client rate
 * limits are off — with them on, one loopback client would measure 429s. The children write straight to
 * a file (as they would to a terminal: start-all.ts gives them its stdio), deleted at the end.
 */
export async function startSystem(env: BenchEnv, extra: Record<string, string> = {}): Promise<System> {
  const [tokenPort, analyticsPort] = [await freePort(), await freePort()]
  const tag = env.redisPrefix.split(':')[1]
  const eventsStream = `bench-events-${tag}`
  const logPath = join(tmpdir(), `africhain-bench-system-${tag}.log`)
  const fd = openSync(logPath, 'w')
  const proc = spawn(process.execPath, ['infra/scripts/start-all.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: env.databaseUrl,
      REDIS_URL: env.redisUrl,
      REDIS_KEY_PREFIX: env.redisPrefix,
      EVENTS_STREAM: eventsStream,
      ALERTS_STREAM: `bench-alerts-${tag}`,
      HOST: '127.0.0.1',
      TOKEN_PORT: String(tokenPort),
      ANALYTICS_PORT: String(analyticsPort),
      RATE_LIMIT_LOGIN: 'off',
      RATE_LIMIT_REGISTER: 'off',
      RATE_LIMIT_REFRESH: 'off',
      RATE_LIMIT_INTROSPECT: 'off',
      ...extra,
    },
    stdio: ['ignore', fd, fd],
  })
  closeSync(fd)
  track(proc)
  /** SIGTERM (start-all.ts stops its children and waits for them), SIGKILL after 25 s. */
  const stopAll = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise((r) => proc.once('exit', r))
    proc.kill('SIGTERM')
    const timer = setTimeout(() => proc.kill('SIGKILL'), 25_000)
    await exited
    clearTimeout(timer)
  }
  const tokenUrl = `http://127.0.0.1:${tokenPort}`
  const analyticsUrl = `http://127.0.0.1:${analyticsPort}`
  const output = () => readFileSync(logPath, 'utf8').slice(-4000)
  const deadline = Date.now() + 90_000
  let pids: System['pids']
  try {
    // start-all.ts prints its banner once both children said they are ready.
    while (!output().includes('AfriChain Sessions is running')) {
      if (proc.exitCode !== null) throw new Error(`pnpm start exited with ${proc.exitCode}:\n${output()}`)
      if (Date.now() > deadline) throw new Error(`pnpm start not ready after 90 s:\n${output()}`)
      await sleep(200)
    }
    const kids = childPids(proc.pid!)
    const byEntry = (entry: string) => {
      const pid = kids.find((p) => cmdline(p).includes(entry))
      if (pid === undefined) throw new Error(`no child of start-all runs ${entry}`)
      return pid
    }
    pids = {
      startAll: proc.pid!,
      token: byEntry('services/token/'),
      analytics: byEntry('services/analytics/'),
    }
  } catch (err) {
    // Stopped the way a user stops it, so its children do not outlive a failed start.
    await stopAll()
    rmSync(logPath, { force: true })
    throw err
  }
  return {
    tokenUrl,
    analyticsUrl,
    eventsStream,
    pids,
    logBytes: () => statSync(logPath).size,
    async stop() {
      await stopAll()
      rmSync(logPath, { force: true })
    },
  }
}

function childPids(pid: number): number[] {
  const out: number[] = []
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim()
    if (text) out.push(...text.split(' ').map(Number))
  }
  return out
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
  } catch {
    return ''
  }
}

/**
 * The pid of the process listening on TCP `port` (the shared MariaDB and Redis): the socket's inode from
 * /proc/net/tcp*, then the process among `names` holding it. Undefined when it cannot be found (another
 * user's process, or not Linux); the CPU figures then say n/a.
 */
export function listenerPid(port: number, names: string[]): number | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  const inodes = new Set<string>()
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      // local_address ends in :PORT, state 0A is LISTEN, field 9 the inode.
      if (f[1]?.endsWith(`:${hex}`) && f[3] === '0A') inodes.add(`socket:[${f[9]}]`)
    }
  }
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const comm = (() => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
      } catch {
        return ''
      }
    })()
    if (!names.includes(comm)) continue
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`))
        if (inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) return Number(pid)
    } catch {
      // not ours to read
    }
  }
  return undefined
}
