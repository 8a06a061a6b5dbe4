import { decodeEvent } from '@africhain/events'
import { waitFor } from '@africhain/testing'
import { readSessionState } from '@africhain/verifier'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  authed,
  cleanup,
  login,
  type Pair,
  refresh,
  register,
  signIn,
  startApp,
  type TestApp,
  testConfig,
} from './helpers/app.ts'
import { CuttableProxy, OwnRedis } from './helpers/faults.ts'

// Destructive tests: a redis-server of our own (FLUSHALL, kill, restart) and MariaDB behind a proxy we can cut.
const ownRedis = new OwnRedis()
const proxy = new CuttableProxy({ host: '127.0.0.1', port: 3306 })
let config: ReturnType<typeof testConfig>
let app: TestApp
let raw: Redis

beforeAll(async () => {
  await ownRedis.start()
  await proxy.start()
  const base = testConfig('faults', { REDIS_COMMAND_TIMEOUT_MS: '300' })
  const dbUrl = new URL(base.DATABASE_URL)
  dbUrl.port = String(proxy.port)
  config = testConfig('faults', {
    REDIS_URL: ownRedis.url,
    DATABASE_URL: dbUrl.toString(),
    REDIS_COMMAND_TIMEOUT_MS: '300',
  })
  // The watcher notices a Redis that lost its data every 200 ms here (5 s in production).
  app = await startApp(config, { hotStateCheckMs: 200 })
  raw = new Redis(ownRedis.url, { keyPrefix: config.REDIS_KEY_PREFIX, retryStrategy: () => 100 })
  raw.on('error', () => {}) // the tests kill this server on purpose
})
afterAll(async () => {
  await app?.close()
  raw?.disconnect()
  await ownRedis.stop()
  proxy.restore()
  await cleanup({ ...config, REDIS_URL: 'redis://127.0.0.1:6379' })
  await proxy.stop()
})

const me = (pair: Pair) => authed(app, 'GET', '/auth/me', pair.accessToken)
const waitReady = () =>
  waitFor(async () => (await app.inject('/health/ready')).statusCode === 200, 'readiness')

describe('Redis loses all its data', () => {
  it('revives nothing: revoked stays revoked, rotated stays dead, live sessions keep working', async () => {
    const live = await signIn(app)
    const untouched = await signIn(app)
    const revoked = await signIn(app)
    await authed(app, 'POST', '/auth/logout', revoked.pair.accessToken)
    const chain = await signIn(app)
    const t1: Pair = (await refresh(app, chain.pair.refreshToken)).json()
    const t2: Pair = (await refresh(app, t1.refreshToken)).json()

    await raw.flushall()

    expect((await me(revoked.pair)).json().code).toBe('TOKEN_REVOKED')
    expect((await me(live.pair)).statusCode).toBe(200)
    expect((await refresh(app, chain.pair.refreshToken)).json().code).toBe('TOKEN_REUSED')
    expect((await refresh(app, t2.refreshToken)).json().code).toBe('TOKEN_REVOKED')

    // Other resource servers read Redis only: the watcher rebuilds their view from MySQL.
    await waitFor(
      async () => (await raw.exists(app.redisKeys.rebuiltSentinel)) === 1,
      'the hot state rebuild',
    )
    expect(await readSessionState(raw, untouched.pair.sessionId, untouched.userId)).toBe('active')
    expect(await readSessionState(raw, revoked.pair.sessionId, revoked.userId)).toBe('revoked')
    expect(await readSessionState(raw, chain.pair.sessionId, chain.userId)).toBe('revoked')
  })
})

