/**
 * Analytics worker ingest benchmark (durable MySQL/MariaDB storage, real Redis streams).
 *
 *   pnpm exec node bench/analytics-ingest.ts [--events 200000] [--ingest-seconds 45] [--rate 5000]
 *     [--steady-seconds 15] [--two-worker-events 20000] [--users 20000]
 *   (also run by `pnpm bench analytics`, which reads the BENCH_RESULT lines)
 *
 * 1. Reference: pre-fills a stream with `--events` events by pipelined XADD (1000 per pipeline), timed.
 * 2. Ingest: one worker process (`ANALYTICS_ROLE=worker`, WORKER_CONCURRENCY consumers, each batch stored as
 *    INGEST_PARTITIONS parts side by side) drains it;
 *    events/s (acknowledged entries over time, at most `--ingest-seconds`) and the ratio to the XADD rate.
 *    A backlog left at the deadline is skipped (XGROUP SETID) so the next phases start clean.
 * 3. Steady load: `--rate` events/s for `--steady-seconds` with the worker running; lag = age of the oldest
 *    entry not yet acknowledged (undelivered or pending), sampled every 100 ms: p50/p99/max.
 * 4. Two worker processes in one group drain `--two-worker-events` fresh events plus 10 % republished
 *    duplicates; every unique event must be stored and counted exactly once.
 * Prints figures and ratios; never asserts a timing (machines here are shared and noisy). Bounded in time
 * (about two minutes with the defaults). Uses its own database and Redis key prefix, dropped at the end,
 * also on SIGTERM/SIGINT (worker processes are stopped by pid).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { loadAnalyticsConfig, openConnections } from '@africhain/analytics'
import { parseStreamId, publish, readGroupInfo } from '@africhain/bus'
import { dropDatabase } from '@africhain/db'
import { newEvent, type SessionEvent } from '@africhain/events'
import { sql } from 'kysely'
import type { BenchResult } from './lib/report.ts'

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    'ingest-seconds': { type: 'string', default: '45' },
    rate: { type: 'string', default: '5000' },
    'steady-seconds': { type: 'string', default: '15' },
    'two-worker-events': { type: 'string', default: '20000' },
    users: { type: 'string', default: '20000' },
  },
})
const N = Number(args.events)
const INGEST_S = Number(args['ingest-seconds'])
const RATE = Number(args.rate)
const STEADY_S = Number(args['steady-seconds'])
const TWO_N = Number(args['two-worker-events'])
const USERS = Number(args.users)
const GOAL_RATE = 20_000
const GOAL_LAG_P99_MS = 1000

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
  // The worker's own defaults unless the environment overrides them.
  ...Object.fromEntries(
    ['BATCH_SIZE', 'WORKER_CONCURRENCY', 'INGEST_PARTITIONS'].flatMap((k) =>
      process.env[k] ? [[k, process.env[k]]] : [],
    ),
  ),
  MIGRATE_ON_START: 'true',
}
const config = loadAnalyticsConfig(env)
const conn = await openConnections(config, () => {})
const { redis, db } = conn
const mainScript = fileURLToPath(new URL('../services/analytics/src/server.ts', import.meta.url))
const workers = new Set<ChildProcess>()

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
  workers.add(child)
  child.once('exit', () => workers.delete(child))
  return child
}

/** SIGTERM (the worker finishes its in-flight batches), SIGKILL after 15 s. */
async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(timer)
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

/** Entries the group has acknowledged so far (read minus pending). */
async function acknowledged(): Promise<number> {
  const group = await readGroupInfo(redis, config.EVENTS_STREAM, config.CONSUMER_GROUP)
  return group ? (group.entriesRead ?? 0) - group.pending : 0
}

/** Waits until the group has nothing undelivered or pending; false when `timeoutMs` passed first. */
async function waitDrained(timeoutMs: number): Promise<boolean> {
  const begun = performance.now()
  while (!(await drained())) {
    if (performance.now() - begun > timeoutMs) return false
    await new Promise((r) => setTimeout(r, 50))
  }
  return true
}

/** Skips whatever is still undelivered, so the next phase starts from an empty backlog. */
async function skipBacklog(): Promise<void> {
  await redis.xgroup('SETID', `${config.REDIS_KEY_PREFIX}${config.EVENTS_STREAM}`, config.CONSUMER_GROUP, '$')
}

function result(r: BenchResult): void {
  console.log(`BENCH_RESULT ${JSON.stringify(r)}`)
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
async function cleanup(): Promise<void> {
  await Promise.all([...workers].map(stopWorker))
  const prefix = config.REDIS_KEY_PREFIX ?? ''
  const keys = await redis.keys('*').catch(() => [] as string[])
  if (keys.length > 0) await redis.del(...keys.map((k) => k.slice(prefix.length))).catch(() => {})
  await conn.close().catch(() => {})
  await dropDatabase(config.DATABASE_URL).catch(() => {})
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    console.log(`\n${signal}: stopping workers and cleaning up`)
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
  })
}

