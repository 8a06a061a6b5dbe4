import type { Kysely } from 'kysely'

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema the caller has
type AnyDb = Kysely<any>

import { type Migration, type MigrationResultSet, Migrator } from 'kysely/migration'

/**
 * Each service owns its tables and keeps its own migration history table, so the token service and the
 * analytics service can share one database (or not) and migrate independently.
 */
export function migratorFor(db: AnyDb, migrations: Record<string, Migration>, table: string): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: `${table}_migrations`,
    migrationLockTableName: `${table}_migrations_lock`,
  })
}

function check(result: MigrationResultSet): MigrationResultSet {
  if (result.error) throw result.error instanceof Error ? result.error : new Error(String(result.error))
  return result
}

export async function migrateToLatest(
  db: AnyDb,
  migrations: Record<string, Migration>,
  table: string,
): Promise<MigrationResultSet> {
  return check(await migratorFor(db, migrations, table).migrateToLatest())
}

export async function migrateDown(
  db: AnyDb,
  migrations: Record<string, Migration>,
  table: string,
): Promise<MigrationResultSet> {
  return check(await migratorFor(db, migrations, table).migrateDown())
}
