import { startupFailure } from '@africhain/config'
import { healthPlugin, type LogLevel, listenProblem, loggerOptions, metricsPlugin } from '@africhain/http'
import Fastify from 'fastify'
import { sql } from 'kysely'
import { pino } from 'pino'
import { buildApp } from './app.ts'
import {
  type AnalyticsConfig,
  deadLetterStreamOf,
  loadAnalyticsConfig,
  SHUTDOWN_DEADLINE_MS,
} from './config.ts'
import { openConnections } from './connections.ts'
import { registerStreamGauges } from './metrics.ts'
import { createWorker } from './worker.ts'

// Loads config, starts the roles ANALYTICS_ROLE asks for, and shuts down with grace on SIGTERM/SIGINT:
// the HTTP server stops taking requests, the worker finishes and acknowledges its in-flight batches.
// A start that cannot go on (bad config, database unreachable, port taken, a schema it refuses) prints one
// line naming the cause and exits 1: no stack trace for the operator to read through.
let config: AnalyticsConfig | undefined
let listening: { host: string; port: number } | undefined
function fail(err: unknown): never {
  console.error(
    startupFailure('analytics', err, {
      ...(config ? { databaseUrl: config.DATABASE_URL, host: config.HOST } : {}),
      ...listening,
    }),
  )
  process.exit(1)
}
try {
  config = loadAnalyticsConfig()
} catch (err) {
  fail(err)
}

// Before connecting anything: a port taken stops the start here, with one line.
for (const port of [
  config.ANALYTICS_ROLE === 'worker' ? 0 : config.ANALYTICS_PORT,
  config.ANALYTICS_ROLE === 'worker' ? config.WORKER_METRICS_PORT : 0,
]) {
  const taken = await listenProblem(config.HOST, port)
  if (taken) {
    listening = { host: config.HOST, port }
    fail(taken)
  }
}

const logger = pino(loggerOptions(config.LOG_LEVEL as LogLevel) as pino.LoggerOptions)
// Redis down at start does not stop it: readiness answers 503 and the worker retries until it is back.
const connections = await openConnections(config, (err) =>
  logger.warn({ err: { message: err.message } }, 'redis unavailable'),
).catch(fail)
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
    const force = setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS)
    await Promise.all([api?.close(), probe?.close(), worker?.stop()])
    await connections.close()
    clearTimeout(force)
    process.exit(0)
  })
}

async function listen(server: { listen(o: { host: string; port: number }): Promise<unknown> }, port: number) {
  listening = { host: config!.HOST, port }
  try {
    await server.listen(listening)
  } catch (err) {
    // Nothing is served: stop what did start (the worker, the connections) before leaving.
    closing = true
    const force = setTimeout(() => fail(err), 5_000)
    await Promise.all([api?.close(), probe?.close(), worker?.stop()]).catch(() => {})
    await connections.close().catch(() => {})
    clearTimeout(force)
    fail(err)
  }
}

// Ports first: a port taken stops the start before the worker joins the group.
if (api) await listen(api, config.ANALYTICS_PORT)
if (probe) await listen(probe, config.WORKER_METRICS_PORT)
await worker?.start()
logger.info({ role }, 'analytics started')
// `pnpm start` waits for this, not for whatever answers on the port (it may be another instance).
process.send?.({ ready: 'analytics', port: config.ANALYTICS_PORT }, () => process.disconnect?.())
