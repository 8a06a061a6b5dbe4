import { createDb, ensureDatabase, migrateToLatest } from '@africhain/db'
import type { Kysely } from 'kysely'
import { loadAnalyticsConfig } from './config.ts'
import { migrations } from './storage/migrations/index.ts'

/**
 * `node services/analytics/src/migrate.ts`: creates the database when missing, runs the analytics
 * migrations, prints what ran and exits — a release step for deployments that start the services with
 * `MIGRATE_ON_START=false`. The way to run a long migration, such as 004 on a large event store: run at a
 * service's start, a start-up probe can kill it halfway (it resumes at the next start, but the service stays
 * down until it is through).
 */
const config = loadAnalyticsConfig()
await ensureDatabase(config.DATABASE_URL)
const db = createDb({ url: config.DATABASE_URL, connectionLimit: 1 })
try {
  const result = await migrateToLatest(db as Kysely<unknown>, migrations, 'analytics')
  for (const r of result.results ?? []) console.log(`${r.migrationName}: ${r.status}`)
  if ((result.results ?? []).length === 0) console.log('analytics migrations: up to date')
} finally {
  await db.destroy()
}
