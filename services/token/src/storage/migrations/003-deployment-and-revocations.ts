import { randomBytes } from 'node:crypto'
import { type Kysely, sql } from 'kysely'

/**
 * - `deployment`: one row, a random id made when the database is first migrated. Every coordination key
 *   the service keeps in Redis (leases, the rebuilt sentinel, login counters, rate limits) is named after
 *   it, so two deployments sharing one Redis without a key prefix never hold each other's lease or count
 *   each other's failures. The id belongs to the database: every instance on it agrees without configuration.
 * - `sessions_revoked_idx`: the revocation replay reads the sessions revoked within the last access-token
 *   lifetime every few seconds; this index makes that a range scan instead of a table scan.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('deployment')
    .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('created_at', sql`datetime(3)`, (c) => c.notNull())
    .modifyEnd(sql`character set utf8mb4 collate utf8mb4_bin`)
    .execute()
  await sql`insert into deployment (id, created_at) values (${randomBytes(8).toString('hex')}, ${new Date()})`.execute(
    db,
  )
  await db.schema.createIndex('sessions_revoked_idx').on('sessions').columns(['revoked_at']).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('sessions_revoked_idx').on('sessions').execute()
  await db.schema.dropTable('deployment').ifExists().execute()
}
