import { publish, readGroupInfo } from '@africhain/bus'
import { decodeAlert, decodeEvent, encodeEvent, type RiskAlert, type SessionEvent } from '@africhain/events'
import type { Redis } from 'ioredis'
import { sql } from 'kysely'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.ts'
import { type AnalyticsConfig, riskRulesOf } from '../src/config.ts'
import { createAnalyticsStore } from '../src/storage/analytics-store.ts'
import { ingestBatch } from '../src/storage/ingest.ts'
import type { Worker } from '../src/worker.ts'
import { testConfig } from './helpers/config.ts'
import { type TestDb, testDatabase } from './helpers/db.ts'
import { failedLogin, login, refresh, reuse, type Who } from './helpers/events.ts'
import { dropRedis, eventually, redisFor } from './helpers/redis.ts'
import { startTokenIssuer } from './helpers/tokens.ts'
import { testWorker } from './helpers/worker.ts'

let t: TestDb
let config: AnalyticsConfig
let redis: Redis
const running: Worker[] = []

beforeAll(async () => {
  t = await testDatabase('worker')
})
afterAll(async () => {
  await t?.drop()
})

// Each test: empty tables, its own streams and key prefix.
beforeEach(async () => {
  await t.truncate()
  config = testConfig({ DATABASE_URL: t.url, BATCH_SIZE: '20', CLAIM_IDLE: '1s', MAX_DELIVERIES: '3' })
  redis = redisFor(config)
})
afterEach(async () => {
  await Promise.all(running.splice(0).map((w) => w.stop()))
  await dropRedis(redis)
})

function start(
  overrides: Partial<AnalyticsConfig> = {},
  deps: Parameters<typeof testWorker>[1] | object = {},
) {
  const worker = testWorker({ ...config, ...overrides }, { redis, db: t.db, ...deps })
  running.push(worker)
  return worker
}

async function stored(): Promise<number> {
  const r = await sql<{ n: number }>`select count(*) as n from analytics_events`.execute(t.db)
  return Number(r.rows[0]!.n)
}

const store = () => createAnalyticsStore(t.db, config.EVENTS_STREAM)

function traffic(n: number, at = Date.now()): SessionEvent[] {
  return Array.from({ length: n }, (_, i) =>
    i % 2 === 0
      ? login({ userId: `u${i % 9}`, sessionId: `s${i}` }, at - 1000 + i)
      : failedLogin(`u${i % 9}`, at - 1000 + i),
  )
}

async function alertsIn(stream: string): Promise<RiskAlert[]> {
  const entries = await redis.xrange(stream, '-', '+')
  return entries.map(([, fields]) => {
    const decoded = decodeAlert(fields)
    if (!decoded.ok) throw new Error(decoded.reason)
    return decoded.event
  })
}

