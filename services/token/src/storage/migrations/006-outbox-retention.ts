import { type Kysely, sql } from 'kysely'

/**
 * Published outbox rows are kept for OUTBOX_RETENTION instead of deleted at once, so the relay can publish
 * them again when Redis loses stream entries (packages/bus/src/outbox-retention.ts):
 * - `stream_key`: the stream id the row's XADD returned, as fixed-width text (`sortableStreamId`); null
 *   while unpublished. The index `(stream_key, seq)` serves the relay's read of unpublished rows in `seq`
 *   order, the highest recorded id and the range made unpublished again after a loss.
 * - `published_at`: when it was published; the janitor deletes rows older than the retention by it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('outbox')
    .addColumn('stream_key', sql`char(37) character set utf8mb4 collate utf8mb4_bin`)
    .addColumn('published_at', sql`datetime(3)`)
    .execute()
  await db.schema.createIndex('outbox_stream_key').on('outbox').columns(['stream_key', 'seq']).execute()
  await db.schema.createIndex('outbox_published_at').on('outbox').column('published_at').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from outbox where stream_key is not null`.execute(db)
  await db.schema.dropIndex('outbox_published_at').on('outbox').execute()
  await db.schema.dropIndex('outbox_stream_key').on('outbox').execute()
  await db.schema.alterTable('outbox').dropColumn('stream_key').dropColumn('published_at').execute()
}
