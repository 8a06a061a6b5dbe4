import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createDb, dropDatabase, ensureDatabase, migratorFor } from '@africhain/db'
import { testDatabaseUrl } from '@africhain/db/testing'
import { newEvent, type SessionEvent } from '@africhain/events'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventBucket } from '../src/domain/partition.ts'
import { DEFAULT_RISK_RULES as rules } from '../src/domain/risk-rules.ts'
import { ingestBatch } from '../src/storage/ingest.ts'
import { migrations } from '../src/storage/migrations/index.ts'
import type { Database } from '../src/storage/tables.ts'

/**
 * Migration 004 rebuilds the event store with the key (bucket, id): rows stored before it get their bucket
 * from SQL, rows after it from `eventBucket` in the worker. They must agree for every user, session and id
 * the store can hold, or a redelivered old event would be stored (and counted) a second time.
 */
const run = promisify(execFile)
const url = testDatabaseUrl('migrations')
let db: Kysely<Database>
const migrator = () => migratorFor(db, migrations, 'analytics')

// Keys where SQL and JavaScript could part ways: PAD SPACE trailing spaces, blanks, empty strings, NULLs,
// tabs (not trimmed), leading spaces, multi-byte and astral characters, quotes.
const USERS: (string | undefined)[] = [
  'amina',
  'amina ',
  'amina   ',
  ' amina',
  '   ',
  '',
  'kofi\t',
  'Ọ̀jọ́ 👩🏾‍🎨',
  'ñandú ',
  "o'brien",
  undefined,
]
const SESSIONS: (string | undefined)[] = ['sess-1', '', ' sess ', undefined]
const PER_KEY = 460 // × 44 user/session pairs: 20,240 rows, two whole copy chunks of 10,000 and a part

function oldEvents(): SessionEvent[] {
  const out: SessionEvent[] = []
  const start = Date.parse('2026-11-20T08:00:00.000Z')
  for (let i = 0; i < PER_KEY; i++)
    for (const userId of USERS)
      for (const sessionId of SESSIONS)
        out.push(
          newEvent(
            {
              type: 'session.refreshed',
              ...(userId !== undefined ? { userId } : {}),
              ...(sessionId !== undefined ? { sessionId } : {}),
              ip: '196.201.214.10',
              data: { generation: 1 + (i % 9) },
            },
            new Date(start + 7 * out.length),
          ),
        )
  return out
}

beforeAll(async () => {
  await ensureDatabase(url)
  db = createDb<Database>({ url, connectionLimit: 4, multipleStatements: true })
})
afterAll(async () => {
  await db.destroy()
  await dropDatabase(url)
})

