import { connectInBackground, createRedisClient } from '@africhain/bus'
import { createDb, ensureDatabase, migrateToLatest } from '@africhain/db'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import type { AnalyticsConfig } from './config.ts'
import { checkBinarySchema } from './storage/migrations/binary-schema.ts'
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
  // Refuses to run on text columns that fold case or accents, migrated or not (migration 006 converts them).
  await checkBinarySchema(db).catch(async (err) => {
    await db.destroy()
    throw err
  })
  // Single Redis or a cluster (REDIS_CLUSTER_NODES). The services use the commands both have; a cluster
  // client is typed as Redis here (streams, XACK, XAUTOCLAIM are single-key and route by the stream's slot).
  const redis = createRedisClient({
    url: config.REDIS_URL,
    clusterNodes: config.REDIS_CLUSTER_NODES,
    keyPrefix: config.REDIS_KEY_PREFIX,
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
  }) as Redis
  // Start even while Redis is down: readiness says 503 and the worker retries.
  await connectInBackground(redis, onRedisError)
  return {
    redis,
    db,
    async close() {
      await redis.quit().catch(() => redis.disconnect())
      await db.destroy()
    },
  }
}
