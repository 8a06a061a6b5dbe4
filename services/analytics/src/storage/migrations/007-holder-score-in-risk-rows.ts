import type { Kysely } from 'kysely'

/**
 * Each risk row keeps the user's holder score at their latest event while they are suspicious (0 otherwise;
 * domain/risk-score.ts `holderScoreOf`): while a user stays suspicious, a rise of it over the stored value
 * publishes another alert (domain/user-rescore.ts `alertTransition`). Existing rows start at 0, so a user who is suspicious now and
 * has holder points gets one more alert at their next batch, this time with a holder score the token service
 * can act on (alerts published before carried none and decode with 0). 006 is left to another change.
 *
 * Upgrade: workers from before this migration leave the column as it is; as with 003, do not run them next
 * to workers from after it (the worker Deployment uses `Recreate`).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('analytics_user_risk')
    .addColumn('holder_score', 'smallint', (c) => c.notNull().defaultTo(0))
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('analytics_user_risk').dropColumn('holder_score').execute()
}
