/**
 * Analytics worker ingest benchmark (durable MySQL/MariaDB storage, real Redis streams).
 *
 *   pnpm exec node bench/analytics-ingest.ts [--events 200000] [--rate 5000] [--steady-seconds 20]
 *
 * 1. Reference: pre-fills a stream with N events by pipelined XADD (batches of 1000) and times it.
 * 2. Ingest: one worker process (`ANALYTICS_ROLE=worker`) drains the pre-filled stream; events/s and
 *    the ratio to the XADD rate of this same run.
 * 3. Steady load: publishes at a fixed rate with the worker running; lag = age of the oldest entry not yet
 *    acknowledged (undelivered or pending), sampled every 100 ms; prints p50/p99/max.
 * 4. Two worker processes in one group drain N/2 fresh events plus 10 % republished duplicates; checks
 *    that every unique event is stored and counted exactly once.
 * Prints figures and ratios; asserts only correctness (totals), never timings. Machines here are noisy.
 * Uses its own database and key prefix and drops both at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { sql } from 'kysely'
import { parseStreamId, publish, readGroupInfo } from '../packages/bus/src/index.ts'
import { dropDatabase } from '../packages/db/src/index.ts'
import { newEvent, type SessionEvent } from '../packages/events/src/index.ts'
import { loadAnalyticsConfig } from '../services/analytics/src/config.ts'
import { openConnections } from '../services/analytics/src/connections.ts'

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    rate: { type: 'string', default: '5000' },
    'steady-seconds': { type: 'string', default: '20' },
    users: { type: 'string', default: '20000' },
  },
})
const N = Number(args.events)
const RATE = Number(args.rate)
const STEADY_S = Number(args['steady-seconds'])
const USERS = Number(args.users)

const suffix = randomBytes(4).toString('hex')
const base = new URL(process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/africhain')
base.pathname = `/bench_analytics_${suffix}`
const env: Record<string, string> = {
  DATABASE_URL: base.toString(),
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  REDIS_KEY_PREFIX: `bench:${suffix}:`,
  EVENTS_STREAM: 'session-events',
  ALERTS_STREAM: 'security-alerts',
  LOG_LEVEL: 'warn',
  BATCH_SIZE: process.env.BATCH_SIZE ?? '500',
  WORKER_CONCURRENCY: process.env.WORKER_CONCURRENCY ?? '4',
  MIGRATE_ON_START: 'true',
}
const config = loadAnalyticsConfig(env)
const conn = await openConnections(config, () => {})
const { redis, db } = conn
const mainScript = fileURLToPath(new URL('../services/analytics/src/main.ts', import.meta.url))

// ---------------------------------------------------------------- event generation
const PLATFORMS = ['android', 'android', 'android', 'web', 'ussd'] as const
let clock = Date.now() - 3600_000
function makeEvents(n: number, tag: string): SessionEvent[] {
  const out: SessionEvent[] = []
  for (let i = 0; i < n; i++) {
    const u = Math.floor(Math.random() * USERS)
    const userId = `${tag}-user-${u}`
    const sessionId = `${tag}-sess-${u}-${i % 3}`
    const platform = PLATFORMS[u % PLATFORMS.length]!
    const who = {
      userId,
      sessionId,
      ip: `10.${u % 250}.${i % 3}.1`,
      userAgent: platform === 'ussd' ? 'ussd-gw/2' : 'AfriChain/1.4',
      device: { platform, id: `dev-${u}-${i % 3}` },
    }
    clock += 5
    const at = new Date(clock)
    const r = Math.random()
    if (r < 0.3)
      out.push(
        newEvent(
          {
            type: 'session.created',
            ...who,
            data: { expiresAt: new Date(clock + 7 * 86_400_000).toISOString(), rememberMe: false },
          },
          at,
        ),
      )
    else if (r < 0.8)
      out.push(newEvent({ type: 'session.refreshed', ...who, data: { generation: 1 + (i % 50) } }, at))
    else if (r < 0.85)
      out.push(
        newEvent(
          {
            type: 'session.revoked',
            ...who,
            data: { reason: 'logout', accessTokensValidUntil: new Date(clock + 900_000).toISOString() },
          },
          at,
        ),
      )
    else if (r < 0.97)
      out.push(
        newEvent({ type: 'login.failed', userId, ip: who.ip, data: { reason: 'invalid_credentials' } }, at),
      )
    else
      out.push(
        newEvent(
          { type: 'token.reuse_detected', ...who, data: { presentedGeneration: 1, currentGeneration: 3 } },
          at,
        ),
      )
  }
  return out
}

async function publishAll(events: SessionEvent[]): Promise<number> {
  const begun = performance.now()
  for (let i = 0; i < events.length; i += 1000)
    await publish(redis, config.EVENTS_STREAM, events.slice(i, i + 1000))
  return performance.now() - begun
}

// ---------------------------------------------------------------- workers and progress
function startWorker(name: string): ChildProcess {
  const child = spawn(process.execPath, [mainScript], {
    env: { ...process.env, ...env, ANALYTICS_ROLE: 'worker', CONSUMER_NAME: name },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  return child
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  await exited
}

/** Oldest entry not yet acknowledged: the first pending one or the first undelivered one. */
async function oldestUnackedAgeMs(): Promise<number> {
  const group = await readGroupInfo(redis, config.EVENTS_STREAM, config.CONSUMER_GROUP)
  if (!group) return 0
  const candidates: number[] = []
  if (group.pending > 0) {
    const summary = (await redis.xpending(config.EVENTS_STREAM, config.CONSUMER_GROUP)) as [
      number,
      string | null,
    ]
    if (summary[1]) candidates.push(parseStreamId(summary[1]).ms)
  }
  if ((group.lag ?? 1) > 0) {
    const next = await redis.xrange(config.EVENTS_STREAM, `(${group.lastDeliveredId}`, '+', 'COUNT', 1)
    if (next[0]) candidates.push(parseStreamId(next[0][0]).ms)
  }
  return candidates.length === 0 ? 0 : Date.now() - Math.min(...candidates)
}

