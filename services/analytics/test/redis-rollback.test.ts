import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OwnRedis, waitFor } from '@africhain/testing'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testConfig } from './helpers/config.ts'
import { type TestDb, testDatabase } from './helpers/db.ts'
import { redisFor } from './helpers/redis.ts'
import { type RunningTokenService, startTokenService } from './helpers/token-service.ts'
import { testWorker } from './helpers/worker.ts'

// The token service and the worker on a redis-server of the test's own, restored from an older snapshot
// before the worker read what was published after it: the token relay publishes those events again from
// its retained outbox rows, and analytics stores every committed event exactly once.
const dir = mkdtempSync(join(tmpdir(), 'africhain-rollback-'))
const own = new OwnRedis({ dir })
let t: TestDb
let tokens: RunningTokenService
let raw: Redis

beforeAll(async () => {
  await own.start()
  t = await testDatabase('rollback')
})
afterAll(async () => {
  await tokens?.close()
  raw?.disconnect()
  await own.stop()
  await t?.drop()
  rmSync(dir, { recursive: true, force: true })
})

/** Every committed event of the token service has a stream id (its XADD went through). */
async function allPublished(): Promise<number> {
  const rows = await sql<{ n: number; waiting: number }>`select count(*) as n,
    sum(stream_key is null) as waiting from outbox`.execute(tokens.app.db)
  const { n, waiting } = rows.rows[0]!
  return Number(waiting) === 0 ? Number(n) : 0
}

describe('Redis restored from an older snapshot before the worker read the newer events', () => {
  it('analytics stores every committed event exactly once', async () => {
    const config = testConfig({ REDIS_URL: own.url, DATABASE_URL: t.url })
    tokens = await startTokenService({
      REDIS_URL: own.url,
      REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX!,
      EVENTS_STREAM: config.EVENTS_STREAM,
      ALERTS_STREAM: config.ALERTS_STREAM,
    })
    raw = new Redis(own.url, { retryStrategy: () => 50 })
    raw.on('error', () => {}) // restarted on purpose
    for (let i = 0; i < 3; i++) await tokens.signIn()
    await waitFor(allPublished, 'the first events published')
    await raw.save() // the snapshot holds these
    for (let i = 0; i < 4; i++) await tokens.signIn()
    const committed = await waitFor(allPublished, 'the later events published')

    await own.stop()
    await own.start() // the stream is back to the snapshot: the later events are gone
    await waitFor(async () => (await raw.ping().catch(() => '')) === 'PONG', 'redis back')

    const redis = redisFor(config)
    const worker = testWorker(config, { redis, db: t.db })
    await worker.start()
    try {
      const stored = async () => {
        const r = await sql<{ n: number }>`select count(*) as n from analytics_events`.execute(t.db)
        return Number(r.rows[0]!.n) >= committed ? Number(r.rows[0]!.n) : 0
      }
      expect(await waitFor(stored, 'every event stored', 15_000)).toBe(committed)
      const ids = await t.db.selectFrom('analytics_events').select('id').execute()
      const outbox = await tokens.app.db.selectFrom('outbox').select('id').execute()
      expect(new Set(ids.map((r) => r.id))).toEqual(new Set(outbox.map((r) => r.id)))
      expect(ids).toHaveLength(committed)
    } finally {
      await worker.stop()
      redis.disconnect()
    }
  })
})
