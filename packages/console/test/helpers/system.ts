import { randomBytes } from 'node:crypto'
import { createDb, dropDatabase } from '@africhain/db'
import { testDatabaseUrl } from '@africhain/db/testing'
import { Redis } from 'ioredis'
import { freePort } from '../../../../infra/scripts/free-port.ts'
import { ServiceProcess } from '../../../../services/token/test/helpers/process.ts'

export const PASSWORD = 'correct horse battery'
/** The token service's allowlist of browser origins (CORS), which must name the console's origin. */
export const CORS_VARIABLE = 'CORS_ORIGINS'

/** A JSON answer: its status and body (a token pair, an error `{ code, message }`, …). */
export type Answer = { status: number; body: Record<string, string | undefined> & { code?: string } }

export type System = {
  tokenUrl: string
  analyticsUrl: string
  consoleUrl: string
  /** POST/GET a JSON route of the token service, as any client would (headers added to the defaults). */
  token(path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>
  register(identifier: string, roles?: string): Promise<string>
  close(): Promise<void>
}

/**
 * The real system as `pnpm start` runs it — the token service and one analytics process (API and worker) as OS
 * processes — on a database and Redis key prefix of their own. The token service trusts X-Forwarded-For from
 * loopback, so a test can speak for a client at another address.
 */
export async function startSystem(label: string): Promise<System> {
  const [tokenPort, analyticsPort] = [await freePort(), await freePort()]
  const tokenUrl = `http://127.0.0.1:${tokenPort}`
  const analyticsUrl = `http://127.0.0.1:${analyticsPort}`
  const prefix = `test:${label}:${randomBytes(4).toString('hex')}:`
  const databaseUrl = testDatabaseUrl(label)
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    TOKEN_PORT: String(tokenPort),
    ANALYTICS_PORT: String(analyticsPort),
    TOKEN_SERVICE_URL: tokenUrl,
    PASSWORD_HASH_COST: '10',
    LOG_LEVEL: 'warn',
    TRUST_PROXY: 'loopback',
    RATE_LIMIT_LOGIN: 'off',
    RATE_LIMIT_REGISTER: 'off',
    RATE_LIMIT_REFRESH: 'off',
    [CORS_VARIABLE]: analyticsUrl,
  }
  const processes: ServiceProcess[] = []
  const startOne = async (entry: string, url: string) => {
    const proc = new ServiceProcess(entry, env)
    processes.push(proc)
    await proc.waitForHttp(`${url}/health/ready`).catch((error: Error) => {
      throw new Error(`${entry} did not start: ${error.message}\n${proc.lines.join('\n')}`)
    })
  }
  // The token service first: it migrates and creates the signing key whose JWKS the analytics API loads.
  await startOne('services/token/src/server.ts', tokenUrl)
  await startOne('services/analytics/src/server.ts', analyticsUrl)

  const token: System['token'] = async (path, body, headers = {}) => {
    const init: RequestInit =
      body === undefined
        ? { headers }
        : {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: JSON.stringify(body),
          }
    const response = await fetch(`${tokenUrl}${path}`, init)
    const text = await response.text()
    return { status: response.status, body: text ? JSON.parse(text) : null }
  }
  const db = createDb<{ users: { id: string; roles: string } }>({ url: databaseUrl, connectionLimit: 2 })

  return {
    tokenUrl,
    analyticsUrl,
    consoleUrl: `${analyticsUrl}/console/`,
    token,
    async register(identifier, roles) {
      const res = await token('/auth/register', {
        identifier,
        password: PASSWORD,
        displayName: `Test ${identifier}`,
      })
      if (res.status !== 201)
        throw new Error(`register ${identifier}: ${res.status} ${JSON.stringify(res.body)}`)
      if (roles) await db.updateTable('users').set({ roles }).where('id', '=', res.body.userId!).execute()
      return res.body.userId!
    },
    async close() {
      for (const proc of processes) proc.kill('SIGTERM')
      await Promise.all(processes.map((p) => p.exited))
      await db.destroy()
      const redis = new Redis(redisUrl)
      try {
        const keys = await redis.keys(`${prefix}*`)
        if (keys.length > 0) await redis.del(...keys)
      } finally {
        redis.disconnect()
      }
      await dropDatabase(databaseUrl)
    },
  }
}
