import { assertBinarySchema } from '@africhain/db'
import type { Kysely } from 'kysely'
import type { Database } from '../tables.ts'

// Every table of the service; a table added to Database without being listed here does not compile.
const OWNED: Record<keyof Database, true> = {
  analytics_events: true,
  analytics_sessions: true,
  analytics_counters: true,
  analytics_user_days: true,
  analytics_user_risk: true,
  analytics_alert_outbox: true,
  analytics_stream_positions: true,
  analytics_stream_gaps: true,
  analytics_leases: true,
  analytics_notifier_deliveries: true,
}
const TABLES = [...Object.keys(OWNED), 'analytics_migrations', 'analytics_migrations_lock']

/**
 * The start-up check of the API and the worker, after migrating or instead of it (MIGRATE_ON_START=false):
 * refuses to run on a schema where any of our string columns folds case or accents (SchemaCollationError
 * names each column).
 */
export async function checkBinarySchema(db: Kysely<Database>): Promise<void> {
  await assertBinarySchema(db, TABLES)
}
