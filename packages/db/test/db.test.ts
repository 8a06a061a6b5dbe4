import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import {
  createDb,
  dropDatabase,
  ensureDatabase,
  migrateDown,
  migrateToLatest,
  testDatabaseUrl,
} from '../src/index.ts'

const url = testDatabaseUrl('db')

describe('db plumbing', () => {
  const db = createDb<Record<string, never>>({ url })
  afterAll(async () => {
    await db.destroy()
    await dropDatabase(url)
  })

  it('creates the database, migrates up and down under its own history table', async () => {
    await ensureDatabase(url)
    await ensureDatabase(url) // idempotent
    const migrations = {
      '001_things': {
        up: async (d: typeof db) => {
          await d.schema
            .createTable('things')
            .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
            .execute()
        },
        down: async (d: typeof db) => {
          await d.schema.dropTable('things').execute()
        },
      },
    }
    const up = await migrateToLatest(db, migrations, 'demo')
    expect(up.results?.map((r) => r.status)).toEqual(['Success'])
    const tables = await sql<{
      n: string
    }>`select table_name as n from information_schema.tables where table_schema = database() order by n`.execute(
      db,
    )
    expect(tables.rows.map((r) => r.n)).toEqual(['demo_migrations', 'demo_migrations_lock', 'things'])
    await migrateDown(db, migrations, 'demo')
    const after = await sql<{
      n: string
    }>`select table_name as n from information_schema.tables where table_schema = database() and table_name = 'things'`.execute(
      db,
    )
    expect(after.rows).toHaveLength(0)
  })

  it('refuses a database name that is not a plain identifier', async () => {
    await expect(ensureDatabase('mysql://root@127.0.0.1:3306/x`;drop')).rejects.toThrow(/plain identifier/)
  })
})
