import { randomBytes } from 'node:crypto'
import { dropDatabase } from '@africhain/db'
import { testDatabaseUrl } from '@africhain/db/testing'
import { buildApp, loadTokenConfig, type TokenConfig } from '@africhain/token-service'

export type RunningTokenService = {
  url: string
  config: TokenConfig
  app: Awaited<ReturnType<typeof buildApp>>
  /** Registers a user (roles granted in its database, as `pnpm cli user:grant-role` does) and logs in. */
  signIn(
    roles?: string[],
  ): Promise<{ userId: string; identifier: string; accessToken: string; refreshToken: string }>
  close(): Promise<void>
}

/**
 * The real token service on loopback, on the analytics test's Redis key prefix and streams (so its events
 * and session state are the ones analytics reads), with a database of its own.
 */
export async function startTokenService(env: {
  REDIS_URL: string
  REDIS_KEY_PREFIX: string
  EVENTS_STREAM: string
  ALERTS_STREAM: string
}): Promise<RunningTokenService> {
  const config = loadTokenConfig({
    ...env,
    DATABASE_URL: testDatabaseUrl(`an_tok_${randomBytes(3).toString('hex')}`),
    PASSWORD_HASH_COST: '10',
    LOG_LEVEL: 'silent',
    RATE_LIMIT_LOGIN: 'off',
    RATE_LIMIT_REGISTER: 'off',
    RATE_LIMIT_REFRESH: 'off',
    RATE_LIMIT_INTROSPECT: 'off',
  })
  const app = await buildApp(config)
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, string> }
  }
  return {
    url,
    config,
    app,
    async signIn(roles = ['user']) {
      const identifier = `analyst.${randomBytes(5).toString('hex')}@example.com`
      const password = 'correct horse battery'
      const reg = await post('/auth/register', { identifier, password })
      if (reg.status !== 201) throw new Error(`register: ${reg.status}`)
      await app.db
        .updateTable('users')
        .set({ roles: roles.join(' ') })
        .where('id', '=', reg.body.userId!)
        .execute()
      const pair = await post('/auth/login', { identifier, password, device: { id: 'd1', platform: 'web' } })
      if (pair.status !== 200) throw new Error(`login: ${pair.status}`)
      return {
        userId: reg.body.userId!,
        identifier,
        accessToken: pair.body.accessToken!,
        refreshToken: pair.body.refreshToken!,
      }
    },
    async close() {
      await app.close()
      await dropDatabase(config.DATABASE_URL)
    },
  }
}
