import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readGroupInfo, readStreamInfo } from '@africhain/bus'
import { newRiskAlert, type RiskAlert } from '@africhain/events'
import { OwnRedis, waitFor } from '@africhain/testing'
import type { Redis } from 'ioredis'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AnalyticsConfig } from '../src/config.ts'
import { type AlertRelay, createAlertRelay } from '../src/events/alert-relay.ts'
import { notifierDeliveries, pairKey } from '../src/notifier/deliveries.ts'
import { createNotifier, type Notifier } from '../src/notifier/notifier.ts'
import { testConfig } from './helpers/config.ts'
import { type TestDb, testDatabase } from './helpers/db.ts'
import { redisFor } from './helpers/redis.ts'

// Redis losing the alert stream, its consumer group or everything while the alerts are still in the outbox:
// the relay publishes them again and the notifier's group is created again, and still every alert reaches
// the hook exactly once (what was delivered is recorded in the database, which Redis' loss does not touch).
const dir = mkdtempSync(join(tmpdir(), 'africhain-notifier-loss-'))
const own = new OwnRedis({ dir })
let t: TestDb
let receiver: Server
let base: string
const accepted: string[] = []

beforeAll(async () => {
  await own.start()
  t = await testDatabase('notifier_loss')
  receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => {
      body += d
    })
    req.on('end', () => {
      accepted.push(/Alert (\S+) at/.exec((JSON.parse(body) as { text: string }).text)![1]!)
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise((r) => receiver?.close(r))
  await t?.drop()
  await own.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function raise(db: TestDb, n: number): Promise<RiskAlert[]> {
  const alerts = Array.from({ length: n }, (_, i) =>
    newRiskAlert(`user-${i}`, { score: 70, holderScore: 70, factors: [] }),
  )
  await db.db
    .insertInto('analytics_alert_outbox')
    .values(
      alerts.map((a) => ({
        id: a.id,
        user_id: a.userId,
        score: 70,
        payload: JSON.stringify(a),
        created_at: new Date(),
      })),
    )
    .execute()
  return alerts
}

/** The notifier's group has read and acknowledged everything the stream holds. */
async function caughtUp(redis: Redis, config: AnalyticsConfig): Promise<boolean> {
  const [info, group] = await Promise.all([
    readStreamInfo(redis, config.ALERTS_STREAM),
    readGroupInfo(redis, config.ALERTS_STREAM, config.NOTIFIER_GROUP),
  ])
  return !!info && !!group && group.pending === 0 && group.lastDeliveredId === info.lastGeneratedId
}

type Loss = (redis: Redis, config: AnalyticsConfig) => Promise<unknown>
const prefixed = (redis: Redis, key: string) => `${redis.options.keyPrefix}${key}`

describe('the notifier after Redis lost alerts still in the outbox', () => {
  it.each<[string, Loss]>([
    ['FLUSHALL', (redis) => redis.flushall()],
    ['the stream deleted', (redis, c) => redis.del(c.ALERTS_STREAM)],
    [
      'the group destroyed',
      (redis, c) => redis.xgroup('DESTROY', prefixed(redis, c.ALERTS_STREAM), c.NOTIFIER_GROUP),
    ],
    [
      'a restore of an older snapshot',
      async () => {
        await own.stop()
        await own.start() // loads the SAVE below: the later alerts and their acknowledgements are gone
      },
    ],
  ])('%s: every alert is delivered exactly once', async (_, lose) => {
    await t.truncate()
    accepted.length = 0
    const config = testConfig({
      REDIS_URL: own.url,
      DATABASE_URL: t.url,
      ANALYTICS_ROLE: 'notifier',
      ALERT_WEBHOOKS: `ops=slack:${base}/ops`,
    })
    const redis = redisFor(config)
    redis.on('error', () => {}) // the server restarts in one case
    await redis.flushall()
    const relay: AlertRelay = createAlertRelay({
      db: t.db,
      redis,
      stream: config.ALERTS_STREAM,
      logger: pino({ level: 'silent' }),
      retentionMs: 3_600_000,
    })
    const notifier: Notifier = createNotifier({
      config,
      redis,
      db: t.db,
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
      blockMs: 100,
    })
    try {
      await notifier.start()
      const first = await raise(t, 3)
      await relay.flush()
      await waitFor(() => caughtUp(redis, config), 'the first alerts delivered')
      await redis.save()
      const later = await raise(t, 3)
      await relay.flush()
      await waitFor(() => caughtUp(redis, config), 'the later alerts delivered')

      await lose(redis, config)
      await waitFor(async () => (await redis.ping().catch(() => '')) === 'PONG', 'redis answers')
      await relay.flush() // publishes again what the stream lost
      const after = await raise(t, 2)
      await relay.flush()
      const all = [...first, ...later, ...after].map((a) => a.id)
      await waitFor(
        async () => accepted.length >= all.length && (await caughtUp(redis, config)),
        'every alert delivered after the loss',
      )
      expect([...accepted].sort()).toEqual([...all].sort())
    } finally {
      await relay.stop()
      await notifier.stop()
      redis.disconnect()
    }
  })
})

describe('a notifier that starts after Redis lost its group', () => {
  // `ran before`: the database shows deliveries, so a missing group was lost, not new (read back);
  // a first start (no delivery recorded) begins at the stream's end and does not page about old alerts.
  it.each([
    ['that delivered before reads back what the relay published again', true],
    ['on its first start notifies from now on', false],
  ])('a notifier %s', async (_, ranBefore) => {
    await t.truncate()
    accepted.length = 0
    const config = testConfig({
      REDIS_URL: own.url,
      DATABASE_URL: t.url,
      ANALYTICS_ROLE: 'notifier',
      ALERT_WEBHOOKS: `ops=slack:${base}/ops`,
    })
    const redis = redisFor(config)
    await redis.flushall()
    const logger = pino({ level: 'silent' })
    const relay = createAlertRelay({
      db: t.db,
      redis,
      stream: config.ALERTS_STREAM,
      logger,
      retentionMs: 3_600_000,
    })
    const notifierFor = () =>
      createNotifier({ config, redis, db: t.db, logger, registry: new Registry(), blockMs: 100 })
    const before = await raise(t, 3)
    let expected = before
    if (ranBefore) {
      const first = notifierFor()
      await first.start()
      await relay.flush()
      await waitFor(async () => accepted.length === 3 && (await caughtUp(redis, config)), 'delivered once')
      await first.stop()
      const missed = await raise(t, 2) // published while no notifier runs
      await relay.flush()
      await redis.flushall() // the host restarts: Redis comes back empty, the relay publishes again first
      await relay.flush()
      expected = [...before, ...missed]
    } else {
      await relay.flush() // alerts raised before any notifier ran
      expected = []
    }
    const next = notifierFor()
    try {
      await next.start()
      const after = await raise(t, 2)
      await relay.flush()
      expected = [...expected, ...after]
      await waitFor(
        async () => accepted.length >= expected.length && (await caughtUp(redis, config)),
        'the alerts after the start delivered',
      )
      expect([...accepted].sort()).toEqual(expected.map((a) => a.id).sort())
    } finally {
      await relay.stop()
      await next.stop()
      redis.disconnect()
    }
  })
})

describe('the delivery markers', () => {
  it('deletes only markers older than the cutoff, however many there are', async () => {
    await t.truncate()
    const markers = notifierDeliveries(t.db)
    const old = new Date(Date.now() - 8 * 86_400_000)
    const rows = Array.from({ length: 2_500 }, (_, i) => ({
      hook: 'ops',
      alert_id: `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`,
      delivered_at: i < 2_100 ? old : new Date(),
    }))
    await t.db.insertInto('analytics_notifier_deliveries').values(rows).execute()
    expect(await markers.deleteBefore(new Date(Date.now() - 7 * 86_400_000))).toBe(2_100)
    const left = await markers.delivered(rows.map((r) => r.alert_id))
    expect(left.size).toBe(400)
    expect(left.has(pairKey('ops', rows[2_499]!.alert_id))).toBe(true)
  })
})
