import { parseStreamId } from '@africhain/bus'
import { type Kysely, sql, type Transaction } from 'kysely'
import type { Database } from './tables.ts'

type Db = Kysely<Database> | Transaction<Database>

/** A stream id as a fixed-width string whose text order is the id order, so SQL GREATEST/MAX compare ids. */
export function positionKey(id: string): string {
  const { ms, seq } = parseStreamId(id)
  return `${String(ms).padStart(16, '0')}-${seq.toString().padStart(20, '0')}`
}

export function idOfPositionKey(key: string): string {
  const [ms, seq] = key.split('-')
  return `${BigInt(ms!)}-${BigInt(seq!)}`
}

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

export type GapKind = 'stream_lost' | 'trimmed_unread' | 'trimmed_before_start'

export type Gap = {
  stream: string
  /** Last id known processed (or `0-0`) before the stretch that was never read. */
  fromId: string
  /** First id available after it, when known. */
  toId: string | null
  /** Entries known to be missing, when Redis can tell (entries-added minus what the group read and what is left). */
  missing: number | null
  kind: GapKind
}

/** Records a gap once per starting point; seeing it again (another worker, a later check) only widens it. */
export async function recordGap(db: Db, gap: Gap, now: Date): Promise<void> {
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
      to_id: sql`coalesce(values(to_id), to_id)`,
      missing: sql`greatest(coalesce(missing, values(missing)), coalesce(values(missing), missing))`,
      updated_at: sql`values(updated_at)`,
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
      sql<Date | null>`max(detected_at)`.as('last'),
    ])
    .where('stream', '=', stream)
    .executeTakeFirstOrThrow()
  return {
    gaps: Number(row.gaps),
    missingEvents: Number(row.missing ?? 0),
    lastGapAt: row.last ? new Date(row.last) : null,
  }
}
