import { type Kysely, type RawBuilder, sql } from 'kysely'

/**
 * The event store's key becomes (bucket, id), the bucket a fixed function of the event's user
 * (domain/partition.ts). An ingest batch is stored as parts by user, side by side; with the id alone as key
 * their inserts interleaved in the same pages, which split half full (the table took twice the space, and
 * the buffer pool and the page writes with it). Each part now appends to its own buckets. The unused
 * `platform` column goes with the rebuild.
 *
 * Rebuilt by copy (a new table, filled in chunks by id, then swapped by RENAME), which every supported
 * database can do, TiDB included (it cannot change a clustered primary key in place). Safe to run again
 * after a crash at any step. Upgrade: workers from before this migration cannot insert into the new table
 * (no `bucket`); stop them before starting new ones (the Kubernetes worker Deployment uses `Recreate`).
 */

const COPY_CHUNK = 10_000
/** `EVENT_BUCKETS` as this migration knows it (a migration does not follow later code). */
const BUCKETS = 64

/** The SQL of `eventBucket` (domain/partition.ts) over a stored row; a test checks that both agree. */
const BUCKET_SQL = sql`crc32(case when char_length(user_id) > 0 then trim(trailing ' ' from user_id) else coalesce(session_id, id) end) % ${sql.lit(BUCKETS)}`

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!(await hasColumn(db, 'analytics_events', 'bucket'))) {
    await sql`drop table if exists analytics_events_next`.execute(db)
    await createEventTable(db, 'analytics_events_next', 'by-bucket')
    await copyEvents(db, 'analytics_events_next', sql`${BUCKET_SQL}, id`, 'bucket, id', null)
    await swap(db)
  }
  await sql`drop table if exists analytics_events_before_swap`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (await hasColumn(db, 'analytics_events', 'bucket')) {
    await sql`drop table if exists analytics_events_next`.execute(db)
    await createEventTable(db, 'analytics_events_next', 'by-id')
    await copyEvents(db, 'analytics_events_next', sql`id`, 'id', BUCKETS)
    await swap(db)
  }
  await sql`drop table if exists analytics_events_before_swap`.execute(db)
}

async function hasColumn(db: Kysely<unknown>, table: string, column: string): Promise<boolean> {
  const r = await sql<{ n: number }>`select count(*) as n from information_schema.columns
    where table_schema = database() and table_name = ${table} and column_name = ${column}`.execute(db)
  return Number(r.rows[0]?.n) > 0
}

async function createEventTable(
  db: Kysely<unknown>,
  name: string,
  key: 'by-bucket' | 'by-id',
): Promise<void> {
  let t = db.schema.createTable(name)
  if (key === 'by-bucket') t = t.addColumn('bucket', sql`tinyint unsigned`, (c) => c.notNull())
  t = t
    .addColumn('id', 'char(36)', (c) => c.notNull())
    .addColumn('type', 'varchar(32)', (c) => c.notNull())
    .addColumn('occurred_at', sql`datetime(3)`, (c) => c.notNull())
    .addColumn('user_id', 'varchar(64)')
    .addColumn('session_id', 'varchar(64)')
    .addColumn('ip', 'varchar(64)')
    .addColumn('device_key', 'varchar(200)')
  if (key === 'by-id') t = t.addColumn('platform', 'varchar(16)')
  await t
    .addColumn('reason', 'varchar(32)')
    .addColumn('envelope', 'text', (c) => c.notNull())
    .addColumn('ingest_batch', 'char(16)', (c) => c.notNull())
    .addPrimaryKeyConstraint(`${name}_pk`, (key === 'by-bucket' ? ['bucket', 'id'] : ['id']) as never)
    .execute()
  await db.schema
    .createIndex('analytics_events_user_time')
    .on(name)
    .columns(['user_id', 'occurred_at', 'id'])
    .execute()
  await db.schema
    .createIndex('analytics_events_time_type')
    .on(name)
    .columns(['occurred_at', 'type'])
    .execute()
}

/**
 * Copies every row in chunks along the source's primary key (each chunk its own statement: no transaction
 * as large as the table): by id, or bucket by bucket and by id within each.
 */
async function copyEvents(
  db: Kysely<unknown>,
  into: string,
  keyValues: RawBuilder<unknown>,
  keyColumns: string,
  sourceBuckets: number | null,
): Promise<void> {
  const columns = sql.raw(
    'type, occurred_at, user_id, session_id, ip, device_key, reason, envelope, ingest_batch',
  )
  const buckets = sourceBuckets === null ? [null] : Array.from({ length: sourceBuckets }, (_, b) => b)
  for (const bucket of buckets) {
    const inBucket = bucket === null ? sql`` : sql`bucket = ${bucket} and`
    let after = ''
    for (;;) {
      const end = await sql<{ id: string }>`select id from analytics_events where ${inBucket} id > ${after}
        order by id limit 1 offset ${COPY_CHUNK - 1}`.execute(db)
      const last = end.rows[0]?.id
      // Up: a plain INSERT (no row can collide, and IGNORE would turn data errors into warnings). Down: the
      // same id in two buckets (two different events) keeps the first.
      await sql`insert ${sql.raw(sourceBuckets === null ? '' : 'ignore ')}into ${sql.table(into)} (${sql.raw(keyColumns)}, ${columns})
        select ${keyValues}, ${columns} from analytics_events
        where ${inBucket} id > ${after} ${last === undefined ? sql`` : sql`and id <= ${last}`}`.execute(db)
      if (last === undefined) break
      after = last
    }
  }
}

async function swap(db: Kysely<unknown>): Promise<void> {
  await sql`rename table analytics_events to analytics_events_before_swap, analytics_events_next to analytics_events`.execute(
    db,
  )
}
