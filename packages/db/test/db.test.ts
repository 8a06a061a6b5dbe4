import fc from 'fast-check'
import { sql } from 'kysely'
import mysql from 'mysql2'
import { afterAll, describe, expect, it } from 'vitest'
import {
  createDb,
  dropDatabase,
  ensureDatabase,
  migrateDown,
  migrateToLatest,
  sqlLiteral,
} from '../src/index.ts'
import { testDatabaseUrl } from '../src/testing.ts'

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

  it.each([
    ['quotes and backslashes', "O'Brien \\' \" \\\\ --"],
    ['NUL, newline, tab, ctrl-Z', 'a\u0000b\nc\td\u001ae'],
    ['an injection attempt', "x'); drop table things; --"],
    ['a placeholder and a comment', 'what? /* no */ ?'],
    ['unicode', 'Ọjà Àṣà 🧺 ñ'],
    ['empty', ''],
  ])('sqlLiteral: a string comes back unchanged from the server (%s)', async (_, value) => {
    const r = await sql.raw<{ v: string }>(`select ${sqlLiteral(value)} as v`).execute(db)
    expect(r.rows[0]!.v).toBe(value)
  })

  it('sqlLiteral: any string comes back unchanged from the server', async () => {
    const specials = ['\0', '\b', '\t', '\n', '\r', '\x1a', '"', "'", '\\', '%', '_', '?', '`']
    const arb = fc.oneof(
      fc.string(),
      fc.string({ unit: 'grapheme' }),
      fc.array(fc.constantFrom(...specials, 'a', '"{}"', 'é'), { maxLength: 12 }).map((a) => a.join('')),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(arb, { minLength: 1, maxLength: 50 }), async (values) => {
        const list = values.map((v, i) => `${sqlLiteral(v)} as v${i}`).join(', ')
        const r = await sql.raw<Record<string, string>>(`select ${list}`).execute(db)
        expect(values.map((_, i) => r.rows[0]![`v${i}`])).toEqual(values)
      }),
      { numRuns: 40 },
    )
  })

  it("sqlLiteral: the driver's escaping, double quotes apart (plain characters inside single quotes)", () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const driver = mysql.escape(s)
        // quotes escaped by the driver only because of `"`: sent plain; anything else: the driver's text
        const plain = `'${s}'`
        expect(sqlLiteral(s)).toBe(driver.replaceAll('\\"', '"') === plain ? plain : driver)
      }),
      { numRuns: 2000 },
    )
    expect(sqlLiteral('{"a":"b"}')).toBe(`'{"a":"b"}'`)
    for (const c of ['\0', '\b', '\t', '\n', '\r', '\x1a', "'", '\\'])
      expect(sqlLiteral(`a${c}"b`)).toBe(mysql.escape(`a${c}"b`))
  })

  it('sqlLiteral: numbers, booleans, null and UTC dates with milliseconds', async () => {
    const at = new Date('2026-11-27T23:59:59.123Z')
    const r = await sql
      .raw<{ n: number; f: number; b: number; z: null; d: Date }>(
        `select ${sqlLiteral(42)} as n, ${sqlLiteral(-1.5)} as f, ${sqlLiteral(true)} as b, ${sqlLiteral(null)} as z, cast(${sqlLiteral(at)} as datetime(3)) as d`,
      )
      .execute(db)
    expect({ ...r.rows[0], f: Number(r.rows[0]!.f) }).toEqual({ n: 42, f: -1.5, b: 1, z: null, d: at }) // -1.5 is a DECIMAL literal
    expect(() => sqlLiteral(Number.NaN)).toThrow(TypeError)
    expect(() => sqlLiteral({ toString: () => "'" })).toThrow(TypeError)
  })
})
