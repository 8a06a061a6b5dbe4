import { type BusLogger, createConsumer, dedupeWindowMs } from '@africhain/bus'
import { decodeAlert, type RiskAlert } from '@africhain/events'
import { dependencyOf } from '@africhain/http'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import { Counter, Histogram, type Registry } from 'prom-client'
import type { AnalyticsConfig } from '../config.ts'
import type { Database } from '../storage/tables.ts'
import { deliver, type RetryPolicy } from './deliver.ts'
import { notifierDeliveries, pairKey } from './deliveries.ts'
import type { Webhook } from './webhooks.ts'

export type NotifierOptions = {
  config: AnalyticsConfig
  redis: Redis
  /** Where delivered (hook, alert) pairs are recorded (notifier/deliveries.ts). */
  db: Kysely<Database>
  logger: BusLogger & { child(b: object): BusLogger }
  registry: Registry
  blockMs?: number
}

export type Notifier = { start(): Promise<void>; stop(): Promise<void> }

/** How often one notifier deletes the markers past that. */
const MARKER_JANITOR_MS = 3_600_000

export function notifierDeadLetterStream(config: AnalyticsConfig): string {
  return config.NOTIFIER_DEAD_LETTER_STREAM ?? `${config.ALERTS_STREAM}:undelivered`
}

/** The start-up problem of a notifier with this config, if any (the process stops naming the variable). */
export function notifierProblem(config: AnalyticsConfig): string | undefined {
  const json = config.ALERT_WEBHOOKS.filter((h) => h.format === 'json').map((h) => h.name)
  if (json.length > 0 && !config.ALERT_WEBHOOK_SECRET)
    return `ALERT_WEBHOOK_SECRET: required to sign the json webhooks (${json.join(', ')}); at least 32 characters`
  if (config.ANALYTICS_ROLE === 'notifier' && config.ALERT_WEBHOOKS.length === 0)
    return 'ALERT_WEBHOOKS: ANALYTICS_ROLE=notifier needs at least one webhook (name=json:url or name=slack:url)'
  return undefined
}

/**
 * Delivers every risk alert to every configured webhook. A consumer group of its own on ALERTS_STREAM
 * (NOTIFIER_GROUP; every notifier process joins it, so each alert is handled by one of them); per alert and
 * hook, retries with backoff and jitter up to NOTIFIER_MAX_ATTEMPTS, then a dead-letter entry. A
 * delivered (hook, alert) pair is recorded in the database, so an alert read again (a crash before its ack,
 * a claim by another process, the relay publishing it again after Redis lost it) is not posted again to a
 * hook that already took it. The entry is acknowledged once every hook took the alert or it was
 * dead-lettered for that hook. The group starts at `$` (a notifier deployed now notifies from now on); one
 * created again because Redis lost it (or missing at start while deliveries are on record) reads back
 * OUTBOX_RETENTION, where what the relay republished is.
 */
