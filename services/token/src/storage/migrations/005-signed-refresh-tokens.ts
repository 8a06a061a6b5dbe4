import { type Kysely, sql } from 'kysely'

/**
 * Signed refresh tokens (domain/refresh-token.ts), so that a live session keeps only its current and
 * previous token rows:
 * - `token_secrets`: server-held secrets by name; `refresh-mac` (made at the first start, storage/refresh-key.ts)
 *   authenticates the session and generation a refresh token carries. Stored like private signing keys:
 *   sealed under KEY_ENCRYPTION_SECRET when it is set.
 * - `refresh_tokens.signed`: 1 for a row of a signed token. Rotation deletes a signed row once it is older
 *   than the previous generation (a replay of one is still recognised by its MAC); rows of tokens issued before this
 *   migration are kept until their session ends, since only the row can recognise such a token.
 * - `sessions.previous_hash`: the hash of the session's previous token when it is signed, so the rotation
 *   that makes it two generations old deletes its row by primary key.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('token_secrets')
    .addColumn('name', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('created_at', sql`datetime(3)`, (c) => c.notNull())
    .modifyEnd(sql`character set utf8mb4 collate utf8mb4_bin`)
    .execute()
  await db.schema
    .alterTable('refresh_tokens')
    .addColumn('signed', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()
  await db.schema.alterTable('sessions').addColumn('previous_hash', sql`binary(32)`).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('previous_hash').execute()
  await db.schema.alterTable('refresh_tokens').dropColumn('signed').execute()
  await db.schema.dropTable('token_secrets').ifExists().execute()
}
