import type { RiskAlert, SessionEvent } from '@africhain/events'
import { type Backoff, backoffDelay, sleep } from './backoff.ts'
import type { BusLogger } from './logger.ts'
import { outboxRetention, type RetainedOutbox } from './outbox-retention.ts'
import { publishIfIntact } from './publish-if-intact.ts'
import type { RedisClient } from './redis-client.ts'

export type OutboxKey = string | number
export type OutboxEntry<T> = { key: OutboxKey; event: T }

/**
 * Where committed events wait for the relay (a table written in the same transaction as the change), and
 * where published ones stay for the retention with the stream id their XADD returned.
 */
export type OutboxStore<T> = RetainedOutbox & {
  /** Up to `limit` unpublished events, oldest first. */
  read(limit: number): Promise<OutboxEntry<T>[]>
  /** Called only after their XADD succeeded, with the ids it returned: not read again until unpublished. */
  markPublished(published: { key: OutboxKey; streamId: string }[]): Promise<void>
  /** How many wait; asked after a full batch, for a backlog gauge. */
  backlog?(): Promise<number>
}

/** One relay per deployment at a time: where the lease lives (Redis, the database) is the caller's choice. */
export type RelayLease = {
  /** Takes the lease or extends it when this relay holds it; true while it does. Only the holder publishes. */
  hold(): Promise<boolean>
  /** Gives it up when the relay stops, so another instance takes over without waiting for it to expire. */
  release?(): Promise<void>
}

export type OutboxRelayOptions<T> = {
  redis: RedisClient
  stream: string
  /** `MAXLEN ~` on every XADD; none when absent. */
  maxLen?: number
  logger: BusLogger
  batchSize?: number
  /** How often to look for events nobody nudged about (another instance's, a crashed process's). */
  pollMs?: number
  /** After a nudge, wait this long for more commits before reading the outbox (one round for many). */
  lingerMs?: number
  /** Pauses after failed rounds. */
  retry?: Backoff
  /** After the batch is in the stream, before it is marked published: a crash in between republishes it. */
  afterPublish?: (events: T[]) => Promise<void>
  onPublished?: (events: T[]) => void
  onBacklog?: (count: number) => void
  /** How long published rows are kept to be published again if Redis loses them (default 2 h). */
  retentionMs?: number
  /** How often the janitor deletes rows past the retention (default 1 min). */
  janitorMs?: number
  /**
   * Rows per statement (default 1000) when the janitor deletes and when rows are made unpublished again; the
   * lease is checked again between two statements.
   */
  retentionBatch?: number
  /** Rows made unpublished again because the stream lost them (they are published by the next rounds). */
  onRepublish?: (count: number) => void
}

export type OutboxRelay = {
  /** Called after a commit that wrote events: publish now instead of at the next poll. */
  nudge(): void
  /** Publishes one batch if this relay holds the lease; resolves with how many. Rounds never overlap. */
  runOnce(): Promise<number>
  /** Publishes everything waiting now; a failure is logged (the next round retries it). */
  flush(): Promise<void>
  /** Publishes in the background until `stop()`. Calling it again is a no-op. */
  start(): void
  /** Stops after the round in flight and releases the lease; what is left waits for the next holder. */
  stop(): Promise<void>
}

/**
 * Moves committed events from an outbox to a Redis stream, at least once: XADD first, mark published after.
 * A crash in between publishes the batch again with the same event ids, and consumers deduplicate on them.
 * While Redis is down the events wait in the outbox. Published rows are kept for the retention: every
 * publish (or, with nothing to publish, a check alone) first compares the stream with the outbox's highest
 * recorded id in the same Lua script (publish-if-intact.ts); when the stream lost entries, the rows above
 * what it holds are made unpublished and published again (outbox-retention.ts). A janitor deletes older rows.
 */
