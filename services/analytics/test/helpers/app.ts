import { late } from '@africhain/testing'
import { afterAll, beforeAll } from 'vitest'
import { buildApp } from '../../src/app.ts'
import type { AnalyticsConfig } from '../../src/config.ts'
import { testConfig } from './config.ts'
import { openTestDatabase } from './db.ts'
import { dropRedis, redisFor } from './redis.ts'
import { startTokenIssuer, type TokenIssuer } from './tokens.ts'

export type TestApp = Awaited<ReturnType<typeof buildApp>>

/**
 * The prologue of an API test file: a migrated database, a Redis key prefix and streams of its own, a
 * token issuer (signing key, JWKS, session state, as the token service), and the analytics API on them,
 * started in a `beforeAll` and closed, dropped and deleted in an `afterAll`. `db` and `redis` are the
 * file's own clients; `app` and `issuer` stand for what `beforeAll` started, and `config` (the API's, the
 * issuer's URL included) is read from the returned object once it has: use them in hooks and tests.
 * `log` sends the app's lines at that level to a stream. The file's own `beforeAll` hooks run after the
 * start, its `afterAll` hooks before the close.
 */
export function useTestApp(
  label: string,
  opts: { log?: { level: AnalyticsConfig['LOG_LEVEL']; stream: { write(line: string): void } } } = {},
) {
  const t = openTestDatabase(label)
  const base = testConfig({ DATABASE_URL: t.url })
  const redis = redisFor(base)
  let started: { issuer: TokenIssuer; config: AnalyticsConfig; app: TestApp } | undefined
  let issuer: TokenIssuer | undefined
  let app: TestApp | undefined
  beforeAll(async () => {
    await t.migrate()
    issuer = await startTokenIssuer(redis)
    const config = { ...base, TOKEN_SERVICE_URL: issuer.url }
    const logged = opts.log ? { ...config, LOG_LEVEL: opts.log.level } : config
    app = await buildApp(logged, { redis, db: t.db, ...(opts.log ? { logStream: opts.log.stream } : {}) })
    started = { issuer, config, app }
  })
  afterAll(async () => {
    await app?.close()
    await issuer?.close()
    await dropRedis(redis)
    await t.drop()
  })
  const get = () => {
    if (started === undefined) throw new Error('the analytics test app is used before beforeAll started it')
    return started
  }
  return {
    db: t.db,
    redis,
    app: late('the analytics test app', () => started?.app),
    issuer: late('the token issuer', () => started?.issuer),
    get config(): AnalyticsConfig {
      return get().config
    },
  }
}
