import { type BusLogger, createOutboxRelay, type OutboxRelay } from '@africhain/bus'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import { alertOutboxStore } from '../storage/alert-outbox.repository.ts'
import { dbLease } from '../storage/lease.repository.ts'
import type { Database } from '../storage/tables.ts'

export type AlertRelay = OutboxRelay

/**
 * Publishes the alert outbox to ALERTS_STREAM (createOutboxRelay in @africhain/bus): nudged right after a
 * batch that raised alerts, and every `intervalMs` for whatever another worker or a crashed process left.
 * One worker publishes at a time, under a database lease. At least once; the alert id is the consumers'
 * idempotency key.
 */
export function createAlertRelay(opts: {
  db: Kysely<Database>
  redis: Redis
  stream: string
  logger: BusLogger
  intervalMs?: number
  retentionMs: number
  onPublished?: (count: number) => void
  onRepublish?: (count: number) => void
}): AlertRelay {
  const log = opts.logger.child({ component: 'alert-relay' })
  const intervalMs = opts.intervalMs ?? 1000
  return createOutboxRelay(alertOutboxStore(opts.db), dbLease(opts.db, 'alert-relay', intervalMs * 5), {
    redis: opts.redis,
    stream: opts.stream,
    logger: log,
    batchSize: 100,
    pollMs: intervalMs,
    retentionMs: opts.retentionMs,
    ...(opts.onRepublish ? { onRepublish: opts.onRepublish } : {}),
    onPublished: (alerts) => {
      for (const a of alerts)
        log.info({ alertId: a.id, userId: a.userId, score: a.data.score }, 'risk alert published')
      opts.onPublished?.(alerts.length)
    },
  })
}
