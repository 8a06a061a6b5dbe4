import {
  ApiError,
  clientAddress,
  clientKey,
  corsPlugin,
  errorHandlerPlugin,
  healthPlugin,
  serverOptions,
  servicePlugins,
} from '@africhain/http'
import rateLimit from '@fastify/rate-limit'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify from 'fastify'
import { sql } from 'kysely'
import type { TokenConfig } from './config.ts'
import { configurePasswordHashing } from './domain/password.ts'
import { rateLimitRecorder } from './events/rate-limited.ts'
import { accessTokensPlugin } from './plugins/access-tokens.ts'
import { connectionsPlugin } from './plugins/connections.ts'
import { hotStatePlugin } from './plugins/hot-state.ts'
import { keysPlugin } from './plugins/keys.ts'
import { outboxRelayPlugin } from './plugins/outbox-relay.ts'
import { riskAlertsPlugin } from './plugins/risk-alerts.ts'
import { sessionJanitorPlugin } from './plugins/session-janitor.ts'
import { useCasesPlugin } from './plugins/use-cases.ts'
import { accountRoutes } from './routes/account.ts'
import { adminRoutes } from './routes/admin.ts'
import { authRoutes } from './routes/auth.ts'
import { requestContext } from './routes/context.ts'
import { domainToApiError } from './routes/domain-errors.ts'
import { introspectRoutes } from './routes/introspect.ts'
import { jwksRoutes } from './routes/jwks.ts'
import { sessionRoutes } from './routes/sessions.ts'

export type BuildOptions = {
  /** Where log lines go (tests capture them to prove no token is ever logged). */
  logStream?: { write(line: string): void }
  /** Start the outbox relay, key reloads, the hot-state watcher and the session janitor (default true). */
  background?: boolean
  /**
   * How often the hot-state keeper re-applies recent revocations and checks whether Redis lost the hot
   * state (default 2 s: a Redis that went back in time is corrected within seconds).
   */
  hotStateCheckMs?: number
}

/** Builds the token service from a config object. `server.ts` runs it; tests `inject` into it. */
export async function buildApp(config: TokenConfig, opts: BuildOptions = {}) {
  const app = Fastify(
    serverOptions({ logLevel: config.LOG_LEVEL, logStream: opts.logStream, trustProxy: config.TRUST_PROXY }),
  ).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(errorHandlerPlugin, { translate: domainToApiError })
  await app.register(corsPlugin, { origins: config.CORS_ORIGINS, setting: 'CORS_ORIGINS' })
  await app.register(servicePlugins, {
    metricsPrefix: 'token',
    docs: {
      title: 'AfriChain token service',
      version: '1.0.0',
      description:
        'Token pairs, refresh rotation with reuse detection, multi-device sessions, revocation, JWKS.',
    },
  })
  await app.register(connectionsPlugin, { config })
  // The per-client limits below bound each client; this bounds scrypt work for all of them together (one cap
  // per process, like the thread pool it protects: the last app built sets it).
  configurePasswordHashing({
    concurrency: config.PASSWORD_HASH_CONCURRENCY,
    queue: config.PASSWORD_HASH_QUEUE,
  })
  const recordRateLimited = rateLimitRecorder({
    db: app.db,
    redis: app.redis,
    keys: app.redisKeys,
    nudge: () => app.relay.nudge(), // decorated by the outbox relay plugin, before any request
    log: app.log.child({ component: 'rate-limit' }),
  })
  await app.register(rateLimit, {
    global: false,
    redis: app.redis,
    nameSpace: app.redisKeys.rateLimitNamespace,
    keyGenerator: (request) => clientKey(clientAddress(request), config.RATE_LIMIT_IPV6_PREFIX),
    skipOnError: false,
    // Fire and forget: the 429 goes out whatever happens to the event.
    onExceeded: (request, key) => {
      const limit = request.routeOptions.config.rateLimit
      if (!limit || typeof limit.max !== 'number' || typeof limit.timeWindow !== 'number') return
      void recordRateLimited({
        route: request.routeOptions.url ?? request.url,
        client: key,
        limit: limit.max,
        windowMs: limit.timeWindow,
        ...requestContext(request),
      })
    },
    errorResponseBuilder: (_request, context) =>
      new ApiError('RATE_LIMITED', `too many requests; retry in ${Math.ceil(context.ttl / 1000)} s`),
  })
  // One plugin per concern, each closing what it opened (in reverse order: connections last).
  const background = opts.background ?? true
  await app.register(keysPlugin, { config, background })
  await app.register(outboxRelayPlugin, { config, background })
  const checkMs = opts.hotStateCheckMs ?? 2_000
  await app.register(hotStatePlugin, { background, accessTtl: config.ACCESS_TOKEN_TTL, checkMs })
  await app.register(useCasesPlugin, { config })
  await app.register(accessTokensPlugin, { config })
  await app.register(riskAlertsPlugin, { config, background })
  await app.register(sessionJanitorPlugin, { config, background })
  await app.register(healthPlugin, {
    checks: {
      redis: () => app.redis.ping(),
      database: () => sql`select 1`.execute(app.db),
    },
  })

  await app.register(authRoutes, { config })
  await app.register(accountRoutes)
  await app.register(sessionRoutes)
  await app.register(adminRoutes)
  await app.register(introspectRoutes, { config })
  await app.register(jwksRoutes)
  return app
}
