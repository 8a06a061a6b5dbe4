import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitFor } from '@africhain/testing'
import {
  type AuthContext,
  createAccessTokenVerifier,
  readSessionState,
  WriteProbe,
} from '@africhain/verifier'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { accessTokenSigner } from '../src/keys/signer.ts'
import {
  authed,
  cleanup,
  type Pair,
  register,
  signIn,
  startApp,
  type TestApp,
  testConfig,
} from './helpers/app.ts'
import { OwnRedis } from './helpers/faults.ts'
import { freePort } from './helpers/process.ts'

// Storage attacks on the hot state: a redis-server of our own that we roll back, make read-only or full.
const dir = mkdtempSync(join(tmpdir(), 'africhain-redis-'))
const ownRedis = new OwnRedis({ dir })
let config: ReturnType<typeof testConfig>
let app: TestApp
let raw: Redis
/** What any other resource server (the analytics API) runs: Redis only, failing closed. */
let resourceServer: (token: string) => Promise<AuthContext>
let probe: WriteProbe

const INTERVAL_MS = 200

beforeAll(async () => {
  await ownRedis.start()
  config = testConfig('attack_redis', { REDIS_URL: ownRedis.url, REDIS_COMMAND_TIMEOUT_MS: '500' })
  app = await startApp(config, { hotStateCheckMs: INTERVAL_MS })
  raw = new Redis(ownRedis.url, { keyPrefix: config.REDIS_KEY_PREFIX, retryStrategy: () => 100 })
  raw.on('error', () => {}) // the tests restart this server on purpose
  probe = new WriteProbe(raw, INTERVAL_MS)
  await probe.start()
  resourceServer = createAccessTokenVerifier({
    issuer: config.TOKEN_ISSUER,
    audience: config.TOKEN_AUDIENCE,
    keys: app.keyRing,
    sessionState: (sid, sub) => readSessionState(raw, sid, sub),
    hotStateTrusted: () => probe.writable,
  })
  await waitFor(async () => (await raw.exists(app.redisKeys.rebuiltSentinel)) === 1, 'the first rebuild')
})
afterAll(async () => {
  await probe?.stop()
  await app?.close()
  raw?.disconnect()
  await ownRedis.stop()
  await cleanup({ ...config, REDIS_URL: 'redis://127.0.0.1:6379' })
  rmSync(dir, { recursive: true, force: true })
})

const me = (pair: Pair) => authed(app, 'GET', '/auth/me', pair.accessToken)
/** The resource server's answer: 'ok' or the error code. */
const elsewhere = (pair: Pair) =>
  resourceServer(pair.accessToken).then(
    () => 'ok',
    (err: { code?: string }) => err.code ?? 'error',
  )

describe('Redis goes back in time', () => {
  it('a restore from an older snapshot revives no revoked session: its tombstone is back within seconds', async () => {
    const victim = await signIn(app)
    const bystander = await signIn(app)
    await raw.save() // the snapshot knows the victim's session as active (and has the rebuilt sentinel)
    expect((await authed(app, 'POST', '/auth/logout', victim.pair.accessToken)).statusCode).toBe(204)
    expect(await elsewhere(victim.pair)).toBe('TOKEN_REVOKED')

    await ownRedis.stop()
    await ownRedis.start() // loads the old snapshot: "active" again, the sentinel still there
    await waitFor(async () => (await raw.ping().catch(() => '')) === 'PONG', 'redis back')

    // Within a few keeper rounds the revocation from MySQL wins again, on every server.
    await waitFor(async () => (await elsewhere(victim.pair)) === 'TOKEN_REVOKED', 'the tombstone', 5_000)
    expect((await me(victim.pair)).json().code).toBe('TOKEN_REVOKED')
    expect(await elsewhere(bystander.pair)).toBe('ok')
    expect((await me(bystander.pair)).statusCode).toBe(200)
  })
})

