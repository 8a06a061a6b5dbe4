import { createDb, ensureDatabase, migrateToLatest } from '@africhain/db'
import type { TokenConfig } from './config.ts'
import { MIGRATION_TABLE, tokenMigrations } from './storage/migrations/index.ts'
import type { TokenDatabase } from './storage/tables.ts'

/** The database of a `pnpm cli` command: created and migrated first (as every command does), closed after. */
export async function withDb<T>(
  config: TokenConfig,
  fn: (db: ReturnType<typeof createDb<TokenDatabase>>) => Promise<T>,
) {
  await ensureDatabase(config.DATABASE_URL)
  const db = createDb<TokenDatabase>({ url: config.DATABASE_URL, connectionLimit: 2 })
  try {
    await migrateToLatest(db, tokenMigrations, MIGRATION_TABLE)
    return await fn(db)
  } finally {
    await db.destroy()
  }
}