describe('worker', () => {
  it('stores a published stream end to end and acknowledges it', async () => {
    const events = traffic(50)
    await publish(redis, config.EVENTS_STREAM, events)
    const worker = start()
    await worker.start()
    await worker.storedEntries(50)
    expect(await stored()).toBe(50)
    await worker.stop() // acknowledges what it stored
    expect((await readGroupInfo(redis, config.EVENTS_STREAM, config.CONSUMER_GROUP))?.pending).toBe(0)
    const counted = await sql<{
      n: string
    }>`select sum(count) as n from analytics_counters where metric = 'logins'`.execute(t.db)
    expect(Number(counted.rows[0]!.n)).toBe(25)
  })

  it('two workers in one group process a load with no event counted twice', async () => {
    const events = traffic(400)
    const a = start({ CONSUMER_NAME: 'a', WORKER_CONCURRENCY: 2 })
    const b = start({ CONSUMER_NAME: 'b', WORKER_CONCURRENCY: 2 })
    await Promise.all([a.start(), b.start()])
    await publish(redis, config.EVENTS_STREAM, events)
    // Redeliver a slice too: the outbox relay publishes at least once.
    await publish(redis, config.EVENTS_STREAM, events.slice(0, 50))
    await eventually(
      async () => (await readGroupInfo(redis, config.EVENTS_STREAM, config.CONSUMER_GROUP))?.lag === 0,
    )
    await eventually(
      async () => (await readGroupInfo(redis, config.EVENTS_STREAM, config.CONSUMER_GROUP))?.pending === 0,
    )
    expect(await stored()).toBe(400)
    const counted = await sql<{
      n: string
    }>`select sum(count) as n from analytics_counters where metric = 'events'`.execute(t.db)
    expect(Number(counted.rows[0]!.n)).toBe(400)
  })

  it('a batch whose parts commit side by side: one failing part does not double-count the committed ones', async () => {
    // A real database-side failure for one user's events (test-only trigger), in a batch split into 4 parts.
    await sql
      .raw(
        "create trigger poison_user before insert on analytics_events for each row begin if new.user_id = 'poisoned' then signal sqlstate '45000' set message_text = 'poisoned row'; end if; end",
      )
      .execute(t.db)
    try {
      const events = [...traffic(39), failedLogin('poisoned', Date.now())]
      const worker = start({ INGEST_PARTITIONS: 4, BATCH_SIZE: 40 })
      await publish(redis, config.EVENTS_STREAM, events)
      await worker.start()
      const dead = `${config.EVENTS_STREAM}:dead`
      await eventually(async () => (await redis.xlen(dead)) === 1)
      await eventually(
        async () => (await readGroupInfo(redis, config.EVENTS_STREAM, config.CONSUMER_GROUP))?.pending === 0,
      )
      expect(await stored()).toBe(39)
      const counted = await sql<{
        n: string
      }>`select sum(count) as n from analytics_counters where metric = 'events'`.execute(t.db)
      expect(Number(counted.rows[0]!.n)).toBe(39) // parts committed in the first delivery were not counted again
      const [entry] = await redis.xrange(dead, '-', '+')
      expect(entry![1][entry![1].indexOf('reason') + 1]).toMatch(/poisoned row/)
    } finally {
      await sql.raw('drop trigger if exists poison_user').execute(t.db)
    }
  })

  it('dead-letters an event that keeps failing (after MAX_DELIVERIES) and one that does not decode; the rest flows', async () => {
    const events = traffic(10)
    const poison = events[4]!
    const worker = start(
      {},
      {
        hooks: {
          beforeStore: async (batch: { event: SessionEvent }[]) => {
            if (batch.some((e) => e.event.id === poison.id)) throw new Error('simulated bug on this event')
          },
        },
      },
    )
    await worker.start()
    await publish(redis, config.EVENTS_STREAM, events)
    await redis.xadd(config.EVENTS_STREAM, '*', 'type', 'session.created', 'data', '{"id":42}')
    const dead = `${config.EVENTS_STREAM}:dead`
    await eventually(async () => (await redis.xlen(dead)) === 2)
    await eventually(
      async () => (await readGroupInfo(redis, config.EVENTS_STREAM, config.CONSUMER_GROUP))?.pending === 0,
    )
    expect(await stored()).toBe(9)
    const reasons = (await redis.xrange(dead, '-', '+')).map(([, f]) => f[f.indexOf('reason') + 1])
    expect(reasons).toEqual(
      expect.arrayContaining([
        'undecodable: data does not match the event schema',
        'failed 3 deliveries: simulated bug on this event',
      ]),
    )
    expect(await worker.registry.getSingleMetricAsString('analytics_worker_dead_letters_total')).toMatch(
      / 2$/m,
    )
  })

  it('publishes one risk.alert per upward crossing of the threshold, not one per event', async () => {
    let now = Date.parse('2026-11-20T10:10:00.000Z')
    const worker = start({ RISK_WINDOW: 3600 }, { now: () => new Date(now) })
    await worker.start()
    const T = Date.parse('2026-11-20T10:00:00.000Z')
    const who = (n: number): Who => ({ userId: 'mallory', sessionId: `m${n}`, ip: `41.0.0.${n}` })
    // 3 IPs (30) + reuse (40) = 70 > 50: one crossing.
    await publish(redis, config.EVENTS_STREAM, [
      login(who(1), T),
      login(who(2), T + 1000),
      login(who(3), T + 2000),
    ])
    await publish(redis, config.EVENTS_STREAM, [reuse(who(1), T + 3000)])
    await worker.storedEntries(4)
    await worker.alerts.flush()
    expect(await alertsIn(config.ALERTS_STREAM)).toHaveLength(1)
    // More suspicious activity while still above the threshold: no new alert.
    await publish(redis, config.EVENTS_STREAM, [refresh(who(4), T + 4000), reuse(who(2), T + 5000)])
    await worker.storedEntries(6)
    expect(await stored()).toBe(6)
    await worker.alerts.flush()
    expect(await alertsIn(config.ALERTS_STREAM)).toHaveLength(1)
    const [first] = await alertsIn(config.ALERTS_STREAM)
    expect(first).toMatchObject({ type: 'risk.alert', userId: 'mallory', data: { score: 70 } })
    expect(first!.data.factors.map((f) => f.code)).toEqual(['MULTIPLE_IPS', 'TOKEN_REUSE'])

    // Two hours later the window no longer holds those events: the score falls, then crosses again.
    now = T + 2 * 3600_000 + 600_000
    const later = T + 2 * 3600_000
    await publish(redis, config.EVENTS_STREAM, [refresh(who(1), later)])
    await worker.storedEntries(7)
    expect(await stored()).toBe(7)
    await publish(redis, config.EVENTS_STREAM, [
      login(who(5), later + 1000),
      login(who(6), later + 2000),
      login(who(7), later + 3000),
      reuse(who(5), later + 4000),
    ])
    await worker.storedEntries(11)
    await worker.alerts.flush()
    expect(await alertsIn(config.ALERTS_STREAM)).toHaveLength(2)
  })

  it('publishes alerts a crashed process decided but never published (outbox), once', async () => {
    const T = Date.now()
    const who = (n: number): Who => ({ userId: 'eve', sessionId: `e${n}`, ip: `41.1.0.${n}` })
    // The decision is committed with the events; the process "dies" before its relay runs.
    const { alerts } = await ingestBatch(
      t.db,
      [login(who(1), T), login(who(2), T + 1), login(who(3), T + 2), reuse(who(1), T + 3)],
      { rules: riskRulesOf(config) },
    )
    expect(alerts).toHaveLength(1)
    expect(await alertsIn(config.ALERTS_STREAM)).toHaveLength(0)
    const worker = start()
    await worker.start()
    await eventually(async () => (await alertsIn(config.ALERTS_STREAM)).length === 1)
    await worker.alerts.flush()
    const published = await alertsIn(config.ALERTS_STREAM)
    expect(published.map((a) => a.id)).toEqual([alerts[0]!.id])
    const waiting = await sql<{
      n: number
    }>`select count(*) as n from analytics_alert_outbox where published_at is null`.execute(t.db)
    expect(Number(waiting.rows[0]!.n)).toBe(0)
  })
})

