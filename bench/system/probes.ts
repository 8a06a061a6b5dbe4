import { setTimeout as sleep } from 'node:timers/promises'
import { readGroupInfo } from '@africhain/bus'
import { Redis } from 'ioredis'
import { createConnection } from 'mysql2/promise'
import { runNode } from '../lib/proc.ts'
import type { System } from '../lib/system.ts'
import type { BenchEnv } from '../lib/token-service.ts'
import type { ChainJob, ChainResult } from '../load/chains.ts'

export type Mysql = Awaited<ReturnType<typeof createConnection>>

/** Connections to the run's database and Redis (keys under its prefix), for seeding and for drain checks. */
export async function openProbes(env: BenchEnv) {
  const url = new URL(env.databaseUrl)
  const mysql = await createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username || 'root'),
    password: decodeURIComponent(url.password),
    database: url.pathname.slice(1),
    timezone: 'Z',
  })
  const redis = new Redis(env.redisUrl, { keyPrefix: env.redisPrefix, maxRetriesPerRequest: 2 })
  return {
    mysql,
    redis,
    async close() {
      await mysql.end()
      redis.disconnect()
    },
  }
}

export type Probes = Awaited<ReturnType<typeof openProbes>>

/** Entries the analytics group has acknowledged (read minus pending) and whether nothing is left. */
export async function groupProgress(p: Probes, system: System): Promise<{ acked: number; idle: boolean }> {
  const g = await readGroupInfo(p.redis, system.eventsStream, 'analytics')
  if (!g) return { acked: 0, idle: false }
  return { acked: (g.entriesRead ?? 0) - g.pending, idle: g.lag === 0 && g.pending === 0 }
}

/**
 * Waits until every event the run caused has gone all the way: the token outbox is empty (relayed) and the
 * analytics group has read and acknowledged everything. CPU per request is counted up to this point, so
 * the relay's and the worker's work after the load stopped is part of it. False after `timeoutMs`.
 */
export async function waitSettled(p: Probes, system: System, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const [[rows]] = (await p.mysql.query(
      'select count(*) as n from outbox where stream_key is null',
    )) as unknown as [[{ n: number }]]
    if (Number(rows.n) === 0 && (await groupProgress(p, system)).idle) return true
    if (Date.now() > deadline) return false
    await sleep(50)
  }
}

/** One run of the chain load generator (bench/load/chains.ts) in its own process. */
export async function runChains(job: ChainJob): Promise<ChainResult> {
  const out = await runNode('chain load generator', 'bench/load/chains.ts', {
    input: JSON.stringify(job),
    timeoutMs: job.warmupMs + job.durationMs + 60_000,
  })
  return JSON.parse(out) as ChainResult
}
