import { idOfSortableStreamId, sortableStreamId } from '@africhain/bus'
import { type Kysely, sql, type Transaction } from 'kysely'
import type { GapFinding } from '../domain/gaps.ts'
import type { Database } from './tables.ts'

type Db = Kysely<Database> | Transaction<Database>

/** A stream id as a fixed-width string whose text order is the id order, so SQL GREATEST/MAX compare ids. */
export const positionKey = sortableStreamId

export const idOfPositionKey = idOfSortableStreamId

/** Raises this consumer's committed position (one row per consumer: workers never contend on it). */
export async function savePosition(
  trx: Db,
  stream: string,
  consumer: string,
  id: string,
  now: Date,
): Promise<void> {
  await trx
    .insertInto('analytics_stream_positions')
    .values({ stream, consumer, last_key: positionKey(id), updated_at: now })
    .onDuplicateKeyUpdate({
      last_key: sql`greatest(last_key, values(last_key))`,
      updated_at: sql`values(updated_at)`,
    })
    .execute()
}

/** The highest entry id any worker committed from this stream, or null when none ever did. */
export async function lastProcessedId(db: Db, stream: string): Promise<string | null> {
  const row = await db
    .selectFrom('analytics_stream_positions')
    .select(sql<string | null>`max(last_key)`.as('key'))
    .where('stream', '=', stream)
    .executeTakeFirst()
  return row?.key ? idOfPositionKey(row.key) : null
}

export type Gap = GapFinding & { stream: string }

/**
 * Records a gap once per starting point (another worker or a later check finding it again changes
 * nothing); a cumulative count that grew raises `missing` and moves `updated_at`, the "last gap" time.
 * `updated_at` and `to_id` are assigned before `missing`, while it still holds the stored value.
 */
export async function recordGap(db: Db, gap: Gap, now: Date): Promise<void> {
  const grows = sql`coalesce(values(missing), 0) > coalesce(missing, 0)`
  await db
    .insertInto('analytics_stream_gaps')
    .values({
      stream: gap.stream,
      from_id: gap.fromId,
      to_id: gap.toId,
      missing: gap.missing,
      kind: gap.kind,
      detected_at: now,
      updated_at: now,
    })
    .onDuplicateKeyUpdate({
      updated_at: sql`if(${grows}, values(updated_at), updated_at)`,
      to_id: sql`if(${grows}, values(to_id), to_id)`,
      missing: sql`greatest(coalesce(missing, values(missing)), coalesce(values(missing), missing))`,
    })
    .execute()
}

export type GapSummary = { gaps: number; missingEvents: number; lastGapAt: Date | null }

export async function gapSummary(db: Db, stream: string): Promise<GapSummary> {
  const row = await db
    .selectFrom('analytics_stream_gaps')
    .select([
      sql<number>`count(*)`.as('gaps'),
      sql<string | null>`sum(missing)`.as('missing'),
      sql<Date | null>`max(updated_at)`.as('last'),
    ])
    .where('stream', '=', stream)
    .executeTakeFirstOrThrow()
  return {
    gaps: Number(row.gaps),
    missingEvents: Number(row.missing ?? 0),
    lastGapAt: row.last ? new Date(row.last) : null,
  }
}
