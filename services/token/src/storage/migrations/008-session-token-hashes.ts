import { type Kysely, sql } from 'kysely'

/**
 * A session's two live token hashes on its own row, so a rotation writes one row (`sessions`) and the outbox,
 * and no `refresh_tokens` row is inserted or deleted per refresh:
 * - `sessions.current_hash`: SHA-256 of the session's current refresh token, set by every rotation (and
 *   login) of this release; the rotation's compare-and-set checks it with the generation.
 * - `sessions.previous_hash` (migration 005) now holds the previous token's hash whatever its shape.
 * Added empty, without a copy or a scan: a session written before (or by an instance of the release before,
 * still serving while this ran) has none, and is judged by its token's `refresh_tokens` row as before
 * (domain/use-cases/rotate-refresh-token.ts) until this release rotates it. Those rows then stay unread;
 * the session janitor deletes them with their session.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('current_hash', sql`binary(32)`).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('current_hash').execute()
}
