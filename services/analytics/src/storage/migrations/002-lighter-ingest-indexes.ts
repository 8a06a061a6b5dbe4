import type { Kysely } from 'kysely'

/**
 * Fewer secondary-index writes on the tables every ingest batch upserts:
 * - `analytics_user_days_score` (day, max_score) duplicated the primary key (day, user_id), whose
 *   clustered rows already hold `max_score`: the day's report reads one PK range either way.
 * - `analytics_user_risk_score` (score, last_event_at) changed on every batch for every scored user
 *   (`last_event_at` moves with each event). On (score) alone it changes only when a score does; the flagged
 *   list still walks it from the top score down (InnoDB appends the key `user_id`, the tie-breaker) and
 *   checks `last_event_at` on the few rows above the threshold.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('analytics_user_days_score').on('analytics_user_days').execute()
  await db.schema.dropIndex('analytics_user_risk_score').on('analytics_user_risk').execute()
  await db.schema.createIndex('analytics_user_risk_score').on('analytics_user_risk').column('score').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('analytics_user_risk_score').on('analytics_user_risk').execute()
  await db.schema
    .createIndex('analytics_user_risk_score')
    .on('analytics_user_risk')
    .columns(['score', 'last_event_at'])
    .execute()
  await db.schema
    .createIndex('analytics_user_days_score')
    .on('analytics_user_days')
    .columns(['day', 'max_score'])
    .execute()
}
