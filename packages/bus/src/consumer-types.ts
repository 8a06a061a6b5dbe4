import type { Decoded } from '@africhain/events'
import type { Redis } from 'ioredis'
import type { BusLogger } from './logger.ts'

/** One decoded stream entry handed to the handler. `deliveries` counts this delivery (1 on first read). */
export type StreamEntry<T> = { id: string; event: T; deliveries: number }

export type BatchSource = 'new' | 'pending' | 'claimed'

export type ConsumerHooks = {
  /** After a batch was handled and acknowledged. */
  onBatch?: (info: { size: number; durationMs: number; source: BatchSource }) => void
  /** After an entry was written to the dead-letter stream and acknowledged. */
  onDeadLetter?: (info: { id: string; reason: string; deliveries: number }) => void
  /**
   * After this consumer created the group (at start, or because it vanished with its stream). Awaited
   * before anything is read, so the owner can record that entries it never saw may be gone.
   */
  onGroupCreated?: (info: { reason: 'start' | 'missing' }) => Promise<void> | void
  /** A read, ack or handler error (also logged). */
  onError?: (err: unknown) => void
}

export type ConsumerOptions<T> = {
  /** Commands go through this client; the blocking read gets its own connection (`redis.duplicate()`). */
  redis: Redis
  stream: string
  group: string
  /** Unique per process (e.g. hostname-pid): pending entries belong to a consumer name. */
  consumer: string
  /**
   * Handles a batch; resolving means its effects are committed. Entries are acknowledged only after that.
   * Must be idempotent per entry: an entry may be delivered again after a crash or a claim.
   */
  handler: (batch: StreamEntry<T>[], ctx: { signal: AbortSignal }) => Promise<void>
  /** Validates an entry's fields; an entry that does not decode is dead-lettered at once. */
  decode: (fields: readonly string[]) => Decoded<T>
  batchSize?: number
  /**
   * After a read of fewer than `batchSize` new entries, wait this long (then read once more, without
   * blocking) so the handler gets one fuller batch instead of several short ones: under load its per-batch
   * cost (a transaction, an XACK) is shared by more entries. Default 0 (handle at once). `stop()` cuts the
   * wait short; what was read is then handled and acknowledged as usual.
   */
  lingerMs?: number
  /** How long one blocking read waits for new entries. */
  blockMs?: number
  /** Pending entries idle longer than this belong to a dead (or stuck) consumer and are claimed. Keep it above the slowest batch. */
  claimIdleMs?: number
  /** How often to look for such entries. */
  claimIntervalMs?: number
  /** An entry that failed this many deliveries goes to the dead-letter stream. */
  maxDeliveries?: number
  deadLetterStream?: string
  deadLetterMaxLen?: number
  /**
   * Errors for which the batch is retried in place (with backoff, without re-reading, so the delivery
   * count does not grow): a database outage must not dead-letter healthy entries.
   */
  isTransient?: (err: unknown) => boolean
  /**
   * Where the group's first creation starts reading: `0` consumes the stream's whole retained history, `$`
   * only what comes after. Never used for a group created again because it went missing (see `replayMs`).
   */
  startId?: string
  /**
   * A group created again because it went missing reads the entries of the last `replayMs` (the handler
   * dedupes them by event id); without it, from `0`. Keep it at least the outbox retention.
   */
  replayMs?: number
  /**
   * Asked when the group is created at start: true when durable records show this consumer ran before, so
   * a missing group was lost rather than new and is created like one that went missing (read back). Without
   * it a process that starts after Redis lost the group begins at `startId`.
   */
  ranBefore?: () => Promise<boolean>
  retryDelayMs?: number
  maxRetryDelayMs?: number
  logger?: BusLogger
  /** Aborting it stops the consumer like `stop()`. */
  signal?: AbortSignal
  hooks?: ConsumerHooks
}

export type Consumer = {
  /** Creates the group when missing, then consumes in the background. Calling it again is a no-op. */
  start(): Promise<void>
  /** Stops reading, lets the in-flight batch finish (and be acknowledged), closes the blocking connection. */
  stop(): Promise<void>
  readonly running: boolean
}
