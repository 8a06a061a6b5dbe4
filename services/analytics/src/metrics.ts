import { parseStreamId, readGroupInfo, readStreamInfo } from '@africhain/bus'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { unpublishedCount } from './storage/alert-outbox.repository.ts'
import { gapSummary } from './storage/stream-position.repository.ts'
import type { Database } from './storage/tables.ts'

/** What one worker process did (per process; sum over processes in Prometheus). */
export type WorkerMetrics = {
  events: Counter<'result'>
  batches: Counter<'source'>
  batchSeconds: Histogram
  deadLetters: Counter
  errors: Counter
  alertsPublished: Counter
  alertsRepublished: Counter
  gapsDetected: Counter<'kind'>
}

export function createWorkerMetrics(registry: Registry): WorkerMetrics {
  const registers = [registry]
  return {
    events: new Counter({
      name: 'analytics_worker_events_total',
      help: 'Events handled by this process: stored (new) or duplicate (already stored)',
      labelNames: ['result'],
      registers,
    }),
    batches: new Counter({
      name: 'analytics_worker_batches_total',
      help: 'Batches committed and acknowledged, by where they came from (new, pending, claimed)',
      labelNames: ['source'],
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'analytics_worker_batch_duration_seconds',
      help: 'Time to store and acknowledge one batch',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    deadLetters: new Counter({
      name: 'analytics_worker_dead_letters_total',
      help: 'Entries this process moved to the dead-letter stream',
      registers,
    }),
    errors: new Counter({
      name: 'analytics_worker_errors_total',
      help: 'Read, ack or batch errors',
      registers,
    }),
    alertsPublished: new Counter({
      name: 'analytics_alerts_published_total',
      help: 'risk.alert events published to ALERTS_STREAM',
      registers,
    }),
    alertsRepublished: new Counter({
      name: 'analytics_alerts_republished_total',
      help: 'Published risk.alert events relayed again because Redis lost them',
      registers,
    }),
    gapsDetected: new Counter({
      name: 'analytics_stream_gaps_detected_total',
      help: 'Gap findings recorded by this process',
      labelNames: ['kind'],
      registers,
    }),
  }
}

/**
 * Gauges read at scrape time from Redis and MySQL, the same whichever process answers: consumer lag
 * (pending, undelivered entries, and the time between the last delivered and the newest entry), the group's
 * entries-read counter (its rate is the cluster's processing rate), dead letters, gaps, unpublished alerts.
 * A dependency that does not answer leaves its gauges out of that scrape.
 */
export function registerStreamGauges(
  registry: Registry,
  opts: { redis: Redis; db: Kysely<Database>; stream: string; group: string; deadLetterStream: string },
): void {
  const registers = [registry]
  // prom-client collects every metric of a scrape concurrently: all gauges await one shared read.
  let reading: Promise<void> | undefined
  const refresh = (): Promise<void> => {
    reading ??= Promise.all([settle('redis', readRedis), settle('database', readDb)]).then(() => {
      setTimeout(() => {
        reading = undefined
      }, 250).unref()
    })
    return reading
  }
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers, collect: refresh })
  const up = new Gauge({
    name: 'analytics_scrape_dependency_up',
    help: 'Whether the stream (redis) and database figures of this scrape could be read',
    labelNames: ['dependency'],
    registers,
    collect: refresh,
  })
  async function settle(dependency: 'redis' | 'database', read: () => Promise<void>): Promise<void> {
    up.set(
      { dependency },
      await read().then(
        () => 1,
        () => 0,
      ),
    )
  }
  const pending = gauge(
    'analytics_consumer_pending',
    'Entries delivered to a worker and not yet acknowledged',
  )
  const lag = gauge('analytics_consumer_lag', 'Entries in the stream not yet delivered to the group')
  const lagSeconds = gauge(
    'analytics_consumer_lag_seconds',
    'Age gap between the newest stream entry and the last one delivered to the group (0 when caught up)',
  )
  const entriesRead = gauge(
    'analytics_consumer_entries_read',
    "The group's entries-read counter: rate() of it is the processing rate of all workers",
  )
  const consumers = gauge('analytics_consumers', 'Consumers registered in the group')
  const length = gauge('analytics_stream_length', 'Entries in the events stream')
  const added = gauge('analytics_stream_entries_added', 'Entries ever added to the events stream')
  const dead = gauge('analytics_dead_letters', 'Entries in the dead-letter stream')
  const gaps = gauge(
    'analytics_stream_gaps',
    'Recorded gaps: stretches of the stream lost before any worker read them',
  )
  const missing = gauge('analytics_stream_missing_events', 'Entries known to be lost in recorded gaps')
  const unpublished = gauge('analytics_alerts_unpublished', 'risk.alert events decided but not yet published')

  async function readRedis(): Promise<void> {
    const [info, group, deadLength] = await Promise.all([
      readStreamInfo(opts.redis, opts.stream),
      readGroupInfo(opts.redis, opts.stream, opts.group),
      opts.redis.xlen(opts.deadLetterStream),
    ])
    dead.set(deadLength)
    length.set(info?.length ?? 0)
    if (info?.entriesAdded !== undefined) added.set(info.entriesAdded)
    if (!group) return
    pending.set(group.pending)
    consumers.set(group.consumers)
    if (group.lag !== null) lag.set(group.lag)
    if (group.entriesRead !== null) entriesRead.set(group.entriesRead)
    const newest = info?.lastEntryId ? parseStreamId(info.lastEntryId).ms : 0
    const delivered = parseStreamId(group.lastDeliveredId).ms
    lagSeconds.set(group.lag === 0 ? 0 : Math.max(newest - delivered, 0) / 1000)
  }

  async function readDb(): Promise<void> {
    const [summary, waiting] = await Promise.all([
      gapSummary(opts.db, opts.stream),
      unpublishedCount(opts.db),
    ])
    gaps.set(summary.gaps)
    missing.set(summary.missingEvents)
    unpublished.set(waiting)
  }
}
