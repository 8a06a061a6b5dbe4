import { type Kysely, sql } from 'kysely'

/**
 * Published alerts keep the stream id their XADD returned (`stream_key`, fixed-width text from
 * `sortableStreamId`; null while unpublished), so the relay can publish them again when Redis loses stream
 * entries (packages/bus/src/outbox-retention.ts); the janitor deletes them OUTBOX_RETENTION after
 * `published_at` (index `analytics_alert_outbox_published`). Rows published before this migration have no
 * stream id: they are never republished, and the janitor deletes them like the others.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('analytics_alert_outbox')
    .addColumn('stream_key', sql`char(37) character set utf8mb4 collate utf8mb4_bin`)
    .execute()
  await db.schema
    .createIndex('analytics_alert_outbox_stream_key')
    .on('analytics_alert_outbox')
    .column('stream_key')
    .execute()
  await db.schema
    .createIndex('analytics_alert_outbox_published')
    .on('analytics_alert_outbox')
    .column('published_at')
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('analytics_alert_outbox_published').on('analytics_alert_outbox').execute()
  await db.schema.dropIndex('analytics_alert_outbox_stream_key').on('analytics_alert_outbox').execute()
  await db.schema.alterTable('analytics_alert_outbox').dropColumn('stream_key').execute()
}
