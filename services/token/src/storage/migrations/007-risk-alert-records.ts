import { type Kysely, sql } from 'kysely'

/**
 * The risk-alert consumer's durable records, in the database because Redis may lose them with the stream
 * they are about (FLUSHALL, a restart without persistence, an older snapshot):
 * - `risk_alerts_applied`: the id of every alert that revoked, written in the transaction that revokes the
 *   user's sessions, so an alert read again (published again by analytics' relay, read back by a group
 *   created again, redelivered after a crash, claimed by another instance) revokes nothing. Pruned by
 *   `applied_at` once older than the window in which it can be read again.
 * - `consumer_groups`: the groups this deployment created or read from: a group missing at start with a
 *   row here was lost with Redis, not new, and reads back what the relay published again.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('risk_alerts_applied')
    .addColumn('alert_id', 'char(36)', (c) => c.primaryKey())
    .addColumn('applied_at', sql`datetime(3)`, (c) => c.notNull())
    .modifyEnd(sql`character set utf8mb4 collate utf8mb4_bin`)
    .execute()
  await db.schema
    .createIndex('risk_alerts_applied_at_idx')
    .on('risk_alerts_applied')
    .column('applied_at')
    .execute()
  await db.schema
    .createTable('consumer_groups')
    .addColumn('name', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('created_at', sql`datetime(3)`, (c) => c.notNull())
    .modifyEnd(sql`character set utf8mb4 collate utf8mb4_bin`)
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('consumer_groups').ifExists().execute()
  await db.schema.dropTable('risk_alerts_applied').ifExists().execute()
}
