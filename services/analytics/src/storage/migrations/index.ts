import type { Migration } from 'kysely/migration'
import * as initial from './001-initial.ts'

/** Applied in key order under the `analytics_migrations` history table. */
export const migrations: Record<string, Migration> = {
  '001-initial': initial,
}
