import { startupFailure } from '@africhain/config'
import {
  healthPlugin,
  type LogLevel,
  listenProblem,
  loggerOptions,
  metricsPlugin,
  shutdownOnSignals,
} from '@africhain/http'
import Fastify from 'fastify'
import { sql } from 'kysely'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { buildApp } from './app.ts'
import {
  type AnalyticsConfig,
  deadLetterStreamOf,
  loadAnalyticsConfig,
  SHUTDOWN_DEADLINE_MS,
} from './config.ts'
import { openConnections } from './connections.ts'
import { registerStreamGauges } from './metrics.ts'
import { createNotifier, notifierProblem } from './notifier/notifier.ts'
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
  const problem = notifierProblem(config)
  if (problem) throw new Error(problem)
} catch (err) {
  fail(err)
}
const role = config.ANALYTICS_ROLE
/** Whether this process runs a part: its own role, or `all` (the notifier only with webhooks to call). */
const runs = (part: 'api' | 'worker' | 'notifier') =>
  role === part || (role === 'all' && (part !== 'notifier' || config!.ALERT_WEBHOOKS.length > 0))

// Before connecting anything: a port taken stops the start here, with one line.
for (const port of [runs('api') ? config.ANALYTICS_PORT : 0, runs('api') ? 0 : config.WORKER_METRICS_PORT]) {
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
const api = runs('api') ? await buildApp(config, connections) : undefined

// A worker-only or notifier-only process can still be probed and scraped on WORKER_METRICS_PORT.
const probe = !api && config.WORKER_METRICS_PORT > 0 ? Fastify({ logger: false }) : undefined
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

const registry = api ? { registry: api.metrics } : probe ? { registry: probe.metrics } : {}
const worker = !runs('worker')
  ? undefined
  : createWorker({
      config,
      redis: connections.redis,
      db: connections.db,
      logger: api?.log ?? logger,
      ...registry,
    })
const notifier = runs('notifier')
  ? createNotifier({
      config,
      redis: connections.redis,
      db: connections.db,
      logger: api?.log ?? logger,
      registry: (api ?? probe)?.metrics ?? new Registry(),
    })
  : undefined

const shutdown = shutdownOnSignals({
  log: logger,
  bindings: { role },
  deadlineMs: SHUTDOWN_DEADLINE_MS,
  close: async () => {
    await Promise.all([api?.close(), probe?.close(), worker?.stop(), notifier?.stop()])
    await connections.close()
  },
})

async function listen(server: { listen(o: { host: string; port: number }): Promise<unknown> }, port: number) {
  listening = { host: config!.HOST, port }
  try {
    await server.listen(listening)
  } catch (err) {
    // Nothing is served: stop what did start (the worker, the connections) before leaving.
    shutdown.begin()
    const force = setTimeout(() => fail(err), 5_000)
    await Promise.all([api?.close(), probe?.close(), worker?.stop(), notifier?.stop()]).catch(() => {})
    await connections.close().catch(() => {})
    clearTimeout(force)
    fail(err)
  }
}

// Ports first: a port taken stops the start before the worker joins the group.
if (api) await listen(api, config.ANALYTICS_PORT)
if (probe) await listen(probe, config.WORKER_METRICS_PORT)
await worker?.start()
await notifier?.start()
logger.info({ role }, 'analytics started')
// `pnpm start` waits for this, not for whatever answers on the port (it may be another instance).
process.send?.({ ready: 'analytics', port: config.ANALYTICS_PORT }, () => process.disconnect?.())
