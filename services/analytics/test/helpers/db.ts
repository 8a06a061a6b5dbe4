import { createDb, dropDatabase, ensureDatabase, migrateToLatest } from '@africhain/db'
import { testDatabaseUrl } from '@africhain/db/testing'
import { type Kysely, sql } from 'kysely'
import { migrations } from '../../src/storage/migrations/index.ts'
import type { Database } from '../../src/storage/tables.ts'

export type TestDb = { url: string; db: Kysely<Database>; truncate(): Promise<void>; drop(): Promise<void> }

const TABLES = [
  'analytics_events',
  'analytics_sessions',
  'analytics_counters',
  'analytics_user_days',
  'analytics_user_risk',
  'analytics_alert_outbox',
  'analytics_stream_positions',
  'analytics_stream_gaps',
  'analytics_leases',
  'analytics_notifier_deliveries',
]

/** A fresh, migrated database of its own for one test file (dropped by `drop()`). */
export async function testDatabase(label: string): Promise<TestDb> {
  const t = openTestDatabase(label)
  await t.migrate()
  return t
}

/** The same, its pool opened now (for a file's module scope) and the database made by `migrate()`. */
export function openTestDatabase(label: string): TestDb & { migrate(): Promise<void> } {
  const url = testDatabaseUrl(label)
  const db = createDb<Database>({ url, connectionLimit: 8 })
  return {
    url,
    db,
    async migrate() {
      await ensureDatabase(url)
      await migrateToLatest(db as Kysely<unknown>, migrations, 'analytics')
    },
    async truncate() {
      for (const t of TABLES) await sql`truncate table ${sql.table(t)}`.execute(db)
    },
    async drop() {
      await db.destroy()
      await dropDatabase(url)
    },
  }
}
