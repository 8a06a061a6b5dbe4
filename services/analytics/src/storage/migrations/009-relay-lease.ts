import { type Kysely, sql } from 'kysely'

/**
 * The alert relay publishes under one lease for all workers (`analytics_leases`, storage/lease.repository.ts),
 * as the token service's relay does in Redis, instead of each worker claiming outbox rows for itself. The
 * claim columns of `analytics_alert_outbox` (`claim_token`, `claimed_until`) are no longer written or read;
 * they are dropped a release later, once no worker from before this migration runs (operations.md).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('analytics_leases')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('holder', 'varchar(32)', (c) => c.notNull())
    .addColumn('expires_at', sql`datetime(3)`, (c) => c.notNull())
    .modifyEnd(sql`character set utf8mb4 collate utf8mb4_bin`)
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('analytics_leases').ifExists().execute()
}