async function drained(): Promise<boolean> {
  const group = await readGroupInfo(redis, config.EVENTS_STREAM, config.CONSUMER_GROUP)
  return group !== null && group.lag === 0 && group.pending === 0
}

async function waitDrained(timeoutMs: number): Promise<number> {
  const begun = performance.now()
  while (!(await drained())) {
    if (performance.now() - begun > timeoutMs) throw new Error('workers did not drain the stream in time')
    await new Promise((r) => setTimeout(r, 50))
  }
  return performance.now() - begun
}

async function storedCounts(): Promise<{ events: number; counted: number }> {
  const e = await sql<{ n: number }>`select count(*) as n from analytics_events`.execute(db)
  const c = await sql<{
    n: string
  }>`select coalesce(sum(count), 0) as n from analytics_counters where metric = 'events'`.execute(db)
  return { events: Number(e.rows[0]!.n), counted: Number(c.rows[0]!.n) }
}

function pct(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')

// ---------------------------------------------------------------- run
const workers: ChildProcess[] = []
try {
  console.log(
    `analytics ingest bench: ${fmt(N)} events, ${fmt(USERS)} users, BATCH_SIZE=${env.BATCH_SIZE}, WORKER_CONCURRENCY=${env.WORKER_CONCURRENCY}`,
  )
  const flush = await sql<{ v: number }>`select @@innodb_flush_log_at_trx_commit as v`.execute(db)
  console.log(`durability: innodb_flush_log_at_trx_commit=${flush.rows[0]?.v} (1 = fsync per commit)`)

  // 1. reference
  const prefill = makeEvents(N, 'a')
  const xaddMs = await publishAll(prefill)
  const xaddRate = (N / xaddMs) * 1000
  console.log(`\n[1] pipelined XADD (reference): ${fmt(xaddRate)} events/s (${fmt(xaddMs)} ms)`)

  // 2. single worker process drains the pre-filled stream
  const t0 = performance.now()
  workers.push(startWorker('bench-w1'))
  const ingestMs = await waitDrained(30 * 60_000)
  const ingestRate = (N / ingestMs) * 1000
  const afterIngest = await storedCounts()
  console.log(
    `[2] worker ingest, one process: ${fmt(ingestRate)} events/s (${fmt(ingestMs)} ms incl. start-up ${fmt(performance.now() - t0 - ingestMs)} ms)`,
  )
  console.log(
    `    ratio ingest / XADD: ${(ingestRate / xaddRate).toFixed(3)}   (issue goal: ≥ 20,000 events/s)`,
  )
  console.log(
    `    stored ${fmt(afterIngest.events)}, counted ${fmt(afterIngest.counted)} (expected ${fmt(N)})`,
  )

  // 3. steady load
  const steadyTotal = RATE * STEADY_S
  const steady = makeEvents(steadyTotal, 'b')
  const samples: number[] = []
  const sampler = setInterval(() => {
    oldestUnackedAgeMs().then(
      (ms) => samples.push(ms),
      () => {},
    )
  }, 100)
  const tickMs = 20
  const perTick = Math.max(1, Math.round((RATE * tickMs) / 1000))
  const steadyStart = performance.now()
  let sent = 0
  while (sent < steadyTotal) {
    const due = Math.min(steadyTotal, Math.floor(((performance.now() - steadyStart) / 1000) * RATE) + perTick)
    if (due > sent) {
      await publish(redis, config.EVENTS_STREAM, steady.slice(sent, due))
      sent = due
    }
    await new Promise((r) => setTimeout(r, tickMs))
  }
  const publishSeconds = (performance.now() - steadyStart) / 1000
  await waitDrained(120_000)
  clearInterval(sampler)
  const sorted = samples.sort((a, b) => a - b)
  console.log(
    `[3] steady ${fmt(steadyTotal / publishSeconds)} events/s for ${publishSeconds.toFixed(1)} s: lag p50 ${fmt(pct(sorted, 50))} ms, p99 ${fmt(pct(sorted, 99))} ms, max ${fmt(sorted.at(-1) ?? 0)} ms (${samples.length} samples; goal p99 ≤ 1000 ms)`,
  )
  await stopWorker(workers.pop()!)

  // 4. two workers, one group, duplicates republished
  const half = Math.floor(N / 2)
  const fresh = makeEvents(half, 'c')
  const before = await storedCounts()
  await publishAll(fresh)
  await publishAll(fresh.slice(0, Math.floor(half / 10))) // at-least-once publisher: 10 % again
  const t4 = performance.now()
  workers.push(startWorker('bench-w2a'), startWorker('bench-w2b'))
  const twoMs = await waitDrained(30 * 60_000)
  const after = await storedCounts()
  const delivered = half + Math.floor(half / 10)
  console.log(
    `[4] two worker processes: ${fmt((delivered / twoMs) * 1000)} entries/s (${fmt(delivered)} entries incl. ${fmt(Math.floor(half / 10))} duplicates, ${fmt(performance.now() - t4)} ms)`,
  )
  const newStored = after.events - before.events
  const newCounted = after.counted - before.counted
  const ok = newStored === half && newCounted === half && after.events === N + steadyTotal + half
  console.log(
    `    unique events ${fmt(half)}: stored ${fmt(newStored)}, counted ${fmt(newCounted)} → ${ok ? 'OK, none counted twice' : 'MISMATCH'}`,
  )
  if (!ok) process.exitCode = 1
} finally {
  await Promise.all(workers.map(stopWorker))
  const keys = await redis.keys('*')
  const prefix = config.REDIS_KEY_PREFIX ?? ''
  if (keys.length > 0) await redis.del(...keys.map((k) => k.slice(prefix.length)))
  await conn.close()
  await dropDatabase(config.DATABASE_URL)
}