export function createNotifier(opts: NotifierOptions): Notifier {
  const { config, redis } = opts
  const log = opts.logger.child({ component: 'notifier' })
  const registers = [opts.registry]
  const delivered = new Counter({
    name: 'analytics_notifier_deliveries_total',
    help: 'Webhook deliveries by hook and outcome: delivered, failed (one failed attempt), dead_lettered',
    labelNames: ['hook', 'outcome'],
    registers,
  })
  const latency = new Histogram({
    name: 'analytics_notifier_delivery_latency_seconds',
    help: 'From the alert being raised to its webhook delivery succeeding, retries included',
    labelNames: ['hook'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers,
  })
  const policy: RetryPolicy = {
    maxAttempts: config.NOTIFIER_MAX_ATTEMPTS,
    baseDelayMs: config.NOTIFIER_RETRY_BASE_MS,
    maxDelayMs: config.NOTIFIER_RETRY_MAX_MS,
    timeoutMs: config.NOTIFIER_TIMEOUT_MS,
  }
  const deadLetters = notifierDeadLetterStream(config)
  const deliveries = notifierDeliveries(opts.db)
  let lastJanitor = 0
  // The longest one delivery can take; a batch is claimed by another process only after that.
  const worstCaseMs =
    policy.maxAttempts * (policy.timeoutMs + policy.maxDelayMs) + (config.CLAIM_IDLE as number) * 1000

  async function deliverOnce(hook: Webhook, alert: RiskAlert, signal: AbortSignal): Promise<void> {
    const outcome = await deliver(hook, alert, {
      secret: config.ALERT_WEBHOOK_SECRET,
      policy,
      signal,
      onAttemptFailed: (reason) => {
        delivered.inc({ hook: hook.name, outcome: 'failed' })
        log.warn({ hook: hook.name, alertId: alert.id, reason }, 'webhook delivery attempt failed')
      },
    })
    if (outcome.ok) {
      await deliveries.record(hook.name, alert.id, new Date())
      delivered.inc({ hook: hook.name, outcome: 'delivered' })
      latency.observe({ hook: hook.name }, Math.max(0, Date.now() - Date.parse(alert.occurredAt)) / 1000)
      return
    }
    // Stopping: leave the entry pending, to be read again (and delivered) by the next process.
    if (signal.aborted) throw new Error('notifier stopping')
    await redis.xadd(deadLetters, 'MAXLEN', '~', '100000', '*', ...deadLetterFields(hook, alert, outcome))
    delivered.inc({ hook: hook.name, outcome: 'dead_lettered' })
    log.error(
      { hook: hook.name, alertId: alert.id, reason: outcome.reason },
      'webhook delivery dead-lettered',
    )
  }

  async function deleteOldMarkers(): Promise<void> {
    if (Date.now() - lastJanitor < MARKER_JANITOR_MS) return
    lastJanitor = Date.now()
    try {
      await deliveries.deleteBefore(new Date(Date.now() - dedupeWindowMs(config.OUTBOX_RETENTION * 1000)))
    } catch (err) {
      log.warn({ err: { message: (err as Error).message } }, 'notifier: deleting old delivery markers failed')
    }
  }

  const consumer = createConsumer<RiskAlert>({
    redis,
    stream: config.ALERTS_STREAM,
    group: config.NOTIFIER_GROUP,
    consumer: `${config.CONSUMER_NAME}-notifier`,
    decode: decodeAlert,
    batchSize: 100,
    claimIdleMs: worstCaseMs,
    maxDeliveries: config.MAX_DELIVERIES,
    deadLetterStream: deadLetters,
    // The database (delivery records) or Redis away: retried in place, never dead-lettered for it.
    isTransient: (err) => dependencyOf(err) !== undefined,
    // A notifier deployed now notifies from now on, not the stream's whole history.
    startId: '$',
    replayMs: config.OUTBOX_RETENTION * 1000,
    // Deliveries on record: a group missing at start was lost with Redis, not new.
    ranBefore: () => deliveries.any(),
    logger: opts.logger,
    ...(opts.blockMs ? { blockMs: opts.blockMs } : {}),
    handler: async (batch, { signal }) => {
      const done = await deliveries.delivered(batch.map((e) => e.event.id))
      await Promise.all(
        batch.flatMap((entry) =>
          config.ALERT_WEBHOOKS.filter((hook) => !done.has(pairKey(hook.name, entry.event.id))).map((hook) =>
            deliverOnce(hook, entry.event, signal),
          ),
        ),
      )
      await deleteOldMarkers()
    },
  })
  return {
    async start() {
      await consumer.start()
      log.info({ hooks: config.ALERT_WEBHOOKS.map((h) => h.name) }, 'notifier started')
    },
    stop: () => consumer.stop(),
  }
}

function deadLetterFields(
  hook: Webhook,
  alert: RiskAlert,
  outcome: { attempts: number; reason: string },
): string[] {
  return [
    'hook',
    hook.name,
    'alertId',
    alert.id,
    'reason',
    outcome.reason,
    'attempts',
    String(outcome.attempts),
    'data',
    JSON.stringify(alert),
  ]
}
