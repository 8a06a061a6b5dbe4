import { assertBinarySchema } from '@africhain/db'
import type { Kysely } from 'kysely'
import type { TokenDatabase } from '../tables.ts'
import { MIGRATION_TABLE } from './index.ts'

// Every table of the service; a table added to TokenDatabase without being listed here does not compile.
const OWNED: Record<keyof TokenDatabase, true> = {
  deployment: true,
  users: true,
  sessions: true,
  refresh_tokens: true,
  signing_keys: true,
  outbox: true,
  token_secrets: true,
  risk_alerts_applied: true,
  consumer_groups: true,
}
const TABLES = [...Object.keys(OWNED), `${MIGRATION_TABLE}_migrations`, `${MIGRATION_TABLE}_migrations_lock`]

/**
 * The start-up check, after migrating or instead of it (MIGRATE_ON_START=false): refuses to run on a schema
 * where any of our string columns folds case or accents, since the service then cannot tell identifiers,
 * device ids or event ids apart as it means to (SchemaCollationError names each column).
 */
export async function checkBinarySchema(db: Kysely<TokenDatabase>): Promise<void> {
  await assertBinarySchema(db, TABLES)
}
