import type { Migration } from 'kysely/migration'
import * as initial from './001-initial.ts'

export const tokenMigrations: Record<string, Migration> = { '001-initial': initial }
export const MIGRATION_TABLE = 'token'
