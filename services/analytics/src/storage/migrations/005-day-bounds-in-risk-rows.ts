import type { Kysely } from 'kysely'

/**
 * Each risk row keeps lower bounds of the user's latest `analytics_user_days` maxima (domain/day-bounds.ts),
 * so an ingest batch skips the user-day upserts that could not raise anything. Existing rows start with
 * none (NULL): their next batch writes its day maxima as before and records the bounds.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('analytics_user_risk').addColumn('day_bounds', 'varchar(100)').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('analytics_user_risk').dropColumn('day_bounds').execute()
}
