import { randomBytes } from 'node:crypto'
import { dropDatabase } from '@africhain/db'
import { testDatabaseUrl } from '@africhain/db/testing'
import { late } from '@africhain/testing'
import { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, inject } from 'vitest'
import { type BuildOptions, buildApp } from '../../src/app.ts'
import { loadTokenConfig, type TokenConfig } from '../../src/config.ts'

export type TestApp = Awaited<ReturnType<typeof buildApp>>

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Config for one test file: its own database, its own Redis key prefix (and so its own stream). */
export function testConfig(label: string, overrides: Record<string, string> = {}): TokenConfig {
  const prefix = `test:${label}:${randomBytes(4).toString('hex')}:`
  // The token-cluster project provides a real Redis Cluster; the others use the single Redis.
  const clusterNodes = inject('redisClusterNodes')
  return loadTokenConfig({
    ...(clusterNodes ? { REDIS_CLUSTER_NODES: clusterNodes } : {}),
    DATABASE_URL: testDatabaseUrl(label),
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    PASSWORD_HASH_COST: '10',
    LOG_LEVEL: 'silent',
    RATE_LIMIT_LOGIN: 'off',
    RATE_LIMIT_REGISTER: 'off',
    RATE_LIMIT_REFRESH: 'off',
    RATE_LIMIT_INTROSPECT: 'off',
    ...overrides,
  })
}

/** Deletes every key under the config's prefix (on every master of a cluster) and drops its database. */
export async function cleanup(config: TokenConfig): Promise<void> {
  const nodes = config.REDIS_CLUSTER_NODES
    ? config.REDIS_CLUSTER_NODES.map((n) => new Redis(n.port, n.host))
    : [new Redis(config.REDIS_URL)]
  try {
    for (const redis of nodes) {
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.REDIS_KEY_PREFIX}*`, 'COUNT', 1000)
        cursor = next
        // One key per command: on a cluster, keys of one call must share a slot.
        await Promise.all(keys.map((k) => redis.unlink(k).catch(() => 0)))
      } while (cursor !== '0')
    }
  } finally {
    for (const redis of nodes) redis.disconnect()
  }
  await dropDatabase(config.DATABASE_URL)
}

export async function startApp(config: TokenConfig, opts: BuildOptions = {}): Promise<TestApp> {
  const app = await buildApp(config, opts)
  await app.ready()
  return app
}

/**
 * The prologue of a test file: its own config (`testConfig(label, env)`), `instances` apps on it (one by
 * default; several share the database and Redis like instances behind a balancer) started in a
 * `beforeAll` and closed in an `afterAll` that then deletes everything the file left (`cleanup`), and a raw
 * Redis client on the same prefix, opened when first read and disconnected with the rest.
 * `app` (and each of `apps`) stands for the started app: use it in hooks and tests, not at module level.
 * The file's own `beforeAll` hooks run after the apps start, its `afterAll` hooks before they close.
 */
export function useTestApp<N extends number = 1>(
  label: string,
  opts: { env?: Record<string, string>; build?: BuildOptions; instances?: N } = {},
) {
  const config = testConfig(label, opts.env)
  const started: TestApp[] = []
  let redis: Redis | undefined
  beforeAll(async () => {
    for (let i = 0; i < (opts.instances ?? 1); i++) started.push(await startApp(config, opts.build))
  })
  afterAll(async () => {
    await Promise.all(started.map((app) => app.close()))
    redis?.disconnect()
    await cleanup(config)
  })
  const apps = Array.from({ length: opts.instances ?? 1 }, (_, i) => late('the test app', () => started[i]))
  return {
    config,
    app: apps[0] as TestApp,
    apps: apps as Tuple<N>,
    get redis(): Redis {
      redis ??= rawRedis(config)
      return redis
    },
  }
}

/** `N` apps, as a tuple: `const { apps: [a, b] } = useTestApp(label, { instances: 2 })`. */
type Tuple<N extends number, R extends TestApp[] = []> = R['length'] extends N ? R : Tuple<N, [...R, TestApp]>

/** A raw client on the same Redis and prefix as the app: for asserting effects (stream entries, keys). */
export function rawRedis(config: TokenConfig): Redis {
  if (config.REDIS_CLUSTER_NODES) {
    return new Cluster(config.REDIS_CLUSTER_NODES, { keyPrefix: config.REDIS_KEY_PREFIX }) as unknown as Redis
  }
  return new Redis(config.REDIS_URL, { keyPrefix: config.REDIS_KEY_PREFIX })
}

let counter = 0
export const uniquePhone = () =>
  `+2547${String(Date.now() % 1e6).padStart(6, '0')}${String(counter++ % 100).padStart(2, '0')}`
export const uniqueEmail = () => `artisan.${randomBytes(5).toString('hex')}@example.com`

export const PASSWORD = 'correct horse battery'

export type Pair = {
  accessToken: string
  refreshToken: string
  tokenType: string
  expiresIn: number
  refreshExpiresIn: number
  sessionId: string
}

export async function register(app: TestApp, identifier = uniqueEmail(), password = PASSWORD) {
  const res = await app.inject({ method: 'POST', url: '/auth/register', payload: { identifier, password } })
  if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`)
  return { identifier, password, userId: res.json().userId as string }
}

export async function login(
  app: TestApp,
  identifier: string,
  opts: { password?: string; device?: Record<string, unknown>; rememberMe?: boolean; ip?: string } = {},
): Promise<Pair> {
  const res = await app.inject({
    method: 'POST',
    url: '/auth/login',
    remoteAddress: opts.ip ?? '127.0.0.1',
    payload: {
      identifier,
      password: opts.password ?? PASSWORD,
      device: opts.device ?? LOGIN_DEVICE,
      ...(opts.rememberMe !== undefined ? { rememberMe: opts.rememberMe } : {}),
    },
  })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

export async function signIn(app: TestApp, opts: Parameters<typeof login>[2] = {}) {
  const user = await register(app)
  const pair = await login(app, user.identifier, opts)
  return { ...user, pair }
}

/** The device `login` binds sessions to unless told otherwise. */
export const LOGIN_DEVICE = { id: 'device-1', platform: 'android', name: "Amina's phone" }

/** A refresh from the login's device by default; `null` names no device. */
export function refresh(
  app: TestApp,
  refreshToken: string,
  device: Record<string, unknown> | null = LOGIN_DEVICE,
) {
  return app.inject({
    method: 'POST',
    url: '/auth/refresh-token',
    payload: { refreshToken, ...(device ? { device } : {}) },
  })
}

export function authed(app: TestApp, method: 'GET' | 'POST', url: string, token: string, payload?: unknown) {
  return app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
  })
}
