import { type Kysely, type RawBuilder, sql } from 'kysely'

/**
 * The event store's key becomes (bucket, id), the bucket a fixed function of the event's user
 * (domain/partition.ts). An ingest batch is stored as parts by user, side by side; with the id alone as key
 * their inserts interleaved in the same pages, which split half full (the table took twice the space, and
 * the buffer pool and the page writes with it). Each part now appends to its own buckets. The unused
 * `platform` column goes with the rebuild.
 *
 * Rebuilt by copy (a new table, filled in chunks by id, swapped by RENAME), which every supported database
 * can do, TiDB included (it cannot change a clustered primary key in place). Safe to run again after a crash
 * or a kill at any step: an interrupted copy resumes where it stopped.
 *
 * Upgrade: stop the old workers first (the Kubernetes worker Deployment uses `Recreate`; on a large event
 * store run this as a release step, see infra/README.md). If one still runs, nothing is stored twice or lost:
 * its inserts into the old table during the copy are caught up after the swap, and after the swap its
 * inserts fail (the per-transaction token column is `ingest_token` now, so its `ingest_batch` is an unknown
 * column — an error even under INSERT IGNORE, which would otherwise have stored a row without its bucket).
 */

const COPY_CHUNK = 10_000
/** `EVENT_BUCKETS` as this migration knows it (a migration does not follow later code). */
const BUCKETS = 64

/** The SQL of `eventBucket` (domain/partition.ts) over a stored row; a test checks that both agree. */
const bucketOf = (t: string) =>
  sql`crc32(case when char_length(${sql.ref(`${t}.user_id`)}) > 0 then trim(trailing ' ' from ${sql.ref(`${t}.user_id`)}) else coalesce(${sql.ref(`${t}.session_id`)}, ${sql.ref(`${t}.id`)}) end) % ${sql.lit(BUCKETS)}`

const COLUMNS = 'type, occurred_at, user_id, session_id, ip, device_key, reason, envelope'

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!(await hasColumn(db, 'analytics_events', 'bucket'))) {
    const after = await resumeOrCreateNext(db)
    await copyEvents(db, {
      into: sql`(bucket, id, ${sql.raw(COLUMNS)}, ingest_token)`,
      select: sql`${bucketOf('s')}, s.id, ${sql.raw(COLUMNS)}, s.ingest_batch`,
      sourceBuckets: null,
      after,
    })
    await swap(db)
  }
  if (await tableExists(db, 'analytics_events_before_swap')) {
    // Rows an old worker stored in the old table after their range was copied (none when workers were stopped).
    await sql`insert into analytics_events (bucket, id, ${sql.raw(COLUMNS)}, ingest_token)
      select ${bucketOf('s')}, s.id, ${sql.raw(COLUMNS)}, s.ingest_batch from analytics_events_before_swap s
      where not exists (select 1 from analytics_events n where n.bucket = ${bucketOf('s')} and n.id = s.id)`.execute(
      db,
    )
    await sql`drop table analytics_events_before_swap`.execute(db)
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (await hasColumn(db, 'analytics_events', 'bucket')) {
    await sql`drop table if exists analytics_events_next`.execute(db)
    await createEventTable(db, 'analytics_events_next', 'by-id')
    // The same id in two buckets (two different events) keeps the first.
    await copyEvents(db, {
      into: sql`(id, ${sql.raw(COLUMNS)}, ingest_batch)`,
      select: sql`s.id, ${sql.raw(COLUMNS)}, s.ingest_token`,
      sourceBuckets: BUCKETS,
      after: '',
    })
    await swap(db)
  }
  await sql`drop table if exists analytics_events_before_swap`.execute(db)
}

async function hasColumn(db: Kysely<unknown>, table: string, column: string): Promise<boolean> {
  const r = await sql<{ n: number }>`select count(*) as n from information_schema.columns
    where table_schema = database() and table_name = ${table} and column_name = ${column}`.execute(db)
  return Number(r.rows[0]?.n) > 0
}

async function tableExists(db: Kysely<unknown>, table: string): Promise<boolean> {
  const r = await sql<{ n: number }>`select count(*) as n from information_schema.tables
    where table_schema = database() and table_name = ${table}`.execute(db)
  return Number(r.rows[0]?.n) > 0
}

/**
 * The id the copy resumes after: an `analytics_events_next` of this migration with its indexes complete
 * holds exactly the old rows up to its highest id (each chunk is one statement, in id order). Anything else
 * (none, or one cut short while being created) is dropped and created anew.
 */
async function resumeOrCreateNext(db: Kysely<unknown>): Promise<string> {
  const indexes = await sql<{
    n: number
  }>`select count(distinct index_name) as n from information_schema.statistics
    where table_schema = database() and table_name = 'analytics_events_next'
    and index_name in ('analytics_events_user_time', 'analytics_events_time_type')`.execute(db)
  if (Number(indexes.rows[0]?.n) === 2 && (await hasColumn(db, 'analytics_events_next', 'bucket'))) {
    const last = await sql<{ id: string | null }>`select max(id) as id from analytics_events_next`.execute(db)
    return last.rows[0]?.id ?? ''
  }
  await sql`drop table if exists analytics_events_next`.execute(db)
  await createEventTable(db, 'analytics_events_next', 'by-bucket')
  return ''
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
    .addColumn(key === 'by-bucket' ? 'ingest_token' : 'ingest_batch', 'char(16)', (c) => c.notNull())
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
 * Copies the rows of `analytics_events` (alias `s`) after id `after` into `analytics_events_next`, in chunks
 * along the source's primary key (each chunk its own statement: no transaction as large as the table): by id,
 * or bucket by bucket and by id within each.
 */
async function copyEvents(
  db: Kysely<unknown>,
  c: { into: RawBuilder<unknown>; select: RawBuilder<unknown>; sourceBuckets: number | null; after: string },
): Promise<void> {
  const buckets = c.sourceBuckets === null ? [null] : Array.from({ length: c.sourceBuckets }, (_, b) => b)
  for (const bucket of buckets) {
    const inBucket = bucket === null ? sql`` : sql`s.bucket = ${bucket} and`
    // Up: a plain INSERT (no row can collide, and IGNORE would turn data errors into warnings). Down: the
    // same id in two buckets keeps the first.
    const insert = sql.raw(c.sourceBuckets === null ? 'insert' : 'insert ignore')
    let after = bucket === null ? c.after : ''
    for (;;) {
      const end = await sql<{
        id: string
      }>`select s.id from analytics_events s where ${inBucket} s.id > ${after}
        order by s.id limit 1 offset ${COPY_CHUNK - 1}`.execute(db)
      const last = end.rows[0]?.id
      await sql`${insert} into analytics_events_next ${c.into}
        select ${c.select} from analytics_events s
        where ${inBucket} s.id > ${after} ${last === undefined ? sql`` : sql`and s.id <= ${last}`}`.execute(
        db,
      )
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
