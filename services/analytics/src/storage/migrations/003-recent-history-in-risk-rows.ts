import { type Kysely, sql } from 'kysely'

/**
 * Each user's recent scoring facts live in their risk row (domain/recent-events.ts), so an ingest batch
 * re-scores from the rows it locks instead of reading the event store. Existing rows start with no
 * history (NULL): their next batch reads the event store once and fills it.
 *
 * Upgrade: workers from before this migration store events without maintaining the history, so they must
 * not run next to workers from after it (the Kubernetes worker Deployment uses `Recreate`). If both did run,
 * `UPDATE analytics_user_risk SET recent = NULL` once the old ones are gone makes every user's next batch
 * rebuild the history from the event store.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('analytics_user_risk')
    .addColumn('recent_from', sql`datetime(3)`)
    .addColumn('recent', sql`mediumtext`)
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('analytics_user_risk').dropColumn('recent').dropColumn('recent_from').execute()
}
