import { type Kysely, sql } from 'kysely'

/**
 * Each risk row keeps the user's window as a bounded sweep state (`sweep`, domain/sweep-state.ts: counts
 * per IP, device and kind, the revocations per reason, the last rapid span) instead of the list of its
 * events (`recent` and `recent_from`, from 003: up to 20,000 events, decoded, merged and rewritten by every
 * batch). The list is dropped: a batch now reads from the event store only the events that leave the
 * window. Existing rows start without a state (NULL): their next batch reads their window from the event
 * store once and writes it.
 *
 * Upgrade: workers from before this migration read and write `recent`; do not run them next to workers
 * from after it (the worker Deployment uses `Recreate`). Down restores empty lists (NULL), which those
 * workers rebuild from the event store in the same way.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('analytics_user_risk')
    .addColumn('sweep', sql`mediumtext`)
    .dropColumn('recent')
    .dropColumn('recent_from')
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('analytics_user_risk')
    .addColumn('recent_from', sql`datetime(3)`)
    .addColumn('recent', sql`mediumtext`)
    .dropColumn('sweep')
    .execute()
}