describe('migration 004: the event store keyed by (bucket, id)', () => {
  const events = oldEvents()

  it('gives rows stored before it the bucket the worker computes, and keeps every row', async () => {
    const r = await migrator().migrateTo('003-recent-history-in-risk-rows')
    expect(r.error).toBeUndefined()
    // Stored as a worker before migration 004 stored them (no bucket column yet).
    for (let i = 0; i < events.length; i += 1000) {
      const rows = events
        .slice(i, i + 1000)
        .map(
          (e) =>
            sql`(${e.id}, ${e.type}, ${new Date(e.occurredAt)}, ${e.userId ?? null}, ${e.sessionId ?? null}, ${e.ip ?? null}, ${'{}'}, ${'t0'})`,
        )
      await sql`insert into analytics_events (id, type, occurred_at, user_id, session_id, ip, envelope, ingest_batch)
        values ${sql.join(rows)}`.execute(db)
    }
    expect((await migrator().migrateToLatest()).error).toBeUndefined()

    const stored = await sql<{ bucket: number; id: string }>`select bucket, id from analytics_events`.execute(
      db,
    )
    expect(stored.rows).toHaveLength(events.length)
    const bucketOf = new Map(stored.rows.map((r) => [r.id, r.bucket]))
    const mismatches = events.filter((e) => bucketOf.get(e.id) !== eventBucket(e))
    expect(mismatches.map((e) => [e.userId, e.sessionId])).toEqual([])
    // The keys above spread over more than one bucket (the test would pass trivially otherwise).
    expect(new Set(bucketOf.values()).size).toBeGreaterThan(5)
  })

  it('recognises a redelivery of an event stored before it as a duplicate', async () => {
    const again = [events[0]!, events[1]!, events[events.length - 1]!, events[4321]!]
    const r = await ingestBatch(db, again, { rules, multipleStatements: true })
    expect(r).toMatchObject({ stored: 0, duplicates: again.length })
  })

  it('goes back down to the key (id) with every row, and up again', async () => {
    expect((await migrator().migrateTo('003-recent-history-in-risk-rows')).error).toBeUndefined()
    const down = await sql<{ n: number }>`select count(*) as n from analytics_events`.execute(db)
    expect(Number(down.rows[0]!.n)).toBe(events.length)
    const key = await sql<{ column_name: string }>`select column_name from information_schema.key_column_usage
      where table_schema = database() and table_name = 'analytics_events' and constraint_name = 'PRIMARY'
      order by ordinal_position`.execute(db)
    expect(key.rows.map((r) => r.column_name ?? (r as Record<string, string>).COLUMN_NAME)).toEqual(['id'])
    expect((await migrator().migrateToLatest()).error).toBeUndefined()
    const up = await sql<{ n: number }>`select count(*) as n from analytics_events`.execute(db)
    expect(Number(up.rows[0]!.n)).toBe(events.length)
  })

  it('resumes a copy killed halfway where it stopped', async () => {
    const sorted = events.map((e) => e.id).sort()
    const cut = sorted[7000]!
    // The state a kill mid-copy leaves: the old table whole, the new one holding the rows up to `cut`
    // (marked, to tell a resumed copy from one started over).
    // (Shaped as 004 leaves it: without what later migrations add, migration 008's client column.)
    await sql`create table resume_next like analytics_events`.execute(db)
    await sql`alter table resume_next drop index analytics_events_client_time, drop column client_net`.execute(
      db,
    )
    await sql`insert into resume_next select bucket, id, type, occurred_at, user_id, session_id, ip, device_key,
      reason, envelope, ingest_token from analytics_events where id <= ${cut}`.execute(db)
    await sql`update resume_next set ingest_token = 'copied-before'`.execute(db)
    expect((await migrator().migrateTo('003-recent-history-in-risk-rows')).error).toBeUndefined()
    await sql`rename table resume_next to analytics_events_next`.execute(db)

    expect((await migrator().migrateToLatest()).error).toBeUndefined()
    const r = await sql<{ n: number; marked: number; buckets: number }>`select count(*) as n,
      sum(ingest_token = 'copied-before') as marked from analytics_events`.execute(db)
    expect(Number(r.rows[0]!.n)).toBe(events.length)
    expect(Number(r.rows[0]!.marked)).toBe(7001)
    const stored = await sql<{ bucket: number; id: string }>`select bucket, id from analytics_events`.execute(
      db,
    )
    const bucketOf = new Map(stored.rows.map((row) => [row.id, row.bucket]))
    expect(events.filter((e) => bucketOf.get(e.id) !== eventBucket(e))).toEqual([])
  })

  it('catches up rows an old worker stored in the old table after their range was copied', async () => {
    const late = newEvent(
      { type: 'login.failed', userId: 'late ', ip: '41.90.64.3', data: { reason: 'invalid_credentials' } },
      new Date('2026-11-20T09:00:00.000Z'),
    )
    // The state a crash right after the swap leaves, with an old worker's rows in the old table: one it
    // stored after the copy passed its id, one that was copied.
    await sql`create table analytics_events_before_swap (id char(36) primary key, type varchar(32) not null,
      occurred_at datetime(3) not null, user_id varchar(64), session_id varchar(64), ip varchar(64),
      device_key varchar(200), platform varchar(16), reason varchar(32), envelope text not null,
      ingest_batch char(16) not null)`.execute(db)
    for (const e of [late, events[5]!])
      await sql`insert into analytics_events_before_swap (id, type, occurred_at, user_id, session_id, ip, envelope, ingest_batch)
        values (${e.id}, ${e.type}, ${new Date(e.occurredAt)}, ${e.userId ?? null}, ${e.sessionId ?? null}, ${e.ip ?? null}, '{}', 'old-worker')`.execute(
        db,
      )
    // Migrations after 005 are undone first (their down): the applied history stays a prefix of the list.
    expect((await migrator().migrateTo('005-day-bounds-in-risk-rows')).error).toBeUndefined()
    await sql`delete from analytics_migrations where name in ('004-event-store-by-bucket', '005-day-bounds-in-risk-rows')`.execute(
      db,
    )
    await sql`alter table analytics_user_risk drop column day_bounds`.execute(db)
    expect((await migrator().migrateToLatest()).error).toBeUndefined()

    const rows = await sql<{ bucket: number; id: string }>`select bucket, id from analytics_events
      where id in (${late.id}, ${events[5]!.id})`.execute(db)
    expect(rows.rows.map((r) => [r.id, r.bucket]).sort()).toEqual(
      [
        [late.id, eventBucket(late)],
        [events[5]!.id, eventBucket(events[5]!)],
      ].sort(),
    )
    const total = await sql<{ n: number }>`select count(*) as n from analytics_events`.execute(db)
    expect(Number(total.rows[0]!.n)).toBe(events.length + 1)
    const left = await sql<{ n: number }>`select count(*) as n from information_schema.tables
      where table_schema = database() and table_name like 'analytics_events_%'`.execute(db)
    expect(Number(left.rows[0]!.n)).toBe(0)
  })

  it("refuses an old worker's insert after the swap instead of storing it without its bucket", async () => {
    const e = events[0]!
    const old = sql`insert ignore into analytics_events (id, type, occurred_at, user_id, session_id, ip, envelope, ingest_batch)
      values (${`${e.id.slice(0, 35)}f`}, ${e.type}, ${new Date(e.occurredAt)}, 'someone', null, null, '{}', 'old-worker')`
    await expect(old.execute(db)).rejects.toMatchObject({ code: 'ER_BAD_FIELD_ERROR' })
  })
})

describe('the migrate command (a release step)', () => {
  const cli = fileURLToPath(new URL('../src/migrate.ts', import.meta.url))
  const target = testDatabaseUrl('migrate_cli')
  afterAll(() => dropDatabase(target))

  it('creates the database, runs every migration once, and says so', async () => {
    const env = { ...process.env, DATABASE_URL: target }
    const first = await run(process.execPath, [cli], { env })
    expect(first.stdout.trim().split('\n')).toEqual(Object.keys(migrations).map((name) => `${name}: Success`))
    const again = await run(process.execPath, [cli], { env })
    expect(again.stdout.trim()).toBe('analytics migrations: up to date')
  })
})
