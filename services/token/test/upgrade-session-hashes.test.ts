import { randomBytes, randomUUID } from 'node:crypto'
import { createDb, dropDatabase, ensureDatabase, migratorFor } from '@africhain/db'
import { testDatabaseUrl } from '@africhain/db/testing'
import type { Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MIGRATION_TABLE, tokenMigrations } from '../src/storage/migrations/index.ts'
import type { TokenDatabase } from '../src/storage/tables.ts'

/**
 * Migration 008 adds the session row's current token hash, empty: a session written before it keeps its
 * token rows untouched (the service judges it by them until it rotates it: reuse-signed-tokens.test.ts).
 */
const url = testDatabaseUrl('upgrade_session_hashes')
let db: Kysely<TokenDatabase>
const migrator = () => migratorFor(db, tokenMigrations, MIGRATION_TABLE)

beforeAll(async () => {
  await dropDatabase(url)
  await ensureDatabase(url)
  db = createDb<TokenDatabase>({ url, connectionLimit: 2 })
  expect((await migrator().migrateTo('007-risk-alert-records')).error).toBeUndefined()
})
afterAll(async () => {
  await db?.destroy()
  await dropDatabase(url)
})

type Old = { name: string; generation: number; rows: { generation: number; signed: number }[] }
const OLD: Old[] = [
  {
    name: 'signed, rotated twice',
    generation: 3,
    rows: [
      { generation: 2, signed: 1 },
      { generation: 3, signed: 1 },
    ],
  },
  { name: 'legacy, never rotated', generation: 1, rows: [{ generation: 1, signed: 0 }] },
  {
    name: 'legacy history, then signed',
    generation: 4,
    rows: [
      { generation: 1, signed: 0 },
      { generation: 2, signed: 0 },
      { generation: 3, signed: 1 },
      { generation: 4, signed: 1 },
    ],
  },
  { name: 'no row at its generation', generation: 5, rows: [{ generation: 4, signed: 1 }] },
]

describe('migration 008: the current token hash on the session row, added empty', () => {
  it.each(OLD.map((o) => [o.name, o] as const))('a session stored before it (%s)', async (_, old) => {
    // Each case on its own database state: down to 007, seed, up again.
    expect((await migrator().migrateTo('007-risk-alert-records')).error).toBeUndefined()
    const userId = randomUUID()
    const now = new Date()
    await db
      .insertInto('users')
      .values({ id: userId, identifier: `u-${userId}`, password_hash: 'x', roles: 'user', created_at: now })
      .execute()
    const id = randomBytes(16).toString('base64url')
    await db
      .insertInto('sessions')
      .values({
        id,
        user_id: userId,
        device_id: null,
        device_platform: 'web',
        device_name: null,
        user_agent: null,
        ip: '127.0.0.1',
        remember_me: 0,
        created_at: now,
        last_active_at: now,
        expires_at: new Date(now.getTime() + 86_400_000),
        revoked_at: null,
        revoked_reason: null,
        generation: old.generation,
        rotated_at: null,
        successor_enc: null,
        previous_hash: null,
      } as never)
      .execute()
    const hashes = old.rows.map(() => randomBytes(32))
    await db
      .insertInto('refresh_tokens')
      .values(old.rows.map((r, i) => ({ hash: hashes[i]!, session_id: id, created_at: now, ...r })))
      .execute()
    expect((await migrator().migrateToLatest()).error).toBeUndefined()
    const after = await db
      .selectFrom('sessions')
      .select('current_hash')
      .where('id', '=', id)
      .executeTakeFirstOrThrow()
    expect(after.current_hash).toBeNull()
    const rows = await db
      .selectFrom('refresh_tokens')
      .select(['hash', 'generation'])
      .where('session_id', '=', id)
      .orderBy('generation')
      .execute()
    expect(rows.map((r) => [Buffer.from(r.hash), r.generation])).toEqual(
      old.rows.map((r, i) => [hashes[i], r.generation]),
    )
  })
})
