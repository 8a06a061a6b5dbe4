import { randomBytes } from 'node:crypto'
import { type Child, freePort, startNode, waitForHttp } from './proc.ts'

/** What every token-service instance of one bench run shares: database, Redis prefix, settings. */
export type BenchEnv = {
  databaseUrl: string
  redisUrl: string
  /** `bench:<random>:`: every key the run writes in the shared Redis starts with it. */
  redisPrefix: string
  /** One key-encryption secret for every instance of the run (they share the signing keys in the database). */
  keyEncryptionSecret: string
}

export function newBenchEnv(): BenchEnv {
  const tag = randomBytes(4).toString('hex')
  const base = new URL(process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/africhain')
  base.pathname = `/africhain_bench_${tag}`
  return {
    databaseUrl: base.toString(),
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisPrefix: `bench:${tag}:`,
    keyEncryptionSecret: randomBytes(32).toString('hex'),
  }
}

export type TokenService = { url: string; child: Child; stop: () => Promise<void> }

/**
 * Starts `node services/token/src/server.ts` in its own process on a free loopback port and waits for
 * /health/ready. Rate limits off, scrypt cost 10 (the benchmarks measure the token path, not scrypt),
 * LOG_LEVEL warn.
 */
export async function startTokenService(
  env: BenchEnv,
  overrides: Partial<Record<string, string>> = {},
): Promise<TokenService> {
  const port = await freePort()
  const child = startNode('token service', 'services/token/src/server.ts', {
    env: {
      DATABASE_URL: env.databaseUrl,
      REDIS_URL: env.redisUrl,
      REDIS_KEY_PREFIX: env.redisPrefix,
      HOST: '127.0.0.1',
      TOKEN_PORT: String(port),
      RATE_LIMIT_LOGIN: 'off',
      RATE_LIMIT_REGISTER: 'off',
      RATE_LIMIT_REFRESH: 'off',
      RATE_LIMIT_INTROSPECT: 'off',
      PASSWORD_HASH_COST: '10',
      LOG_LEVEL: 'warn',
      // A secret keeps the "keys stored unencrypted" warning out of the output; it changes nothing measured.
      KEY_ENCRYPTION_SECRET: env.keyEncryptionSecret,
      MIGRATE_ON_START: 'true',
      ...(overrides as Record<string, string>),
    },
  })
  const url = `http://127.0.0.1:${port}`
  await waitForHttp(`${url}/health/ready`, child, 60_000)
  return {
    url,
    child,
    async stop() {
      await child.stop('SIGTERM', 15_000)
    },
  }
}

async function postJson<T>(url: string, body: unknown, expect: number): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  if (res.status !== expect) throw new Error(`POST ${url} → ${res.status}: ${text.slice(0, 300)}`)
  return JSON.parse(text) as T
}

export const PASSWORD = 'correct horse battery staple'

export async function register(service: { url: string }, identifier: string): Promise<void> {
  await postJson(`${service.url}/auth/register`, { identifier, password: PASSWORD }, 201)
}

export type Pair = { accessToken: string; refreshToken: string; sessionId: string }

/** Every rotation chain's session is bound to this device at login; each refresh names it. */
export const CHAIN_DEVICE = { id: 'bench-chain', platform: 'web' } as const

export async function login(service: { url: string }, identifier: string, deviceId: string): Promise<Pair> {
  return postJson<Pair>(
    `${service.url}/auth/login`,
    { identifier, password: PASSWORD, device: { id: deviceId, platform: 'web', name: 'bench' } },
    200,
  )
}

/** Runs `task(i)` for i in [0, n) with at most `concurrency` in flight. */
export async function pool<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++
        out[i] = await task(i)
      }
    }),
  )
  return out
}
