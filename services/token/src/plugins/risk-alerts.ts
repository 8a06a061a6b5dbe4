import { backoff } from '@africhain/bus'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Cluster, type Redis } from 'ioredis'
import { Counter } from 'prom-client'
import { riskAlertConsumer } from '../events/risk-alerts.ts'
import { riskAlertRecords } from '../storage/risk-alert-records.ts'
import type { BackgroundOptions } from './options.ts'

/**
 * The risk loop's token side: `risk.alert` events from analytics, consumed off the request path on a
 * connection of its own (it may queue while Redis reconnects), started while `background`.
 */
export const riskAlertsPlugin = fp(
  async (app: FastifyInstance, { config, background }: BackgroundOptions) => {
    const outcomes = new Counter({
      name: 'token_risk_alerts_total',
      help: 'risk.alert events consumed, by outcome',
      labelNames: ['outcome'],
      registers: [app.metrics],
    })
    const { redis } = app
    const alertsRedis = (
      redis instanceof Cluster
        ? redis.duplicate([], { lazyConnect: false, enableOfflineQueue: true })
        : redis.duplicate({ lazyConnect: false, enableOfflineQueue: true })
    ) as Redis
    alertsRedis.on('error', () => {}) // reported by the main client and the consumer
    const alerts = riskAlertConsumer({
      redis: alertsRedis,
      stream: config.ALERTS_STREAM,
      threshold: config.RISK_AUTO_REVOKE_SCORE,
      sessions: app.sessions,
      records: riskAlertRecords(app.db),
      retentionMs: config.OUTBOX_RETENTION * 1000,
      log: app.log,
      onOutcome: (outcome) => outcomes.inc({ outcome }),
    })

    const closing = new AbortController()
    // Redis may be down at start: keep trying to create the group until it answers (or we close).
    const start = async () => {
      for (let attempt = 0; !closing.signal.aborted; attempt++) {
        try {
          return await alerts.start()
        } catch (err) {
          app.log.warn({ err: { message: (err as Error).message } }, 'risk alert consumer not started yet')
          await backoff(attempt, { baseMs: 250, maxMs: 5_000 }, closing.signal)
        }
      }
    }
    if (background) app.addHook('onReady', async () => void start())
    app.addHook('onClose', async () => {
      closing.abort()
      await alerts.stop()
      alertsRedis.disconnect()
    })
  },
  {
    name: 'token-risk-alerts',
    fastify: '5.x',
    dependencies: ['token-connections', 'africhain-metrics', 'token-use-cases'],
  },
)
