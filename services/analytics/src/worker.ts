import { type BusLogger, type Consumer, createConsumer, type StreamEntry } from '@africhain/bus'
import { createDb, isDeadlock } from '@africhain/db'
import { decodeEvent, type SessionEvent } from '@africhain/events'
import { dependencyOf } from '@africhain/http'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import { Registry } from 'prom-client'
import { type AnalyticsConfig, deadLetterStreamOf, riskRulesOf } from './config.ts'
import { type AlertRelay, createAlertRelay } from './events/alert-relay.ts'
import { createGapDetector, type GapDetector } from './events/gap-detector.ts'
import { createWorkerMetrics, type WorkerMetrics } from './metrics.ts'
import { batchStore } from './storage/batch-store.ts'

import type { Database } from './storage/tables.ts'

type Batch = StreamEntry<SessionEvent>[]

export type WorkerOptions = {
  config: AnalyticsConfig
  redis: Redis
  db: Kysely<Database>
  /**
   * A pool with `multipleStatements` for the ingest transactions (two round trips per batch). Created by
   * the worker from DATABASE_URL when not given, and closed by `stop()`; every query on it is built from
   * bound parameters.
   */
  ingestDb?: Kysely<Database>
  logger: BusLogger
  /** Where the worker's counters go (the API's registry when both roles share a process). */
  registry?: Registry
  now?: () => Date
  /**
   * Test seams at the consumer boundary, for the crash and poison tests: a batch delivered but not yet
   * stored, and one stored (every part committed) but not yet acknowledged. They change nothing else.
   */
  hooks?: { beforeStore?: (batch: Batch) => Promise<void>; afterStore?: (batch: Batch) => Promise<void> }
  /** How often the alert relay looks for alerts nobody nudged it about (another worker's, a crashed one's). */
  alertSweepMs?: number
  blockMs?: number
  retryDelayMs?: number
}

export type Worker = {
  start(): Promise<void>
  /** Stops reading, finishes the in-flight batches, publishes pending alerts. Idempotent. */
  stop(): Promise<void>
  gaps: GapDetector
  alerts: AlertRelay
  metrics: WorkerMetrics
}

/** Database outages and deadlock victims are retried in place; they say nothing about the entry. */
export function isTransient(err: unknown): boolean {
  return dependencyOf(err) !== undefined || isDeadlock(err)
}

/**
 * The stream worker: WORKER_CONCURRENCY consumers in the group, each storing its batches with
 * `ingestBatch` (one transaction, then XACK), plus the gap detector and the alert relay.
 */
export function createWorker(opts: WorkerOptions): Worker {
  const { config, redis, db } = opts
  const now = opts.now ?? (() => new Date())
  const rules = riskRulesOf(config)
  const log = opts.logger.child({ component: 'worker' })
  const metrics = createWorkerMetrics(opts.registry ?? new Registry())
  const stream = config.EVENTS_STREAM
  const group = config.CONSUMER_GROUP
  const ingestDb =
    opts.ingestDb ??
    createDb<Database>({
      url: config.DATABASE_URL,
      connectionLimit: Math.max(config.WORKER_CONCURRENCY, config.INGEST_PARTITIONS),
      multipleStatements: true,
    })

  const gaps = createGapDetector({
    redis,
    db,
    stream,
    group,
    logger: opts.logger,
    now,
    onGap: (gap) => metrics.gapsDetected.inc({ kind: gap.kind }),
  })
  const alerts = createAlertRelay({
    db,
    redis,
    stream: config.ALERTS_STREAM,
    logger: opts.logger,
    intervalMs: opts.alertSweepMs ?? 1000,
    retentionMs: config.OUTBOX_RETENTION * 1000,
    onPublished: (n) => metrics.alertsPublished.inc(n),
    onRepublish: (n) => metrics.alertsRepublished.inc(n),
  })

  // Users whose sweep state was not kept, logged once per process (domain/sweep-state.ts `encodeSweep`).
  const unkept = new Set<string>()
  const store = batchStore({ ingestDb, partitions: config.INGEST_PARTITIONS, stream, rules, now })

  function consumerFor(name: string): Consumer {
    return createConsumer<SessionEvent>({
      redis,
      stream,
      group,
      consumer: name,
      decode: decodeEvent,
      batchSize: config.BATCH_SIZE,
      lingerMs: config.BATCH_LINGER_MS,
      claimIdleMs: config.CLAIM_IDLE * 1000,
      maxDeliveries: config.MAX_DELIVERIES,
      deadLetterStream: deadLetterStreamOf(config),
      isTransient,
      logger: opts.logger,
      ...(opts.blockMs ? { blockMs: opts.blockMs } : {}),
      ...(opts.retryDelayMs ? { retryDelayMs: opts.retryDelayMs } : {}),
      hooks: {
        onBatch: (b) => {
          metrics.batches.inc({ source: b.source })
          metrics.batchSeconds.observe(b.durationMs / 1000)
        },
        onDeadLetter: () => metrics.deadLetters.inc(),
        onError: () => metrics.errors.inc(),
        onGroupCreated: () => gaps.onGroupCreated(),
      },
      handler: async (batch) => {
        await opts.hooks?.beforeStore?.(batch)
        const result = await store(batch, name)
        metrics.events.inc({ result: 'stored' }, result.stored)
        if (result.duplicates > 0) metrics.events.inc({ result: 'duplicate' }, result.duplicates)
        await opts.hooks?.afterStore?.(batch)
        if (result.alerts.length > 0) alerts.nudge()
        for (const userId of result.unkeptStates) {
          if (unkept.has(userId)) continue
          unkept.add(userId)
          log.warn(
            { userId },
            'risk row stored without its sweep state: the next batch re-scores from the event store',
          )
        }
      },
    })
  }

  const names =
    config.WORKER_CONCURRENCY === 1
      ? [config.CONSUMER_NAME]
      : Array.from({ length: config.WORKER_CONCURRENCY }, (_, i) => `${config.CONSUMER_NAME}-${i}`)
  const consumers = names.map(consumerFor)
  let gapTimer: NodeJS.Timeout | undefined
  let started: Promise<void> | undefined
  let stopped: Promise<void> | undefined

  async function checkGaps(): Promise<void> {
    try {
      await gaps.check()
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'gap check failed; will retry')
    }
  }

  return {
    gaps,
    alerts,
    metrics,
    start() {
      started ??= (async () => {
        // Before any consumer reads: a stream trimmed while every worker was away is still visible.
        await checkGaps()
        await Promise.all(consumers.map((c) => c.start()))
        alerts.start()
        gapTimer = setInterval(() => void checkGaps(), config.GAP_CHECK_INTERVAL * 1000)
        log.info({ stream, group, consumers: names }, 'analytics worker started')
      })()
      return started
    },
    stop() {
      stopped ??= (async () => {
        clearInterval(gapTimer)
        await started?.catch(() => {})
        await Promise.all(consumers.map((c) => c.stop()))
        await alerts.flush()
        await alerts.stop()
        if (!opts.ingestDb) await ingestDb.destroy()
        log.info({}, 'analytics worker stopped')
      })()
      return stopped
    },
  }
}
