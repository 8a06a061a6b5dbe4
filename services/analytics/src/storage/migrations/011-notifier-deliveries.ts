import { type Kysely, sql } from 'kysely'

/**
 * What the notifier delivered: one row per (hook, alert) that a webhook accepted, so an alert read again is
 * not posted again, even when Redis lost the stream, its consumer group and everything else, or went back to
 * an older snapshot (notifier/deliveries.ts). Rows go after the notifier's marker window (index on
 * `delivered_at`).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('analytics_notifier_deliveries')
    .addColumn('hook', 'varchar(64)', (c) => c.notNull())
    .addColumn('alert_id', 'char(36)', (c) => c.notNull())
    .addColumn('delivered_at', sql`datetime(3)`, (c) => c.notNull())
    .addPrimaryKeyConstraint('analytics_notifier_deliveries_pk', ['alert_id', 'hook'])
    .modifyEnd(sql`character set utf8mb4 collate utf8mb4_bin`)
    .execute()
  await db.schema
    .createIndex('analytics_notifier_deliveries_at')
    .on('analytics_notifier_deliveries')
    .column('delivered_at')
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('analytics_notifier_deliveries').ifExists().execute()
}
