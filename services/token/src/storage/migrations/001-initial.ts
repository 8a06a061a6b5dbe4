import { type Kysely, sql } from 'kysely'

// Primary keys are random (UUIDs, random session ids, token hashes) so TiDB spreads writes; no engine-only
// syntax, no triggers or procedures. DATETIME(3) in UTC (the pool sets timezone Z).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('identifier', 'varchar(320)', (c) => c.notNull().unique())
    .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
    .addColumn('display_name', 'varchar(100)')
    .addColumn('roles', 'varchar(200)', (c) => c.notNull().defaultTo('user'))
    .addColumn('created_at', sql`datetime(3)`, (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('device_id', 'varchar(128)')
    .addColumn('device_platform', 'varchar(16)', (c) => c.notNull())
    .addColumn('device_name', 'varchar(100)')
    .addColumn('user_agent', 'varchar(512)')
    .addColumn('ip', 'varchar(64)', (c) => c.notNull())
    .addColumn('remember_me', 'boolean', (c) => c.notNull())
    .addColumn('created_at', sql`datetime(3)`, (c) => c.notNull())
    .addColumn('last_active_at', sql`datetime(3)`, (c) => c.notNull())
    .addColumn('expires_at', sql`datetime(3)`, (c) => c.notNull())
    .addColumn('revoked_at', sql`datetime(3)`)
    .addColumn('revoked_reason', 'varchar(32)')
    .addColumn('generation', 'integer', (c) => c.notNull())
    .addColumn('rotated_at', sql`datetime(3)`)
    .addColumn('successor_enc', 'varchar(255)')
    .execute()
  await db.schema.createIndex('sessions_user_idx').on('sessions').columns(['user_id', 'revoked_at']).execute()
  await db.schema.createIndex('sessions_expiry_idx').on('sessions').columns(['expires_at']).execute()

  await db.schema
    .createTable('refresh_tokens')
    .addColumn('hash', sql`binary(32)`, (c) => c.primaryKey())
    .addColumn('session_id', 'varchar(32)', (c) => c.notNull())
    .addColumn('generation', 'integer', (c) => c.notNull())
    .addColumn('created_at', sql`datetime(3)`, (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('refresh_tokens_session_idx')
    .on('refresh_tokens')
    .columns(['session_id'])
    .execute()

  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('alg', 'varchar(16)', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('private_key', 'text', (c) => c.notNull())
    .addColumn('created_at', sql`datetime(3)`, (c) => c.notNull())
    .addColumn('activates_at', sql`datetime(3)`, (c) => c.notNull())
    .execute()

  // `seq` orders the relay; `id` (the event id) is the consumers' idempotency key.
  await db.schema
    .createTable('outbox')
    .addColumn('seq', 'bigint', (c) => c.autoIncrement().primaryKey())
    .addColumn('id', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_at', sql`datetime(3)`, (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['outbox', 'signing_keys', 'refresh_tokens', 'sessions', 'users']) {
    await db.schema.dropTable(table).ifExists().execute()
  }
}
