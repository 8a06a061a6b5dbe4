import { ConfigError } from '@africhain/config'
import { SchemaCollationError } from '@africhain/db'
import { healthPlugin, type LogLevel, loggerOptions, metricsPlugin } from '@africhain/http'
import Fastify from 'fastify'
import { sql } from 'kysely'
import { pino } from 'pino'
import { buildApp } from './app.ts'
import { type AnalyticsConfig, deadLetterStreamOf, loadAnalyticsConfig } from './config.ts'
import { openConnections } from './connections.ts'
import { registerStreamGauges } from './metrics.ts'
import { createWorker } from './worker.ts'

// Loads config, starts the roles ANALYTICS_ROLE asks for, and shuts down with grace on SIGTERM/SIGINT:
// the HTTP server stops taking requests, the worker finishes and acknowledges its in-flight batches.
let config: AnalyticsConfig
try {
  config = loadAnalyticsConfig()
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `analytics: ${(err as Error).message}`)
  process.exit(1)
}

const logger = pino(loggerOptions(config.LOG_LEVEL as LogLevel) as pino.LoggerOptions)
const connections = await openConnections(config, (err) =>
  logger.warn({ err: { message: err.message } }, 'redis unavailable'),
).catch((err: unknown) => {
  // A schema the service refuses to run on: one line for the operator, not a stack trace.
  if (!(err instanceof SchemaCollationError)) throw err
  console.error(`analytics: ${err.message}`)
  process.exit(1)
})
const role = config.ANALYTICS_ROLE
const api = role === 'worker' ? undefined : await buildApp(config, connections)

// A worker-only process can still be probed and scraped on WORKER_METRICS_PORT.
const probe = role === 'worker' && config.WORKER_METRICS_PORT > 0 ? Fastify({ logger: false }) : undefined
if (probe) {
  await probe.register(metricsPlugin, { prefix: 'analytics_worker_process' })
  await probe.register(healthPlugin, {
    checks: { redis: () => connections.redis.ping(), database: () => sql`select 1`.execute(connections.db) },
  })
  registerStreamGauges(probe.metrics, {
    redis: connections.redis,
    db: connections.db,
    stream: config.EVENTS_STREAM,
    group: config.CONSUMER_GROUP,
    deadLetterStream: deadLetterStreamOf(config),
  })
}

const worker =
  role === 'api'
    ? undefined
    : createWorker({
        config,
        redis: connections.redis,
        db: connections.db,
        logger: api?.log ?? logger,
        ...(api ? { registry: api.metrics } : probe ? { registry: probe.metrics } : {}),
      })

let closing = false
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    if (closing) return
    closing = true
    logger.info({ signal, role }, 'shutting down')
    const force = setTimeout(() => process.exit(1), 20_000)
    await Promise.all([api?.close(), probe?.close(), worker?.stop()])
    await connections.close()
    clearTimeout(force)
    process.exit(0)
  })
}

await worker?.start()
if (api) await api.listen({ host: config.HOST, port: config.ANALYTICS_PORT })
if (probe) await probe.listen({ host: config.HOST, port: config.WORKER_METRICS_PORT })
logger.info({ role }, 'analytics started')
