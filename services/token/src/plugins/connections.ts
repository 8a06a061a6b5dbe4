import { connectInBackground, createRedisClient, type RedisClient } from '@africhain/bus'
import { createDb, ensureDatabase, migrateToLatest } from '@africhain/db'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import type { TokenConfig } from '../config.ts'
import { checkBinarySchema } from '../storage/migrations/binary-schema.ts'
import { MIGRATION_TABLE, tokenMigrations } from '../storage/migrations/index.ts'
import { type DeploymentKeys, deploymentKeys, readDeploymentId } from '../storage/redis-keys.ts'
import type { TokenDatabase } from '../storage/tables.ts'

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<TokenDatabase>
    /** A small pool whose connections accept several statements per round trip: the rotation transaction. */
    rotationDb: Kysely<TokenDatabase>
    redis: RedisClient
    /** This deployment's coordination keys in Redis (leases, sentinel, counters). */
    redisKeys: DeploymentKeys
  }
}

const destroyAndThrow = (db: Kysely<TokenDatabase>) => async (err: unknown) => {
  await db.destroy()
  throw err
}

/** MySQL (migrated when MIGRATE_ON_START) and Redis, closed with the app. */
export const connectionsPlugin = fp(
  async (app: FastifyInstance, { config }: { config: TokenConfig }) => {
    if (config.MIGRATE_ON_START) await ensureDatabase(config.DATABASE_URL)
    const db = createDb<TokenDatabase>({ url: config.DATABASE_URL, connectionLimit: config.DB_POOL_SIZE })
    if (config.MIGRATE_ON_START) await migrateToLatest(db, tokenMigrations, MIGRATION_TABLE)
    // Refuses to run on text columns that fold case or accents, migrated or not (migration 002 converts them).
    await checkBinarySchema(db).catch(async (err) => {
      await db.destroy()
      throw err
    })
    const redisKeys = deploymentKeys(await readDeploymentId(db).catch(destroyAndThrow(db)))
    const rotationDb = createDb<TokenDatabase>({
      url: config.DATABASE_URL,
      connectionLimit: config.DB_POOL_SIZE,
      multipleStatements: true,
      // The rotation reads the user's roles inside its UPDATE (storage/rotation-statement.ts).
      readCommitted: true,
    })
    const redis = createRedisClient({
      url: config.REDIS_URL,
      clusterNodes: config.REDIS_CLUSTER_NODES,
      keyPrefix: config.REDIS_KEY_PREFIX,
      commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    })
    await connectInBackground(redis, (err) =>
      app.log.warn({ err: { message: err.message } }, 'redis unavailable'),
    )
    app.decorate('db', db)
    app.decorate('rotationDb', rotationDb)
    app.decorate<RedisClient>('redis', redis)
    app.decorate('redisKeys', redisKeys)
    app.addHook('onClose', async () => {
      await redis.quit().catch(() => redis.disconnect())
      await Promise.all([db.destroy(), rotationDb.destroy()])
    })
  },
  { name: 'token-connections', fastify: '5.x' },
)
