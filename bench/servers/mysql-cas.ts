import { randomBytes, randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { type Generated, Kysely, MysqlDialect, sql } from 'kysely'
import { createPool } from 'mysql2'

/**
 * The ceiling for the refresh benchmark: a bare Fastify route that does only one MySQL transaction, the
 * rotation's compare-and-set `UPDATE … WHERE id = ? AND generation = ?` plus an outbox `INSERT`, on tables
 * shaped like the token service's `sessions` and `outbox`, through kysely + mysql2 with the same pool settings
 * as `@africhain/db` (pool size = the service's DB_POOL_SIZE default). No hashing, no signing, no Redis.
 */

type Db = {
  cas_sessions: {
    id: string
    user_id: string
    device_id: string | null
    device_platform: string
    device_name: string | null
    user_agent: string | null
    ip: string
    remember_me: number
    created_at: Date
    last_active_at: Date
    expires_at: Date
    revoked_at: Date | null
    revoked_reason: string | null
    generation: number
    rotated_at: Date | null
    successor_enc: string | null
  }
  cas_outbox: { seq: Generated<number>; id: string; payload: string; created_at: Date }
}

const url = new URL(process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/africhain_bench')
const db = new Kysely<Db>({
  dialect: new MysqlDialect({
    pool: createPool({
      host: url.hostname,
      port: Number(url.port || 3306),
      user: decodeURIComponent(url.username || 'root'),
      password: decodeURIComponent(url.password),
      database: url.pathname.slice(1),
      connectionLimit: Number(process.env.DB_POOL_SIZE ?? 16),
      connectTimeout: 2000,
      queueLimit: 1000,
      timezone: 'Z',
      supportBigNumbers: true,
      enableKeepAlive: true,
    }),
  }),
})

// Same column types and indexes as the token service's migration 001.
await sql`CREATE TABLE IF NOT EXISTS cas_sessions (
  id varchar(32) PRIMARY KEY, user_id varchar(36) NOT NULL, device_id varchar(128), device_platform varchar(16) NOT NULL,
  device_name varchar(100), user_agent varchar(512), ip varchar(64) NOT NULL, remember_me boolean NOT NULL,
  created_at datetime(3) NOT NULL, last_active_at datetime(3) NOT NULL, expires_at datetime(3) NOT NULL,
  revoked_at datetime(3), revoked_reason varchar(32), generation integer NOT NULL, rotated_at datetime(3),
  successor_enc varchar(255),
  INDEX cas_sessions_user_idx (user_id, revoked_at), INDEX cas_sessions_expiry_idx (expires_at))`.execute(db)
await sql`CREATE TABLE IF NOT EXISTS cas_outbox (
  seq bigint AUTO_INCREMENT PRIMARY KEY, id varchar(36) NOT NULL UNIQUE, payload text NOT NULL,
  created_at datetime(3) NOT NULL)`.execute(db)

const USER_AGENT = 'bench-chains/1'

const app = Fastify()
app.get('/health', async () => ({ status: 'ok' }))

/** A session row as a login would leave it (no password check, no token): the start of one chain. */
app.post('/sessions', async () => {
  const now = new Date()
  const id = randomBytes(16).toString('base64url')
  await db
    .insertInto('cas_sessions')
    .values({
      id,
      user_id: randomUUID(),
      device_id: null,
      device_platform: 'web',
      device_name: null,
      user_agent: USER_AGENT,
      ip: '127.0.0.1',
      remember_me: 0,
      created_at: now,
      last_active_at: now,
      expires_at: new Date(now.getTime() + 7 * 86_400_000),
      revoked_at: null,
      revoked_reason: null,
      generation: 1,
      rotated_at: null,
      successor_enc: null,
    })
    .execute()
  return { id, generation: 1 }
})

/** One rotation: the compare-and-set and its outbox event in one transaction. */
app.post<{ Body: { id: string; generation: number } }>('/rotate', async (request, reply) => {
  const { id, generation } = request.body
  const now = new Date()
  const won = await db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('cas_sessions')
      .set((eb) => ({
        generation: eb('generation', '+', 1),
        rotated_at: now,
        successor_enc: randomBytes(64).toString('base64url'),
        last_active_at: now,
        ip: request.ip,
        user_agent: USER_AGENT,
      }))
      .where('id', '=', id)
      .where('generation', '=', generation)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst()
    if (Number(result.numUpdatedRows) !== 1) return false
    // An event of the same size as the service's `session.refreshed`.
    const event = {
      id: randomUUID(),
      version: 1,
      occurredAt: now.toISOString(),
      type: 'session.refreshed',
      userId: randomUUID(),
      sessionId: id,
      ip: request.ip,
      userAgent: USER_AGENT,
      device: { platform: 'web' },
      data: { generation: generation + 1 },
    }
    await trx
      .insertInto('cas_outbox')
      .values({ id: event.id, payload: JSON.stringify(event), created_at: now })
      .execute()
    return true
  })
  if (!won) return reply.code(409).send({ code: 'LOST' })
  return { id, generation: generation + 1 }
})

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) })
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => db.destroy())
    .then(() => process.exit(0))
})
