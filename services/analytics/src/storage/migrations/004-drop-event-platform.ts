import { type Kysely, sql } from 'kysely'

/**
 * `analytics_events.platform` was written for every event and read by nothing (the device breakdowns come
 * from session rows and counters; the envelope keeps the device). One value less per event on the hot
 * insert. Dropping a column is instant on MariaDB 10.4+ and MySQL 8.0.29+.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('analytics_events').dropColumn('platform').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('analytics_events').addColumn('platform', sql`varchar(16)`).execute()
}
