import { createDb, ensureDatabase, migrateToLatest } from '@africhain/db'
import { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import type { AnalyticsConfig } from './config.ts'
import { migrations } from './storage/migrations/index.ts'
import type { Database } from './storage/tables.ts'

export type Connections = { redis: Redis; db: Kysely<Database>; close(): Promise<void> }

/**
 * Redis and MySQL for one process (shared by the API and the worker in `all` mode). Redis fails fast: no
 * offline queue, one retry, a timeout per command, so an outage answers 503 instead of piling up; the
 * worker's blocking read gets its own connection from the consumer.
 */
export async function openConnections(
  config: AnalyticsConfig,
  onRedisError: (err: Error) => void,
): Promise<Connections> {
  if (config.MIGRATE_ON_START) await ensureDatabase(config.DATABASE_URL)
  const db = createDb<Database>({ url: config.DATABASE_URL, connectionLimit: config.DB_POOL_SIZE })
  if (config.MIGRATE_ON_START) await migrateToLatest(db as Kysely<unknown>, migrations, 'analytics')
  const redis = new Redis(config.REDIS_URL, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    ...(config.REDIS_KEY_PREFIX ? { keyPrefix: config.REDIS_KEY_PREFIX } : {}),
  })
  let lastLog = 0
  redis.on('error', (err: Error) => {
    // ioredis emits on every reconnect attempt; one line every 5 s is enough.
    if (Date.now() - lastLog > 5000) {
      lastLog = Date.now()
      onRedisError(err)
    }
  })
  // Start even while Redis is down: readiness says 503 and the worker retries.
  await redis.connect().catch(() => {})
  return {
    redis,
    db,
    async close() {
      await redis.quit().catch(() => redis.disconnect())
      await db.destroy()
    },
  }
}
