import type { BusLogger } from './logger.ts'
import { idOfSortableStreamId, sortableStreamId } from './stream-id.ts'

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
   * Makes up to `limit` rows published with a stream id above `after` (any published row when null)
   * unpublished again, so the relay's next reads publish them anew in outbox order; resolves with how many.
   */
  unpublishAfter(after: string | null, limit: number): Promise<number>
  /** Deletes up to `limit` rows published before `cutoff`; resolves with how many. */
  deletePublishedBefore(cutoff: Date, limit: number): Promise<number>
}

export type RetentionOptions = {
  logger: BusLogger
  /** How long a published row is kept: longer than Redis can go back in time (its snapshot interval). */
  retentionMs: number
  /** How often the janitor deletes rows past the retention. */
  janitorMs: number
  /** Rows per statement, for the janitor and for making rows unpublished again. */
  batch: number
  onRepublish?: (count: number) => void
}

/** Only the lease holder changes retained rows: asked again between two statements. */
type Lease = { hold(): Promise<boolean> }

/**
 * The lease holder's work on retained rows, in statements of `batch` rows with the lease checked between
 * them (a relay that lost it stops; the next holder goes on from what is left). Whether the stream lost
 * entries is checked by the publish itself (publish-if-intact.ts), against the outbox's highest recorded id.
 */
export function outboxRetention(store: RetainedOutbox, opts: RetentionOptions) {
  let lastJanitor = 0

  /** Runs `step` until it returns fewer than `batch` rows or the lease is gone; true when it ran out. */
  async function batched(
    lease: Lease,
    step: () => Promise<number>,
  ): Promise<{ count: number; done: boolean }> {
    let count = 0
    for (;;) {
      const n = await step()
      count += n
      if (n < opts.batch) return { count, done: true }
      if (!(await lease.hold())) return { count, done: false }
    }
  }

  return {
    /**
     * The stream lost what is above `holds` (null: the stream is gone): those rows are made unpublished
     * again. Resolves true once every one is, false when the lease went first.
     */
    async republish(lease: Lease, recorded: string, holds: string | null): Promise<boolean> {
      const { count, done } = await batched(lease, () => store.unpublishAfter(holds, opts.batch))
      opts.logger.warn(
        { count, streamLastId: holds, recordedLastId: recorded },
        holds === null
          ? 'outbox relay: the stream is gone; publishing the retained events again'
          : 'outbox relay: the stream went back in time; publishing the lost events again',
      )
      opts.onRepublish?.(count)
      return done
    },

    /** At most once per `janitorMs`: deletes rows past the retention. False when the lease went meanwhile. */
    async janitor(lease: Lease): Promise<boolean> {
      if (Date.now() - lastJanitor < opts.janitorMs) return true
      lastJanitor = Date.now()
      const cutoff = new Date(Date.now() - opts.retentionMs)
      return (await batched(lease, () => store.deletePublishedBefore(cutoff, opts.batch))).done
    },
  }
}

/** The key-level operations an SQL outbox offers (`publishedOutboxRows` in @africhain/db). */
type PublishedRows = {
  mark(pairs: readonly (readonly [string | number, string])[], at: Date): Promise<void>
  highestKey(): Promise<string | null>
  unpublishAbove(key: string, limit: number): Promise<number>
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
    unpublishAfter: (after: string | null, limit: number) =>
      rows.unpublishAbove(after === null ? '' : sortableStreamId(after), limit),
    deletePublishedBefore: (cutoff: Date, limit: number) => rows.deleteBefore(cutoff, limit),
  } satisfies RetainedOutbox & { markPublished: unknown }
}