describe('Redis refuses writes', () => {
  const modes = [
    {
      name: 'a read-only replica (failover to a lagging replica)',
      enter: async (port: number) => raw.call('REPLICAOF', '127.0.0.1', String(port)),
      leave: async () => raw.call('REPLICAOF', 'NO', 'ONE'),
    },
    {
      name: 'out of memory (maxmemory, noeviction)',
      enter: async () => {
        await raw.config('SET', 'maxmemory-policy', 'noeviction')
        await raw.config('SET', 'maxmemory', '1')
      },
      leave: async () => raw.config('SET', 'maxmemory', '0'),
    },
  ]

  it.each(modes)(
    '$name: a logout never answers 204 unless it wins, and no server trusts a stale "active"',
    async (mode) => {
      const victim = await signIn(app)
      const bystander = await signIn(app)
      await mode.enter(await freePort())
      await waitFor(async () => !probe.writable, 'the probe to notice')

      // The revocation is durable in MySQL, but its tombstone cannot be written: not a 204.
      const logout = await authed(app, 'POST', '/auth/logout', victim.pair.accessToken)
      expect(logout.statusCode).toBe(503)
      expect(logout.json().code).toBe('DEPENDENCY_UNAVAILABLE')
      // The token service asks MySQL while Redis refuses writes: the victim is out, the bystander still in.
      expect((await me(victim.pair)).json().code).toBe('TOKEN_REVOKED')
      expect((await me(bystander.pair)).statusCode).toBe(200)
      // A Redis-only resource server fails closed.
      expect(await elsewhere(victim.pair)).toBe('DEPENDENCY_UNAVAILABLE')
      expect(await elsewhere(bystander.pair)).toBe('DEPENDENCY_UNAVAILABLE')

      await mode.leave()
      await waitFor(async () => (await elsewhere(victim.pair)) === 'TOKEN_REVOKED', 'the tombstone', 5_000)
      await waitFor(async () => (await elsewhere(bystander.pair)) === 'ok', 'the probe to trust Redis again')
    },
  )
})

describe('a session belongs to its user', () => {
  it.each([
    ['while Redis holds the session', false],
    ['after Redis lost it (answered from MySQL)', true],
  ])('a token naming another user’s live session is refused %s', async (_name, flush) => {
    const victim = await signIn(app)
    const attacker = await signIn(app)
    const signer = accessTokenSigner(app.keyRing, config.TOKEN_ISSUER, config.TOKEN_AUDIENCE)
    const forged = signer.sign({
      sub: attacker.userId,
      sid: victim.pair.sessionId,
      roles: ['user'],
      exp: Math.floor(Date.now() / 1000) + 300,
    })
    if (flush) await raw.flushall()
    const res = await authed(app, 'GET', '/auth/me', forged)
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe('TOKEN_INVALID')
    if (!flush) await expect(resourceServer(forged)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
    expect((await me(victim.pair)).statusCode).toBe(200)
  })
})

describe('two deployments on one Redis, no key prefix', () => {
  it('each relays its own outbox and counts its own failures', async () => {
    const shared = new OwnRedis()
    await shared.start()
    const configs = ['deploy_one', 'deploy_two'].map((label) =>
      testConfig(label, {
        REDIS_URL: shared.url,
        REDIS_KEY_PREFIX: '',
        EVENTS_STREAM: `${label}-events`,
        ALERTS_STREAM: `${label}-alerts`,
      }),
    )
    const apps = await Promise.all(configs.map((c) => startApp(c)))
    const plain = new Redis(shared.url)
    try {
      expect(configs.map((c) => c.REDIS_KEY_PREFIX ?? '')).toEqual(['', ''])
      const users = await Promise.all(apps.map((a) => register(a)))
      // Both streams fill: neither deployment holds the other's relay lease.
      await waitFor(async () => {
        const lengths = await Promise.all(configs.map((c) => plain.xlen(c.EVENTS_STREAM)))
        return lengths.every((n) => n > 0)
      }, 'both streams to receive events')
      for (const [i, c] of configs.entries()) {
        const entries = await plain.xrange(c.EVENTS_STREAM, '-', '+')
        expect(entries.map(([, f]) => f.join(' ')).join('\n')).toContain(users[i]!.userId)
      }
      // The same identifier locked in one deployment is not locked in the other.
      const identifier = `shared.${Date.now()}@example.com`
      await Promise.all(apps.map((a) => register(a, identifier)))
      const attempt = (a: TestApp, password: string) =>
        a.inject({
          method: 'POST',
          url: '/auth/login',
          payload: { identifier, password, device: { platform: 'web' } },
        })
      for (let i = 0; i < 5; i++) await attempt(apps[0]!, 'wrong password!')
      expect((await attempt(apps[0]!, 'correct horse battery')).json().code).toBe('LOGIN_LOCKED')
      expect((await attempt(apps[1]!, 'correct horse battery')).statusCode).toBe(200)
      expect(apps[0]!.redisKeys.relayLease).not.toBe(apps[1]!.redisKeys.relayLease)
    } finally {
      plain.disconnect()
      await Promise.all(apps.map((a) => a.close()))
      await shared.stop()
      await Promise.all(
        configs.map((c) =>
          cleanup({ ...c, REDIS_URL: 'redis://127.0.0.1:6379', REDIS_KEY_PREFIX: 'unused:' }),
        ),
      )
    }
  })
})
