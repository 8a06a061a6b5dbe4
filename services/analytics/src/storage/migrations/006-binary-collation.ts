import { convertToBinary } from '@africhain/db'
import type { Kysely } from 'kysely'

/**
 * Every table byte for byte (utf8mb4_bin), whatever collation the database was created with. On a database
 * an operator made with the server's default (`utf8mb4_general_ci` on MariaDB, `utf8mb4_0900_ai_ci` on
 * MySQL 8) user and session ids, device keys and stream names folded case and accents, while the worker
 * keys risk rows and buckets by the exact text (domain/event-facts.ts `userKey`, domain/partition.ts): two
 * users could share a risk row. utf8mb4_bin keeps PAD SPACE, the trailing-space rule `userKey` and the
 * bucket SQL of 004 follow, so nothing else changes. The database's default becomes binary too, so tables
 * created by later migrations are. `ensureDatabase` creates databases with the server's default collation, so this runs on every fresh one.
 *
 * Converting rebuilds a table; on a large non-binary event store run it as a release step (the migrate
 * command, as for 004) with the workers stopped. TiDB creates utf8mb4 tables binary by default and skips it.
 * The list is this migration's; the start-up check (binary-schema.ts) covers every table there is now.
 */
const TABLES = [
  'analytics_events',
  'analytics_sessions',
  'analytics_counters',
  'analytics_user_days',
  'analytics_user_risk',
  'analytics_alert_outbox',
  'analytics_stream_positions',
  'analytics_stream_gaps',
  'analytics_migrations',
  'analytics_migrations_lock',
]

export async function up(db: Kysely<unknown>): Promise<void> {
  await convertToBinary(db, TABLES)
}

/** Nothing to undo: the old collation folded text the code never meant to fold. */
export async function down(): Promise<void> {}
