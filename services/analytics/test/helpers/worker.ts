import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { sleep } from '@africhain/bus'
import { tally } from '@africhain/testing'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import type { AnalyticsConfig } from '../../src/config.ts'
import { createWorker, type Worker, type WorkerOptions } from '../../src/worker.ts'

export const silent = pino({ level: 'silent' })

/**
 * An in-process worker with short timings for tests. `storedEntries(n)` is a latch on the worker's
 * afterStore seam: it resolves once this worker has stored n stream entries (every part of their batches
 * committed), duplicates included.
 */
export function testWorker(
  config: AnalyticsConfig,
  deps: Pick<WorkerOptions, 'redis' | 'db'> & Partial<WorkerOptions>,
): Worker & { registry: Registry; storedEntries(n: number): Promise<unknown> } {
  const registry = deps.registry ?? new Registry()
  const stored = tally<string>('entries stored by this worker', 10_000)
  const worker = createWorker({
    config,
    logger: silent,
    blockMs: 200,
    retryDelayMs: 10,
    alertSweepMs: 200,
    ...deps,
    registry,
    hooks: {
      ...deps.hooks,
      afterStore: async (batch) => {
        await deps.hooks?.afterStore?.(batch)
        stored.add(...batch.map((e) => e.id))
      },
    },
  })
  return Object.assign(worker, { registry, storedEntries: stored.reached })
}

/** Runs test/fixtures/crashing-worker.ts with `config` as its environment; resolves with its exit signal. */
export function runCrashingWorker(
  env: Record<string, string>,
  crashAt: 'before-commit' | 'after-commit',
): Promise<NodeJS.Signals | null> {
  const script = fileURLToPath(new URL('../fixtures/crashing-worker.ts', import.meta.url))
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env, CRASH_AT: crashAt },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (d) => {
    stderr += d
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`crashing worker did not crash in time: ${stderr}`))
    }, 20_000)
    child.on('exit', (_code, signal) => {
      clearTimeout(timer)
      if (signal !== 'SIGKILL') reject(new Error(`worker exited without crashing: ${stderr}`))
      else resolve(signal)
    })
  })
}

/**
 * Runs test/fixtures/crashing-worker.ts with no crash point and SIGKILLs it as soon as `ready()` holds,
 * wherever it is then (between statements of a transaction, between commit and XACK, in a read).
 */
export async function killWorkerWhen(
  env: Record<string, string>,
  ready: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const script = fileURLToPath(new URL('../fixtures/crashing-worker.ts', import.meta.url))
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: 'ignore' })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const deadline = Date.now() + timeoutMs
  try {
    while (!(await ready())) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('the worker made no progress')
      await sleep(5)
    }
  } finally {
    child.kill('SIGKILL')
    await exited
  }
}
