import { type Kysely, sql } from 'kysely'

const ts = sql`datetime(3)`

/**
 * The analytics tables. Portable across MySQL 8, MariaDB 10.11 and TiDB: no triggers or procedures;
 * primary keys are random (event and alert uuids) or natural, never auto-increment hotspots.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('analytics_events')
    .addColumn('id', 'char(36)', (c) => c.primaryKey())
    .addColumn('type', 'varchar(32)', (c) => c.notNull())
    .addColumn('occurred_at', ts, (c) => c.notNull())
    .addColumn('user_id', 'varchar(64)')
    .addColumn('session_id', 'varchar(64)')
    .addColumn('ip', 'varchar(64)')
    .addColumn('device_key', 'varchar(200)')
    .addColumn('platform', 'varchar(16)')
    .addColumn('reason', 'varchar(32)')
    .addColumn('envelope', 'text', (c) => c.notNull())
    .addColumn('ingest_batch', 'char(16)', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('analytics_events_user_time')
    .on('analytics_events')
    .columns(['user_id', 'occurred_at', 'id'])
    .execute()
  await db.schema
    .createIndex('analytics_events_time_type')
    .on('analytics_events')
    .columns(['occurred_at', 'type'])
    .execute()

  await db.schema
    .createTable('analytics_sessions')
    .addColumn('session_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(64)')
    .addColumn('platform', 'varchar(16)')
    .addColumn('device_key', 'varchar(200)')
    .addColumn('remember_me', 'boolean')
    .addColumn('created_at', ts)
    .addColumn('expires_at', ts)
    .addColumn('revoked_at', ts)
    .addColumn('revoke_reason', 'varchar(32)')
    .addColumn('ends_at', ts, (c) =>
      c
        .generatedAlwaysAs(sql`least(coalesce(expires_at, revoked_at), coalesce(revoked_at, expires_at))`)
        .stored(),
    )
    .execute()
  // Covers the overview: active sessions, users with one, platforms, durations of the last 24 hours.
  await db.schema
    .createIndex('analytics_sessions_ends')
    .on('analytics_sessions')
    .columns(['ends_at', 'created_at', 'platform', 'user_id'])
    .execute()
  await db.schema
    .createIndex('analytics_sessions_user')
    .on('analytics_sessions')
    .columns(['user_id', 'ends_at'])
    .execute()

  await db.schema
    .createTable('analytics_counters')
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('hour', 'smallint', (c) => c.notNull())
    .addColumn('metric', 'varchar(64)', (c) => c.notNull())
    .addColumn('count', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('analytics_counters_pk', ['day', 'hour', 'metric'])
    .execute()

  await db.schema
    .createTable('analytics_user_days')
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('max_score', 'smallint', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('analytics_user_days_pk', ['day', 'user_id'])
    .execute()
  await db.schema
    .createIndex('analytics_user_days_score')
    .on('analytics_user_days')
    .columns(['day', 'max_score'])
    .execute()

  await db.schema
    .createTable('analytics_user_risk')
    .addColumn('user_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('score', 'smallint', (c) => c.notNull().defaultTo(0))
    .addColumn('factors', 'text', (c) => c.notNull())
    .addColumn('evaluated_at', ts)
    .addColumn('last_event_at', ts)
    .addColumn('alerted', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('alerted_at', ts)
    .execute()
  await db.schema
    .createIndex('analytics_user_risk_score')
    .on('analytics_user_risk')
    .columns(['score', 'last_event_at'])
    .execute()

  await db.schema
    .createTable('analytics_alert_outbox')
    .addColumn('id', 'char(36)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('score', 'smallint', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('published_at', ts)
    .addColumn('claim_token', 'char(16)')
    .addColumn('claimed_until', ts)
    .execute()
  await db.schema
    .createIndex('analytics_alert_outbox_unpublished')
    .on('analytics_alert_outbox')
    .columns(['published_at', 'created_at'])
    .execute()

  await db.schema
    .createTable('analytics_stream_positions')
    .addColumn('stream', 'varchar(190)', (c) => c.notNull())
    .addColumn('consumer', 'varchar(190)', (c) => c.notNull())
    .addColumn('last_key', 'char(37)', (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('analytics_stream_positions_pk', ['stream', 'consumer'])
    .execute()

  await db.schema
    .createTable('analytics_stream_gaps')
    .addColumn('stream', 'varchar(190)', (c) => c.notNull())
    .addColumn('from_id', 'varchar(40)', (c) => c.notNull())
    .addColumn('to_id', 'varchar(40)')
    .addColumn('missing', 'bigint')
    .addColumn('kind', 'varchar(32)', (c) => c.notNull())
    .addColumn('detected_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('analytics_stream_gaps_pk', ['stream', 'from_id'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'analytics_stream_gaps',
    'analytics_stream_positions',
    'analytics_alert_outbox',
    'analytics_user_risk',
    'analytics_user_days',
    'analytics_counters',
    'analytics_sessions',
    'analytics_events',
  ]) {
    await db.schema.dropTable(table).ifExists().execute()
  }
}
