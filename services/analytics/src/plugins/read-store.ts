import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import { type AnalyticsConfig, deadLetterStreamOf, riskRulesOf } from '../config.ts'
import type { ReadDeps } from '../domain/analytics.ts'
import { registerStreamGauges } from '../metrics.ts'
import { createAnalyticsStore } from '../storage/analytics-store.ts'
import type { Database } from '../storage/tables.ts'

// Only `analytics` is decorated: both services compile in one program, where `db`/`redis` augmentations
// of FastifyInstance would collide with the token service's.
declare module 'fastify' {
  interface FastifyInstance {
    /** The read side: precomputed rows, the risk rules and the clock. */
    analytics: ReadDeps
  }
}

export type ReadStoreOptions = {
  config: AnalyticsConfig
  /** Owned by the process (shared with the worker in `all` mode): the app uses them, never closes them. */
  redis: Redis
  db: Kysely<Database>
  now?: () => Date
}

/** Decorates the app with the read side and adds the stream gauges to /metrics. */
export const readStorePlugin = fp(
  async (app: FastifyInstance, opts: ReadStoreOptions) => {
    const { config, redis, db } = opts
    app.decorate('analytics', {
      store: createAnalyticsStore(db, config.EVENTS_STREAM),
      rules: riskRulesOf(config),
      now: opts.now ?? (() => new Date()),
    })
    registerStreamGauges(app.metrics, {
      redis,
      db,
      stream: config.EVENTS_STREAM,
      group: config.CONSUMER_GROUP,
      deadLetterStream: deadLetterStreamOf(config),
    })
  },
  { name: 'analytics-read-store', fastify: '5.x', dependencies: ['africhain-metrics'] },
)
