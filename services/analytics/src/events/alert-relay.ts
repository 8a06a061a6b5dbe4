import { type BusLogger, publish } from '@africhain/bus'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import { claimUnpublished, markPublished } from '../storage/alert-outbox.repository.ts'
import type { Database } from '../storage/tables.ts'

export type AlertRelay = {
  /** Publish what is waiting now (single flight: a call during a run schedules one more run). */
  kick(): Promise<void>
  start(): void
  stop(): Promise<void>
}

const LEASE_MS = 30_000

/**
 * Publishes the alert outbox to ALERTS_STREAM after the worker's commits: right after a batch that raised
 * alerts, and every `intervalMs` for whatever a crashed process left unpublished. At least once; the
 * alert id is the consumers' idempotency key.
 */
export function createAlertRelay(opts: {
  db: Kysely<Database>
  redis: Redis
  stream: string
  logger: BusLogger
  intervalMs?: number
  onPublished?: (count: number) => void
}): AlertRelay {
  const log = opts.logger.child({ component: 'alert-relay', stream: opts.stream })
  let running: Promise<void> | undefined
  let again = false
  let timer: NodeJS.Timeout | undefined

  async function drain(): Promise<void> {
    for (;;) {
      const alerts = await claimUnpublished(opts.db, 100, LEASE_MS)
      if (alerts.length === 0) return
      await publish(opts.redis, opts.stream, alerts)
      await markPublished(
        opts.db,
        alerts.map((a) => a.id),
        new Date(),
      )
      for (const a of alerts)
        log.info({ alertId: a.id, userId: a.userId, score: a.data.score }, 'risk alert published')
      opts.onPublished?.(alerts.length)
    }
  }

  function kick(): Promise<void> {
    if (running) {
      again = true
      return running
    }
    running = (async () => {
      do {
        again = false
        try {
          await drain()
        } catch (err) {
          log.error({ err: (err as Error).message }, 'alert relay failed; retrying later')
        }
      } while (again)
    })().finally(() => {
      running = undefined
    })
    return running
  }

  return {
    kick,
    start() {
      if (timer) return
      timer = setInterval(() => void kick(), opts.intervalMs ?? 5000)
      void kick()
    },
    async stop() {
      clearInterval(timer)
      timer = undefined
      await running
    },
  }
}
