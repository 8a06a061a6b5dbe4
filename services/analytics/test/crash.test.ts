import { publish, readGroupInfo } from '@africhain/bus'
import type { SessionEvent } from '@africhain/events'
import type { Redis } from 'ioredis'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AnalyticsConfig, loadAnalyticsConfig } from '../src/config.ts'
import { testEnv } from './helpers/config.ts'
import { type TestDb, testDatabase } from './helpers/db.ts'
import { failedLogin, login, refresh } from './helpers/events.ts'
import { dropRedis, eventually, redisFor } from './helpers/redis.ts'
import { killWorkerWhen, runCrashingWorker, testWorker } from './helpers/worker.ts'

/**
 * Workers killed with SIGKILL at the two dangerous points of a batch, then replaced: every event is
 * counted exactly once. The killed processes are real processes; nothing is mocked.
 */
let t: TestDb
let env: Record<string, string>
let config: AnalyticsConfig
let redis: Redis

function someEvents(n: number, tag: string): SessionEvent[] {
  const now = Date.now()
  return Array.from({ length: n }, (_, i) => {
    const who = { userId: `${tag}-u${i % 7}`, sessionId: `${tag}-s${i % 13}`, ip: `10.0.${i % 5}.1` }
    if (i % 3 === 0) return login(who, now - 60_000 + i)
    if (i % 3 === 1) return refresh(who, now - 60_000 + i)
    return failedLogin(who.userId, now - 60_000 + i)
  })
}

async function totals() {
  const events = await sql<{ n: number }>`select count(*) as n from analytics_events`.execute(t.db)
  const counted = await sql<{
    n: string
  }>`select coalesce(sum(count), 0) as n from analytics_counters where metric = 'events'`.execute(t.db)
  const refreshes = await sql<{
    n: string
  }>`select coalesce(sum(count), 0) as n from analytics_counters where metric = 'refreshes'`.execute(t.db)
  return {
    stored: Number(events.rows[0]!.n),
    counted: Number(counted.rows[0]!.n),
    refreshes: Number(refreshes.rows[0]!.n),
  }
}

beforeAll(async () => {
  t = await testDatabase('crash')
  env = testEnv({ DATABASE_URL: t.url, BATCH_SIZE: '10', CLAIM_IDLE: '1s' })
  config = loadAnalyticsConfig(env)
  redis = redisFor(config)
})

afterAll(async () => {
  await dropRedis(redis)
  await t?.drop()
})

describe('crash safety', () => {
  const first = someEvents(60, 'a')
  const second = someEvents(60, 'b')

  it('killed before its commit: nothing stored, and another worker claims the entries; each counted once', async () => {
    await publish(redis, config.EVENTS_STREAM, first)
    expect(await runCrashingWorker({ ...env, CONSUMER_NAME: 'doomed-1' }, 'before-commit')).toBe('SIGKILL')
    expect((await totals()).stored).toBe(0) // it died holding the delivered batch
    const group = await readGroupInfo(redis, config.EVENTS_STREAM, config.CONSUMER_GROUP)
    expect(group?.pending).toBe(10) // its first batch, delivered and never acknowledged

    const rescuer = testWorker({ ...config, CONSUMER_NAME: 'rescuer' }, { redis, db: t.db })
    await rescuer.start()
    await rescuer.storedEntries(60)
    await rescuer.stop() // acknowledges what it stored
    expect((await readGroupInfo(redis, config.EVENTS_STREAM, config.CONSUMER_GROUP))?.pending).toBe(0)
    const claimed = await rescuer.registry.getSingleMetricAsString('analytics_worker_batches_total')
    expect(claimed).toMatch(/source="claimed"} [1-9]/)
    expect(await totals()).toEqual({ stored: 60, counted: 60, refreshes: 20 })
  }, 30_000)

  it('killed after its commit but before XACK: the redelivery changes nothing; each counted once', async () => {
    await publish(redis, config.EVENTS_STREAM, second)
    expect(await runCrashingWorker({ ...env, CONSUMER_NAME: 'doomed-2' }, 'after-commit')).toBe('SIGKILL')
    expect((await totals()).stored).toBe(70) // its first batch committed
    const group = await readGroupInfo(redis, config.EVENTS_STREAM, config.CONSUMER_GROUP)
    expect(group?.pending).toBe(10)

    // The same consumer name restarting reads its own pending entries first.
    const restarted = testWorker({ ...config, CONSUMER_NAME: 'doomed-2' }, { redis, db: t.db })
    await restarted.start()
    await restarted.storedEntries(60) // its 10 pending entries again, then the 50 never delivered
    await restarted.stop() // acknowledges what it stored
    const after = await readGroupInfo(redis, config.EVENTS_STREAM, config.CONSUMER_GROUP)
    expect(after).toMatchObject({ lag: 0, pending: 0 })
    const handled = await restarted.registry.getSingleMetricAsString('analytics_worker_events_total')
    expect(handled).toContain('result="duplicate"} 10')
    expect(await totals()).toEqual({ stored: 120, counted: 120, refreshes: 40 })
  }, 30_000)

  it('killed wherever it is while draining, with no test seam: the same consumer resumes; each counted once', async () => {
    await publish(redis, config.EVENTS_STREAM, someEvents(300, 'c'))
    const { stored } = await totals()
    // Batches of 10 commit every few milliseconds: the kill lands inside one of them or between two.
    await killWorkerWhen({ ...env, CONSUMER_NAME: 'doomed-3' }, async () => (await totals()).stored > stored)
    const restarted = testWorker({ ...config, CONSUMER_NAME: 'doomed-3' }, { redis, db: t.db })
    await restarted.start()
    await eventually(async () => {
      const g = await readGroupInfo(redis, config.EVENTS_STREAM, config.CONSUMER_GROUP)
      return g?.lag === 0 && g.pending === 0
    })
    await restarted.stop()
    expect(await totals()).toEqual({ stored: 420, counted: 420, refreshes: 140 })
  }, 30_000)
})