describe('Redis down', () => {
  it('fails closed with 503 DEPENDENCY_UNAVAILABLE, then recovers after a restart that lost everything', async () => {
    const before = await signIn(app)
    await ownRedis.stop()
    const res = await me(before.pair)
    expect(res.statusCode).toBe(503)
    expect(res.json()).toEqual({
      statusCode: 503,
      code: 'DEPENDENCY_UNAVAILABLE',
      error: 'Service Unavailable',
      message: expect.not.stringMatching(/redis|stack|at /i),
    })
    expect((await app.inject('/health/ready')).statusCode).toBe(503)
    const loginRes = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { identifier: before.identifier, password: before.password, device: { platform: 'web' } },
    })
    expect(loginRes.statusCode).toBe(503)
    expect((await authed(app, 'POST', '/auth/logout', before.pair.accessToken)).statusCode).toBe(503)

    await ownRedis.start()
    await waitReady()
    expect((await me(before.pair)).statusCode).toBe(200)
  })

  it('keeps events in the outbox while Redis is down and publishes them after', async () => {
    await ownRedis.stop()
    const res = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { identifier: `outage.${Date.now()}@example.com`, password: 'long enough pw' },
    })
    expect(res.statusCode).toBe(201)
    const { userId } = res.json()
    const waiting = await app.db
      .selectFrom('outbox')
      .select('payload')
      .where('stream_key', 'is', null)
      .execute()
    expect(waiting.some((r) => r.payload.includes(userId))).toBe(true)

    await ownRedis.start()
    await waitReady()
    const published = await waitFor(async () => {
      const entries = await raw.xrange(config.EVENTS_STREAM, '-', '+')
      const mine = entries.map(([, f]) => decodeEvent(f)).filter((d) => d.ok && d.event.userId === userId)
      return mine.length > 0 ? mine : undefined
    }, 'the registration event on the stream')
    expect(published).toHaveLength(1)
    await waitFor(
      async () =>
        (await app.db.selectFrom('outbox').select('id').where('stream_key', 'is', null).execute()).length ===
        0,
      'nothing left unpublished',
    )
  })
})

describe('database down', () => {
  it('answers 503 for login, refresh and logout, and a logout is never 2xx unless durable', async () => {
    await waitReady()
    const user = await signIn(app)
    proxy.cut()
    try {
      const loginRes = await app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { identifier: user.identifier, password: user.password, device: { platform: 'web' } },
      })
      expect(loginRes.statusCode).toBe(503)
      expect((await refresh(app, user.pair.refreshToken)).statusCode).toBe(503)
      const out = await authed(app, 'POST', '/auth/logout', user.pair.accessToken)
      expect(out.statusCode).toBe(503)
      expect(out.json().code).toBe('DEPENDENCY_UNAVAILABLE')
      expect((await app.inject('/health/ready')).statusCode).toBe(503)
    } finally {
      proxy.restore()
    }
    await waitReady()
    // The failed logout changed nothing; a retry now revokes for real.
    expect((await me(user.pair)).statusCode).toBe(200)
    expect((await authed(app, 'POST', '/auth/logout', user.pair.accessToken)).statusCode).toBe(204)
    expect((await me(user.pair)).json().code).toBe('TOKEN_REVOKED')
  })
})

describe('process dies between commit and publish', () => {
  it('publishes the committed events when an instance starts again, once each', async () => {
    // The running instance plays the one that starts again: its relay is off until then, so it cannot
    // publish the dead instance's events while they are being committed.
    await app.relay.stop()
    const stopped = await startApp(config, { background: false })
    const user = await register(stopped)
    const pair = await login(stopped, user.identifier)
    await stopped.close() // "dies": its relay never ran
    const pending = await app.db.selectFrom('outbox').select('id').where('stream_key', 'is', null).execute()
    expect(pending.length).toBeGreaterThanOrEqual(2)
    app.relay.start()

    const events = await waitFor(async () => {
      const entries = await raw.xrange(config.EVENTS_STREAM, '-', '+')
      const mine = entries
        .map(([, f]) => decodeEvent(f))
        .filter((d) => d.ok && d.event.userId === user.userId)
      return mine.length >= 2 ? mine : undefined
    }, 'the events of the dead instance')
    const ids = events.map((d) => (d.ok ? d.event.id : ''))
    expect(new Set(ids).size).toBe(ids.length)
    expect(events.map((d) => (d.ok ? d.event.type : '')).sort()).toEqual([
      'session.created',
      'user.registered',
    ])
    expect((await me(pair)).statusCode).toBe(200)
  })
})
