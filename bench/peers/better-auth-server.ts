import { createServer } from 'node:http'
import { betterAuth } from 'better-auth'
import { getMigrations } from 'better-auth/db/migration'
import { toNodeHandler } from 'better-auth/node'
import { bearer } from 'better-auth/plugins'
import { Redis } from 'ioredis'
import { MysqlDialect } from 'kysely'
import { createPool } from 'mysql2'

/**
 * better-auth as a peer: email + password (its default scrypt: N 2^14, r 16 — the same 32 MiB and work as
 * the token service's N 2^15, r 8), the bearer plugin, MySQL through its built-in kysely adapter, Redis as
 * secondary storage (sessions live there: get-session reads Redis), the cookie cache off so a revoked
 * session stops at once. Its own rate limiter is off, as ours is in the bench.
 */
const port = Number(process.env.PORT)
const url = new URL(process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/bench_better_auth')
const prefix = process.env.REDIS_KEY_PREFIX ?? 'bench:better-auth:'
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { keyPrefix: prefix })
const pool = createPool({
  host: url.hostname,
  port: Number(url.port || 3306),
  user: decodeURIComponent(url.username || 'root'),
  password: decodeURIComponent(url.password),
  database: url.pathname.slice(1),
  connectionLimit: 16,
  timezone: 'Z',
})

export const auth = betterAuth({
  baseURL: `http://127.0.0.1:${port}`,
  secret: process.env.BETTER_AUTH_SECRET ?? 'bench-only-secret-bench-only-secret-0123456789',
  database: { dialect: new MysqlDialect({ pool }), type: 'mysql' },
  secondaryStorage: {
    get: (key) => redis.get(key),
    getAndDelete: (key) => redis.getdel(key),
    increment: async (key, ttl) => {
      const [[, n]] = (await redis.multi().incr(key).expire(key, ttl, 'NX').exec()) as [[null, number]]
      return n
    },
    set: async (key, value, ttl) => {
      if (ttl) await redis.set(key, value, 'EX', ttl)
      else await redis.set(key, value)
    },
    delete: async (key) => {
      await redis.del(key)
    },
  },
  emailAndPassword: { enabled: true, autoSignIn: false },
  session: { cookieCache: { enabled: false } },
  rateLimit: { enabled: false },
  plugins: [bearer()],
  logger: { level: 'error' },
})

const { runMigrations } = await getMigrations(auth.options)
await runMigrations()

const handler = toNodeHandler(auth)
const server = createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200).end('ok')
    return
  }
  void handler(req, res)
})
server.listen(port, '127.0.0.1')
process.once('SIGTERM', () => {
  server.close()
  redis.disconnect()
  pool.end()
  process.exit(0)
})