export function createOutboxRelay<T extends SessionEvent | RiskAlert>(
  store: OutboxStore<T>,
  lease: RelayLease,
  opts: OutboxRelayOptions<T>,
): OutboxRelay {
  const batchSize = opts.batchSize ?? 500
  const pollMs = opts.pollMs ?? 250
  const lingerMs = opts.lingerMs ?? 20
  const retry = opts.retry ?? { baseMs: 100, maxMs: 2_000 }
  const log = opts.logger.child({ stream: opts.stream })
  let round: Promise<unknown> = Promise.resolve()
  let abort: AbortController | undefined
  let wake: AbortController | undefined
  let nudged = false
  let loop: Promise<void> | undefined
  const retention = outboxRetention(store, {
    logger: log,
    retentionMs: opts.retentionMs ?? 2 * 3_600_000,
    janitorMs: opts.janitorMs ?? 60_000,
    batch: opts.retentionBatch ?? 1_000,
    ...(opts.onRepublish ? { onRepublish: opts.onRepublish } : {}),
  })

  /** Reads a batch and publishes it if the stream lost nothing; when it did, republishes and reads again. */
  async function publishIntact(): Promise<{ entries: OutboxEntry<T>[]; ids: string[] } | undefined> {
    for (;;) {
      const entries = await store.read(batchSize)
      // Read every round, not kept: another holder may have published since this relay last did.
      const recorded = await store.highestPublished()
      if (entries.length === 0 && recorded === null) return { entries, ids: [] }
      const events = entries.map((e) => e.event)
      const result = await publishIfIntact(opts.redis, opts.stream, recorded, events, opts.maxLen)
      if ('published' in result) return { entries, ids: result.published }
      if (!(await retention.republish(lease, recorded!, result.holds))) return undefined
    }
  }

  async function publishBatch(): Promise<number> {
    if (!(await lease.hold())) return 0
    if (!(await retention.janitor(lease))) return 0
    const batch = await publishIntact()
    if (!batch || batch.entries.length === 0) return 0
    const { entries, ids } = batch
    const events = entries.map((e) => e.event)
    await opts.afterPublish?.(events)
    await store.markPublished(entries.map((e, i) => ({ key: e.key, streamId: ids[i]! })))
    opts.onPublished?.(events)
    if (opts.onBacklog)
      opts.onBacklog(entries.length === batchSize && store.backlog ? await store.backlog() : 0)
    return entries.length
  }

  function runOnce(): Promise<number> {
    const next = round.then(publishBatch)
    round = next.catch(() => {})
    return next
  }

  async function flush(): Promise<void> {
    try {
      while ((await runOnce()) === batchSize);
    } catch (err) {
      log.warn({ err: { message: (err as Error).message } }, 'outbox relay: publish failed, will retry')
    }
  }

  /** A pause that a nudge or `stop()` cuts short. */
  function pause(ms: number, stopped: AbortSignal): Promise<void> {
    const w = new AbortController()
    wake = w
    const onStop = () => w.abort()
    stopped.addEventListener('abort', onStop, { once: true })
    return sleep(ms, w.signal).finally(() => {
      stopped.removeEventListener('abort', onStop)
      if (wake === w) wake = undefined
    })
  }

  async function run(signal: AbortSignal): Promise<void> {
    let failures = 0
    while (!signal.aborted) {
      nudged = false
      try {
        const n = await runOnce()
        failures = 0
        if (n === batchSize) continue
      } catch (err) {
        failures++
        log.warn({ err: { message: (err as Error).message } }, 'outbox relay: publish failed, will retry')
      }
      if (failures > 0) await pause(backoffDelay(failures - 1, retry), signal)
      else if (!nudged) await pause(pollMs, signal)
      // Woken by a commit: linger a moment so one round carries the events of many requests (under load,
      // one read + XADD pipeline + mark per batch instead of per request).
      if (nudged && !signal.aborted) await sleep(lingerMs, signal)
    }
  }

  return {
    nudge() {
      nudged = true
      wake?.abort()
    },
    runOnce,
    flush,
    start() {
      if (loop) return
      abort = new AbortController()
      loop = run(abort.signal)
    },
    async stop() {
      abort?.abort()
      await loop
      loop = undefined
      await round
      await lease.release?.().catch(() => {})
    },
  }
}
