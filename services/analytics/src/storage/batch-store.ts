import { maxStreamId, type StreamEntry } from '@africhain/bus'
import type { SessionEvent } from '@africhain/events'
import type { Kysely } from 'kysely'
import { partitionByUser } from '../domain/partition.ts'
import type { RiskRules } from '../domain/risk-rules.ts'
import { type IngestResult, ingestBatch, recordPosition } from './ingest.ts'
import type { Database } from './tables.ts'

type Batch = StreamEntry<SessionEvent>[]

/** How a consumer's batch is stored: split by user into `partitions` parts, each an `ingestBatch` transaction. */
export function batchStore(o: {
  ingestDb: Kysely<Database>
  partitions: number
  stream: string
  rules: RiskRules
  now: () => Date
}): (batch: Batch, consumer: string) => Promise<IngestResult> {
  const { ingestDb, partitions, stream, rules, now } = o
  // One lane per partition: a part waits only for the previous part of its own partition, never for
  // another partition's row locks.
  const lanes: Promise<unknown>[] = Array.from({ length: partitions }, () => Promise.resolve())
  function inLane<T>(k: number, run: () => Promise<T>): Promise<T> {
    const next = lanes[k]!.then(run, run)
    lanes[k] = next.catch(() => {})
    return next
  }

  /**
   * Stores a batch as parts by user, side by side; resolves when every part committed, and rejects (with the
   * first failure) only after every part has finished, so nothing of the batch is still running when the
   * consumer retries, splits or stops. Parts that committed make their redelivery a no-op.
   */
  return async function store(batch: Batch, consumer: string): Promise<IngestResult> {
    const position = { stream, consumer, lastId: maxStreamId(batch.map((e) => e.id))! }
    const parts = partitionByUser(
      batch.map((e) => e.event),
      partitions,
    )
    // The committed position must not run ahead of what committed: inside the transaction when the batch
    // is one part, else on its own after every part committed.
    const nonEmpty = parts.filter((p) => p.length > 0).length
    const settled = await Promise.allSettled(
      parts.map((events, k) =>
        events.length === 0
          ? { stored: 0, duplicates: 0, alerts: [], unkeptStates: [] }
          : inLane(k, () =>
              ingestBatch(ingestDb, events, {
                rules,
                now,
                multipleStatements: true,
                ...(nonEmpty === 1 ? { position } : {}),
              }),
            ),
      ),
    )
    const failed = settled.find((r) => r.status === 'rejected')
    if (failed) throw failed.reason
    if (nonEmpty > 1) await recordPosition(ingestDb, position, now())
    const results = settled.map((r) => (r as PromiseFulfilledResult<IngestResult>).value)
    return {
      stored: results.reduce((n, r) => n + r.stored, 0),
      duplicates: results.reduce((n, r) => n + r.duplicates, 0),
      alerts: results.flatMap((r) => r.alerts),
      unkeptStates: results.flatMap((r) => r.unkeptStates),
    }
  }
}
