import { type Kysely, sql } from 'kysely'

/**
 * `users.disabled_at`: set by an administrator (`POST /auth/admin/users/:userId/disable`, `pnpm cli
 * user:disable`), cleared by enable. While set, login and refresh answer 403 USER_DISABLED. A time rather
 * than a flag: operators ask "since when". No text column, so nothing for the binary-collation check.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').addColumn('disabled_at', sql`datetime(3)`).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('disabled_at').execute()
}
