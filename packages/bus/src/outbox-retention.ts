import type { BusLogger } from './logger.ts'
import type { RedisClient } from './redis-client.ts'
import { compareStreamIds, idOfSortableStreamId, sortableStreamId } from './stream-id.ts'
import { readStreamInfo } from './stream-info.ts'

/**
 * How long a consumer remembers the ids of the events it acted on, to act on each once: longer than the
 * relay can publish a row again (twice the outbox retention) and than a stopped consumer's pending entries
 * usually wait to be read again (a week).
 */
export function dedupeWindowMs(retentionMs: number): number {
  return Math.max(7 * 86_400_000, 2 * retentionMs)
}

/** What a relay needs from its outbox to keep published rows and publish them again after Redis lost them. */
export type RetainedOutbox = {
  /** The highest stream id recorded for a published row, or null when none is retained. */
  highestPublished(): Promise<string | null>
  /**
   * Makes rows published with a stream id above `after` (every published row when null) unpublished again,
   * so the relay's next reads publish them anew in outbox order; resolves with how many.
   */
  unpublishAfter(after: string | null): Promise<number>
  /** Deletes up to `limit` rows published before `cutoff`; resolves with how many. */
  deletePublishedBefore(cutoff: Date, limit: number): Promise<number>
}

export type RetentionOptions = {
  redis: RedisClient
  stream: string
  logger: BusLogger
  /** How long a published row is kept: longer than Redis can go back in time (its snapshot interval). */
  retentionMs: number
  /** How often the janitor deletes rows past the retention, in batches of `janitorBatch`. */
  janitorMs: number
  janitorBatch: number
  onRepublish?: (count: number) => void
}

/**
 * The lease holder's checks, once per round: one `XINFO STREAM`, compared with the highest id this
 * deployment recorded (kept in memory; read again from the outbox when the relay takes the lease). A stream
 * that is gone or whose last generated id is below it lost entries (a restart without persistence, a
 * restore of an older snapshot): the rows above what the stream holds are published again.
 */
export function outboxRetention(store: RetainedOutbox, opts: RetentionOptions) {
  let highest: string | null | undefined
  let lastJanitor = 0

  async function checkStream(): Promise<void> {
    if (highest === undefined) highest = await store.highestPublished()
    if (highest === null) return
    const info = await readStreamInfo(opts.redis, opts.stream)
    const holds = info?.lastGeneratedId ?? null
    if (holds !== null && compareStreamIds(holds, highest) >= 0) return
    const count = await store.unpublishAfter(holds)
    opts.logger.warn(
      { count, streamLastId: holds, recordedLastId: highest },
      holds === null
        ? 'outbox relay: the stream is gone; publishing the retained events again'
        : 'outbox relay: the stream went back in time; publishing the lost events again',
    )
    opts.onRepublish?.(count)
    highest = undefined
  }

  async function janitor(): Promise<void> {
    if (Date.now() - lastJanitor < opts.janitorMs) return
    lastJanitor = Date.now()
    const cutoff = new Date(Date.now() - opts.retentionMs)
    while ((await store.deletePublishedBefore(cutoff, opts.janitorBatch)) === opts.janitorBatch);
  }

  return {
    checkStream,
    janitor,
    /** Called with the ids a batch got: the highest is the last (one pipeline, in order). */
    published(ids: readonly string[]): void {
      const last = ids.at(-1)
      if (
        last !== undefined &&
        highest !== undefined &&
        (highest === null || compareStreamIds(last, highest) > 0)
      )
        highest = last
    },
    /** The lease was lost: whoever holds it next may have published since. */
    forget(): void {
      highest = undefined
    },
  }
}

/** The key-level operations an SQL outbox offers (`publishedOutboxRows` in @africhain/db). */
type PublishedRows = {
  mark(pairs: readonly (readonly [string | number, string])[], at: Date): Promise<void>
  highestKey(): Promise<string | null>
  unpublishAbove(key: string): Promise<number>
  deleteBefore(cutoff: Date, limit: number): Promise<number>
}

/** A store's retention and `markPublished` over rows that keep their stream id as `sortableStreamId` text. */
export function retainedOutbox(rows: PublishedRows) {
  return {
    markPublished: (published: { key: string | number; streamId: string }[]) =>
      rows.mark(
        published.map((p) => [p.key, sortableStreamId(p.streamId)] as const),
        new Date(),
      ),
    highestPublished: async () => {
      const key = await rows.highestKey()
      return key === null ? null : idOfSortableStreamId(key)
    },
    unpublishAfter: (after: string | null) =>
      rows.unpublishAbove(after === null ? '' : sortableStreamId(after)),
    deletePublishedBefore: (cutoff: Date, limit: number) => rows.deleteBefore(cutoff, limit),
  } satisfies RetainedOutbox & { markPublished: unknown }
}