try {
  console.log(
    `analytics ingest bench: ${fmt(N)} events, ${fmt(USERS)} users, BATCH_SIZE=${config.BATCH_SIZE}, WORKER_CONCURRENCY=${config.WORKER_CONCURRENCY}, INGEST_PARTITIONS=${config.INGEST_PARTITIONS} per worker process`,
  )
  const flush = await sql<{ v: number }>`select @@innodb_flush_log_at_trx_commit as v`.execute(db)
  console.log(
    `durability: innodb_flush_log_at_trx_commit=${flush.rows[0]?.v} (1 = the log is flushed at every commit)`,
  )

  // 1. reference
  const prefill = makeEvents(N, 'a')
  const xaddMs = await publishAll(prefill)
  const xaddRate = (N / xaddMs) * 1000
  console.log(`\n[1] pipelined XADD (reference): ${fmt(xaddRate)} events/s (${fmt(xaddMs)} ms)`)

  // 2. one worker process drains the pre-filled stream (bounded in time)
  const w1 = startWorker('bench-w1')
  const t2 = performance.now()
  // The clock starts at the first acknowledged entry: process start-up (module loading, connections,
  // migrations check) is reported separately, not averaged into the ingest rate.
  let ackedAtStart = await acknowledged()
  while (ackedAtStart === 0 && performance.now() - t2 < 30_000) {
    await new Promise((r) => setTimeout(r, 5))
    ackedAtStart = await acknowledged()
  }
  const startupMs = performance.now() - t2
  const t2b = performance.now()
  const complete = await waitDrained(INGEST_S * 1000)
  const ingestMs = performance.now() - t2b
  const ingested = (complete ? N : await acknowledged()) - ackedAtStart
  const ingestRate = (ingested / ingestMs) * 1000
  if (!complete) await skipBacklog()
  console.log(
    `[2] worker ingest, one process: ${fmt(ingestRate)} events/s (${fmt(ingested)} of ${fmt(N)} events in ${fmt(ingestMs)} ms after the first acknowledgment; start-up to it ${fmt(startupMs)} ms${complete ? '' : '; the rest skipped at the deadline'})`,
  )
  console.log(
    `    ratio ingest / XADD: ${(ingestRate / xaddRate).toFixed(3)}   (issue goal: ≥ ${fmt(GOAL_RATE)} events/s)`,
  )
  result({
    name: 'analytics ingest (durable)',
    measured: `${fmt(ingestRate)} events/s`,
    reference: `${fmt(xaddRate)} XADD/s`,
    ratio: ingestRate / xaddRate,
    goal: { op: '>=', value: Number((GOAL_RATE / xaddRate).toFixed(3)) },
    notes: [`goal ${fmt(GOAL_RATE)} events/s, as a ratio of this run's pipelined XADD rate`],
  })

  // 3. steady load with the worker running
  await waitDrained(30_000)
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
  const steadyStart = performance.now()
  let sent = 0
  while (sent < steadyTotal) {
    const due = Math.min(steadyTotal, Math.floor(((performance.now() - steadyStart) / 1000) * RATE))
    if (due > sent) {
      await publish(redis, config.EVENTS_STREAM, steady.slice(sent, due))
      sent = due
    }
    await new Promise((r) => setTimeout(r, tickMs))
  }
  const publishSeconds = (performance.now() - steadyStart) / 1000
  const caughtUp = await waitDrained(20_000)
  clearInterval(sampler)
  if (!caughtUp) await skipBacklog()
  const sorted = samples.sort((a, b) => a - b)
  const p99 = pct(sorted, 99)
  console.log(
    `[3] steady ${fmt(steadyTotal / publishSeconds)} events/s for ${publishSeconds.toFixed(1)} s: lag p50 ${fmt(pct(sorted, 50))} ms, p99 ${fmt(p99)} ms, max ${fmt(sorted.at(-1) ?? 0)} ms (${samples.length} samples${caughtUp ? '' : '; did not catch up within 20 s'})`,
  )
  result({
    name: `analytics lag p99 at ${fmt(RATE)}/s`,
    measured: `${fmt(p99)} ms`,
    reference: `${fmt(GOAL_LAG_P99_MS)} ms limit`,
    ratio: p99 / GOAL_LAG_P99_MS,
    goal: { op: '<=', value: 1 },
  })
  await stopWorker(w1)

  // 4. two workers, one group, duplicates republished
  const fresh = makeEvents(TWO_N, 'c')
  const dupes = Math.floor(TWO_N / 10)
  const before = await storedCounts()
  await publishAll(fresh)
  await publishAll(fresh.slice(0, dupes)) // an at-least-once publisher: 10 % again
  const t4 = performance.now()
  startWorker('bench-w2a')
  startWorker('bench-w2b')
  const twoDone = await waitDrained(60_000)
  const twoMs = performance.now() - t4
  const after = await storedCounts()
  const newStored = after.events - before.events
  const newCounted = after.counted - before.counted
  const exact = twoDone && newStored === TWO_N && newCounted === TWO_N
  console.log(
    `[4] two worker processes: ${fmt(((TWO_N + dupes) / twoMs) * 1000)} entries/s (${fmt(TWO_N + dupes)} entries incl. ${fmt(dupes)} duplicates, ${fmt(twoMs)} ms${twoDone ? '' : ', NOT drained within 60 s'})`,
  )
  console.log(
    `    unique events ${fmt(TWO_N)}: stored ${fmt(newStored)}, counted ${fmt(newCounted)} → ${exact ? 'OK, none counted twice' : 'MISMATCH'}`,
  )
  result({
    name: 'analytics 2 workers, exactly once',
    measured: `${fmt(newStored)} stored / ${fmt(newCounted)} counted`,
    reference: `${fmt(TWO_N)} unique`,
    ratio: exact ? 1 : 0,
    goal: { op: '>=', value: 1 },
  })
  if (!exact && twoDone) process.exitCode = 1
} finally {
  await cleanup()
}
