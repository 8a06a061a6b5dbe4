import { randomBytes } from 'node:crypto'
import type { RelayLease } from '@africhain/bus'
import { type Kysely, sql } from 'kysely'
import type { Database } from './tables.ts'

/**
 * A lease in the database (`analytics_leases`), held by a random id per relay, on the database's clock so
 * the workers' clocks do not matter. One upsert takes it when free or expired and extends it when ours;
 * assignments run left to right (MySQL, MariaDB, TiDB), so `expires_at` sees the holder just decided.
 */
export function dbLease(db: Kysely<Database>, name: string, ms: number): RelayLease {
  const holder = randomBytes(12).toString('base64url')
  const until = sql<Date>`utc_timestamp(3) + interval ${ms * 1000} microsecond`
  return {
    async hold() {
      await db
        .insertInto('analytics_leases')
        .values({ name, holder, expires_at: until })
        .onDuplicateKeyUpdate({
          holder: sql`if(holder = values(holder) or expires_at < utc_timestamp(3), values(holder), holder)`,
          expires_at: sql`if(holder = values(holder), values(expires_at), expires_at)`,
        })
        .execute()
      const row = await db
        .selectFrom('analytics_leases')
        .select('holder')
        .where('name', '=', name)
        .executeTakeFirst()
      return row?.holder === holder
    },
    async release() {
      await db.deleteFrom('analytics_leases').where('name', '=', name).where('holder', '=', holder).execute()
    },
  }
}
