import { randomBytes } from 'node:crypto'
import { dropDatabase } from '@africhain/db'
import { testDatabaseUrl } from '@africhain/db/testing'
import { buildApp, loadTokenConfig } from '@africhain/token-service'
import { Redis } from 'ioredis'

/**
 * The real token service (services/token) for `against-token-service.test.ts`.
 *
 * Contract for whoever wires it (build it with `buildApp` from `@africhain/token-service`, listen
 * on 127.0.0.1 port 0, real Redis and MariaDB, a database and key prefix of its own):
 * - `ACCESS_TOKEN_TTL` = `options.accessTokenTtl`, `REFRESH_REUSE_GRACE` = `options.reuseGrace`;
 * - rate limits off (the tests log in and refresh far more often than 20 per minute);
 * - `baseUrl` answers the routes of docs/api.md; `close()` closes the app and drops what it created.
 * The tests only speak HTTP to it, so nothing else is needed.
 */
export type TokenServiceOptions = {
  /** Access-token lifetime, in the service's duration syntax (`2s`). */
  accessTokenTtl: string
  /** Reuse grace window (`1s`): a replay after it must answer TOKEN_REUSED. */
  reuseGrace: string
}

export type RunningTokenService = {
  baseUrl: string
  close(): Promise<void>
}

export async function startTokenService(options: TokenServiceOptions): Promise<RunningTokenService> {
  const config = loadTokenConfig({
    DATABASE_URL: testDatabaseUrl('client'),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `test:client:${randomBytes(4).toString('hex')}:`,
    ACCESS_TOKEN_TTL: options.accessTokenTtl,
    REFRESH_REUSE_GRACE: options.reuseGrace,
    PASSWORD_HASH_COST: '10',
    LOG_LEVEL: 'silent',
    RATE_LIMIT_LOGIN: 'off',
    RATE_LIMIT_REGISTER: 'off',
    RATE_LIMIT_REFRESH: 'off',
    RATE_LIMIT_INTROSPECT: 'off',
  })
  const app = await buildApp(config)
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return {
    baseUrl: address,
    async close() {
      await app.close()
      const redis = new Redis(config.REDIS_URL)
      try {
        const keys = await redis.keys(`${config.REDIS_KEY_PREFIX}*`)
        if (keys.length > 0) await redis.del(...keys)
      } finally {
        redis.disconnect()
      }
      await dropDatabase(config.DATABASE_URL)
    },
  }
}