describe('gap detection', () => {
  it('detects entries trimmed while every worker was away, and reports them in /analytics and /metrics', async () => {
    const worker = start()
    await worker.start()
    await publish(redis, config.EVENTS_STREAM, traffic(20))
    await worker.storedEntries(20)
    expect(await stored()).toBe(20)
    await worker.stop()

    await publish(redis, config.EVENTS_STREAM, traffic(30))
    await redis.xtrim(config.EVENTS_STREAM, 'MAXLEN', 5) // 25 entries nobody read are gone
    const again = start()
    await again.start()
    await again.storedEntries(5)
    expect(await stored()).toBe(25)
    expect(await store().completeness()).toMatchObject({ gaps: 1, missingEvents: 25 })

    const issuer = await startTokenIssuer(redis)
    const app = await buildApp({ ...config, TOKEN_SERVICE_URL: issuer.url }, { redis, db: t.db })
    try {
      const token = await issuer.mint('sec', ['security'])
      const body = (
        await app.inject({ url: '/analytics', headers: { authorization: `Bearer ${token}` } })
      ).json()
      expect(body.dataCompleteness).toMatchObject({ complete: false, gaps: 1, missingEvents: 25 })
      expect(Date.parse(body.dataCompleteness.lastGapAt)).not.toBeNaN()
      const metrics = (await app.inject({ url: '/metrics' })).body
      expect(metrics).toMatch(/^analytics_stream_gaps 1$/m)
      expect(metrics).toMatch(/^analytics_stream_missing_events 25$/m)
    } finally {
      await app.close()
      await issuer.close()
    }
  })

  it('detects entries trimmed unread while workers run but lag behind (the lost count stays in the group lag)', async () => {
    const worker = start()
    await worker.start()
    await publish(redis, config.EVENTS_STREAM, traffic(10))
    await worker.storedEntries(10)
    expect(await stored()).toBe(10)
    await worker.stop()
    // While no one reads, the publisher's MAXLEN drops unread entries; a worker then reads past the hole
    // before any check runs. Redis's per-group entries-read still tells.
    await publish(redis, config.EVENTS_STREAM, traffic(40))
    await redis.xtrim(config.EVENTS_STREAM, 'MAXLEN', 10)
    const reader = start({ CONSUMER_NAME: 'reader' })
    await redis.xreadgroup(
      'GROUP',
      config.CONSUMER_GROUP,
      'other',
      'COUNT',
      100,
      'STREAMS',
      config.EVENTS_STREAM,
      '>',
    )
    await reader.gaps.check()
    expect(await store().completeness()).toMatchObject({ gaps: 1, missingEvents: 30 })
    await reader.gaps.check() // seen again: still one gap
    expect(await store().completeness()).toMatchObject({ gaps: 1, missingEvents: 30 })
  })

  it('detects a stream lost with Redis data while the worker was away (the group had to be recreated)', async () => {
    const worker = start()
    await worker.start()
    await publish(redis, config.EVENTS_STREAM, traffic(10))
    await worker.storedEntries(10)
    expect(await stored()).toBe(10)
    await worker.stop()
    await redis.del(config.EVENTS_STREAM)
    await publish(redis, config.EVENTS_STREAM, traffic(5, Date.now() + 10))
    const again = start()
    await again.start()
    await again.storedEntries(5)
    expect(await stored()).toBe(15)
    const gaps = await sql<{ kind: string }>`select kind from analytics_stream_gaps`.execute(t.db)
    expect(gaps.rows.map((r) => r.kind)).toEqual(['stream_lost'])
  })

  it('detects a stream lost while the worker runs (NOGROUP)', async () => {
    const worker = start()
    await worker.start()
    await publish(redis, config.EVENTS_STREAM, traffic(10))
    await worker.storedEntries(10)
    expect(await stored()).toBe(10)
    await redis.del(config.EVENTS_STREAM)
    await publish(redis, config.EVENTS_STREAM, traffic(4, Date.now() + 10))
    await worker.storedEntries(14)
    expect(await stored()).toBe(14)
    expect(await store().completeness()).toMatchObject({ gaps: 1 })
  })

  it('records history trimmed before the first start, and nothing for a healthy stream', async () => {
    await publish(redis, config.EVENTS_STREAM, traffic(10))
    await redis.xtrim(config.EVENTS_STREAM, 'MAXLEN', 4)
    const worker = start()
    await worker.start()
    await worker.storedEntries(4)
    expect(await stored()).toBe(4)
    expect(await store().completeness()).toMatchObject({ gaps: 1, missingEvents: 6 })

    await t.truncate()
    const healthy = testConfig({ DATABASE_URL: t.url })
    const other = start({ EVENTS_STREAM: healthy.EVENTS_STREAM })
    await other.start()
    for (let i = 0; i < 3; i++) {
      await publish(redis, healthy.EVENTS_STREAM, traffic(20, Date.now() + i * 100))
      await eventually(
        async () => (await readGroupInfo(redis, healthy.EVENTS_STREAM, config.CONSUMER_GROUP))?.lag === 0,
      )
      // The publisher trims what the group has already read: no loss.
      await redis.xtrim(healthy.EVENTS_STREAM, 'MAXLEN', 5)
      await other.gaps.check()
    }
    expect(await createAnalyticsStore(t.db, healthy.EVENTS_STREAM).completeness()).toMatchObject({ gaps: 0 })
    await redis.del(healthy.EVENTS_STREAM, `${healthy.EVENTS_STREAM}:epoch:${config.CONSUMER_GROUP}`)
  })
})

