import { convertToBinary } from '@africhain/db'
import type { Kysely } from 'kysely'

/**
 * Every table byte for byte (utf8mb4_bin), whatever collation the database was created with. On a database
 * an operator made with the server's default (`utf8mb4_general_ci` on MariaDB, `utf8mb4_0900_ai_ci` on
 * MySQL 8) the tables of 001 folded case and accents: `ámina@x.test` found the row of `amina@x.test`, and the
 * unique identifier index refused the second as taken. The database's default becomes binary too, so tables
 * created by later migrations are. `ensureDatabase` creates databases with the server's default collation, so this runs on every fresh one.
 *
 * Converting rebuilds a table (a copy, as ALTER TABLE does); on a large non-binary `sessions` run it as a
 * release step (`pnpm cli migrate`). TiDB creates utf8mb4 tables binary by default and skips all of it.
 * The list is this migration's, the tables that existed when it was written; the start-up check
 * (binary-schema.ts) covers every table the service has now.
 */
const TABLES = [
  'users',
  'sessions',
  'refresh_tokens',
  'signing_keys',
  'outbox',
  'token_migrations',
  'token_migrations_lock',
]

export async function up(db: Kysely<unknown>): Promise<void> {
  await convertToBinary(db, TABLES)
}

/** Nothing to undo: the old collation folded text the code never meant to fold. */
export async function down(): Promise<void> {}
