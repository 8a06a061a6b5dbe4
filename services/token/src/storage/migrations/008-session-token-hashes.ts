import { type Kysely, sql } from 'kysely'

/**
 * A session's two live token hashes on its own row, so a rotation writes one row (`sessions`) and the outbox,
 * and no `refresh_tokens` row is inserted or deleted per refresh:
 * - `sessions.current_hash`: SHA-256 of the session's current refresh token, whatever its shape; the
 *   rotation's compare-and-set checks it with the generation. Filled here from each session's current
 *   `refresh_tokens` row.
 * - `sessions.previous_hash` (migration 005) now holds the previous token's hash whatever its shape.
 * A signed token names its session, so it is found by that row; `refresh_tokens` is read only for legacy
 * tokens (issued before migration 005), whose rows stay until their session ends. The rows of signed tokens
 * written before this migration are no longer read; the session janitor deletes them with their session.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('current_hash', sql`binary(32)`).execute()
  await sql`update sessions s join refresh_tokens rt on rt.session_id = s.id and rt.generation = s.generation
    set s.current_hash = rt.hash where s.current_hash is null`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('current_hash').execute()
}
