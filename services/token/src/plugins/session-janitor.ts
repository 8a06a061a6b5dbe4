import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { redisLease } from '../storage/relay-lease.ts'
import { SessionJanitor } from '../storage/session-janitor.ts'
import type { BackgroundOptions } from './options.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Deletes sessions ended longer than SESSION_RETENTION ago, with their refresh tokens. */
    janitor: SessionJanitor
  }
}

/** A round a minute: cheap when there is nothing to delete (two index probes). */
const INTERVAL_MS = 60_000
/** Held before every batch; a batch takes milliseconds, so a lease far longer than one is never outlived. */
const LEASE_MS = 30_000

/** The session janitor, one per deployment (a Redis lease), running while `background`. */
export const sessionJanitorPlugin = fp(
  async (app: FastifyInstance, { config, background }: BackgroundOptions) => {
    const deleted = new Counter({
      name: 'token_janitor_deleted_total',
      help: 'Rows deleted by the session janitor, by table',
      labelNames: ['table'],
      registers: [app.metrics],
    })
    const janitor = new SessionJanitor({
      db: app.db,
      lease: redisLease(app.redis, app.redisKeys.janitorLease, LEASE_MS),
      retention: config.SESSION_RETENTION,
      accessTtl: config.ACCESS_TOKEN_TTL,
      intervalMs: INTERVAL_MS,
      log: app.log.child({ component: 'session-janitor' }),
      onBatch: (batch) => {
        deleted.inc({ table: 'sessions' }, batch.sessions)
        deleted.inc({ table: 'refresh_tokens' }, batch.refreshTokens)
      },
    })
    app.decorate('janitor', janitor)
    if (background) app.addHook('onReady', async () => janitor.start())
    app.addHook('onClose', () => janitor.stop())
  },
  { name: 'token-session-janitor', fastify: '5.x', dependencies: ['token-connections', 'africhain-metrics'] },
)