describe('encoding', () => {
  it('reads entries exactly as the token service writes them (fields type and data)', async () => {
    const event = traffic(1)[0]!
    await redis.xadd(config.EVENTS_STREAM, '*', ...encodeEvent(event))
    const worker = start()
    await worker.start()
    await worker.storedEntries(1)
    expect(await stored()).toBe(1)
    const page = await store().events({ userId: event.userId!, limit: 5 })
    expect(page.envelopes.map((e) => JSON.parse(e))).toEqual([event])
  })
})

describe('ingest edge cases the database decides', () => {
  const scoreOf = async (userId: string) => {
    const r = await sql<{
      score: number
    }>`select score from analytics_user_risk where user_id = ${userId}`.execute(t.db)
    return r.rows.map((x) => Number(x.score))
  }
  // What the worker ingests: events as they come off the stream.
  const viaStream = (e: SessionEvent) => {
    const decoded = decodeEvent(encodeEvent(e))
    if (!decoded.ok) throw new Error(decoded.reason)
    return decoded.event
  }

  it('user ids equal under PAD SPACE are one user, in one batch or across batches (no retry loop, one row)', async () => {
    const at = Date.now() - 60_000
    const rules = riskRulesOf(config)
    await ingestBatch(t.db, [failedLogin('amina', at), failedLogin('amina ', at + 1)], { rules })
    await ingestBatch(t.db, [failedLogin('amina  ', at + 2)], { rules })
    const rows = await sql<{ n: number }>`select count(*) as n from analytics_user_risk`.execute(t.db)
    expect(Number(rows.rows[0]!.n)).toBe(1)
    expect(await stored()).toBe(3)
  })

  it.each([
    ['one batch', [[0, 1, 2]]],
    ['split batches', [[0, 1], [2]]],
    ['reversed', [[2], [1], [0]]],
  ])('device ids with lone surrogates score the same whatever the batching (%s)', async (_, batches) => {
    const at = Date.now() - 60_000
    const who = (deviceId: string, i: number): Who => ({ userId: 'kofi', sessionId: `k${i}`, deviceId })
    const events = ['x\uD83D', 'x\uD83E', 'y'].map((id, i) => viaStream(login(who(id, i), at + i)))
    expect(events[0]!.device?.id).toBe('x\uFFFD') // as UTF-8 storage keeps it
    for (const b of batches)
      await ingestBatch(
        t.db,
        b.map((i) => events[i]!),
        { rules: riskRulesOf(config) },
      )
    // Two distinct devices once stored ('x\uFFFD' twice, 'y'): MULTIPLE_DEVICES (3) does not fire.
    expect(await scoreOf('kofi')).toEqual([0])
  })
})
