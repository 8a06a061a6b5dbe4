import { errorHandlerPlugin, healthPlugin, serverOptions, servicePlugins } from '@africhain/http'
import type { KeySource } from '@africhain/verifier'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify from 'fastify'
import type { Redis } from 'ioredis'
import { type Kysely, sql } from 'kysely'
import type { AnalyticsConfig } from './config.ts'
import { authPlugin } from './plugins/auth.ts'
import { consolePlugin } from './plugins/console.ts'
import { readStorePlugin } from './plugins/read-store.ts'
import { clientRoutes } from './routes/clients.ts'
import { eventRoutes } from './routes/events.ts'
import { liveRoutes } from './routes/live.ts'
import { overviewRoutes } from './routes/overview.ts'
import { reportRoutes } from './routes/report.ts'
import { securityRoutes } from './routes/security.ts'
import type { Database } from './storage/tables.ts'

export type AppDeps = {
  /** The process's connections (the app never closes them: server.ts or the test does). */
  redis: Redis
  db: Kysely<Database>
  /** Public keys for access tokens; default the JWKS at TOKEN_SERVICE_URL. */
  keys?: KeySource
  now?: () => Date
  /** Where log lines go (tests capture them). */
  logStream?: { write(line: string): void }
}

/** Builds the analytics API from a config object and its connections. `server.ts` runs it; tests `inject`. */
export async function buildApp(config: AnalyticsConfig, deps: AppDeps) {
  const app = Fastify(
    serverOptions({
      logLevel: config.LOG_LEVEL,
      logStream: deps.logStream,
      trustProxy: config.TRUST_PROXY,
      // Numbers in the query string (limit, …) are coerced; unknown query fields still fail with 400.
      coerceTypes: true,
    }),
  ).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(errorHandlerPlugin)
  await app.register(servicePlugins, {
    metricsPrefix: 'analytics',
    docs: {
      title: 'AfriChain session analytics',
      version: '1.0.0',
      description:
        'Session analytics, risk assessments and daily reports, computed from the token service’s session events.',
    },
  })
  await app.register(readStorePlugin, {
    config,
    redis: deps.redis,
    db: deps.db,
    ...(deps.now ? { now: deps.now } : {}),
  })
  await app.register(authPlugin, { config, redis: deps.redis, ...(deps.keys ? { keys: deps.keys } : {}) })
  await app.register(healthPlugin, {
    checks: {
      redis: () => deps.redis.ping(),
      database: () => sql`select 1`.execute(deps.db),
    },
  })

  await app.register(overviewRoutes)
  await app.register(eventRoutes)
  await app.register(securityRoutes)
  await app.register(reportRoutes)
  await app.register(clientRoutes)
  await app.register(liveRoutes, { config, redis: deps.redis })
  await app.register(consolePlugin, {
    dir: config.CONSOLE_DIR,
    tokenUrl: config.CONSOLE_TOKEN_URL ?? config.TOKEN_SERVICE_URL,
  })
  return app
}
