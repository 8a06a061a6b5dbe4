import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

export { freePort } from '../../infra/scripts/free-port.ts'

/** The repository root (bench/ lives directly under it). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Every child this run started, so a failure or Ctrl-C still stops them (by pid, nothing else). */
const children = new Set<ChildProcess>()

export type Child = {
  proc: ChildProcess
  name: string
  /** Everything the child wrote to stderr (and stdout when not captured), for error messages. */
  output: () => string
  stop: (signal?: NodeJS.Signals, timeoutMs?: number) => Promise<number | null>
}

/**
 * Starts `node <script>` (the same Node as this process) from the repository root. stdout is captured when
 * `captureStdout` is set (the caller reads `proc.stdout`); otherwise both streams are kept for diagnostics.
 */
export function startNode(
  name: string,
  script: string,
  opts: { env?: Record<string, string>; args?: string[]; captureStdout?: boolean } = {},
): Child {
  return startProcess(name, process.execPath, [script, ...(opts.args ?? [])], opts)
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  opts: { env?: Record<string, string>; captureStdout?: boolean } = {},
): Child {
  const proc = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(proc)
  let log = ''
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000)
  }
  proc.stderr?.on('data', keep)
  if (!opts.captureStdout) proc.stdout?.on('data', keep)
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code) => {
      children.delete(proc)
      resolve(code)
    })
  })
  return {
    proc,
    name,
    output: () => log,
    async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode
      proc.kill(signal)
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
}

/** Children that stop their own children on SIGTERM (start-all.ts): `killChildren` sends them that instead. */
const gentle = new WeakSet<ChildProcess>()

/** Adds a child started elsewhere to the ones `killChildren` stops (with SIGTERM: it stops its own children). */
export function track(proc: ChildProcess): void {
  children.add(proc)
  gentle.add(proc)
  proc.once('exit', () => children.delete(proc))
}

/** Runs `node <script>` to completion and returns its stdout (stderr is passed through when `echo`). */
export async function runNode(
  name: string,
  script: string,
  opts: { env?: Record<string, string>; args?: string[]; input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const proc = spawn(process.execPath, [script, ...(opts.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  children.add(proc)
  let out = ''
  let err = ''
  proc.stdout.on('data', (c: Buffer) => {
    out += c.toString()
  })
  proc.stderr.on('data', (c: Buffer) => {
    err = (err + c.toString()).slice(-20_000)
  })
  proc.stdin.end(opts.input ?? '')
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 120_000)
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve))
  clearTimeout(timer)
  children.delete(proc)
  if (code !== 0) throw new Error(`${name} exited with ${code}:\n${err.trim()}`)
  return out
}

/** Kills whatever children are still running (called on exit paths). */
export function killChildren(): void {
  for (const c of children) c.kill(gentle.has(c) ? 'SIGTERM' : 'SIGKILL')
  children.clear()
}

/** Polls `url` until it answers 200, the child dies, or the deadline passes. */
export async function waitForHttp(url: string, child: Child, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.proc.exitCode !== null) {
      throw new Error(
        `${child.name} exited with ${child.proc.exitCode} before ${url} answered:\n${child.output()}`,
      )
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      if (res.status === 200) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms:\n${child.output()}`)
    await sleep(100)
  }
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc (Linux; NaN elsewhere). CPU per request
 * is far less sensitive than throughput to other work on a shared machine, so the benchmarks print it too.
 */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields overall.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return Number.NaN
  }
}

/** USER_HZ: 100 on every Linux this runs on (the kernel ABI fixes it for /proc). */
const CLOCK_TICKS = 100
