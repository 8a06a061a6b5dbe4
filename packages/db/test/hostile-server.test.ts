import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HostileMariadb, startHostileMariadb } from '../../../infra/scripts/hostile-mariadb.ts'
import { createDb, ensureDatabase, sqlLiteral } from '../src/index.ts'
import { testDatabaseUrl } from '../src/testing.ts'

/**
 * A private MariaDB whose global sql_mode has NO_BACKSLASH_ESCAPES and ANSI_QUOTES, whose collation folds
 * case and accents, in UTC+05:30 with autocommit off: the pinned session makes the driver's escaping, our
 * `sqlLiteral` and the schema defaults mean what they mean on a default server.
 */
let server: HostileMariadb
let url: string
let db: Kysely<{ things: { id: number; v: string } }>
let multi: typeof db

beforeAll(async () => {
  server = await startHostileMariadb()
  const base = new URL(server.url)
  base.pathname = new URL(testDatabaseUrl('hostile')).pathname
  url = base.toString()
  await ensureDatabase(url)
  db = createDb({ url, connectionLimit: 2 })
  multi = createDb({ url, connectionLimit: 2, multipleStatements: true })
  await sql`create table things (id int primary key, v text not null)`.execute(db)
}, 60_000)
afterAll(async () => {
  await db?.destroy()
  await multi?.destroy()
  await server?.stop()
})

const NASTY = [
  "O'Brien \\' \\\\ \" --",
  "x'); drop table things; --",
  "\\'; drop table things; -- '",
  'a\u0000b\nc\r\td\u001ae\b',
  '{"kid":"k1","x":"a\\"b"}',
  'Ọjà Àṣà 🧺 ñ',
]

describe('on a server with hostile global settings', () => {
  it('stores bound parameters byte for byte, on a multi-statement pool too', async () => {
    for (const [i, v] of NASTY.entries()) {
      await sql`insert into things (id, v) values (${i}, ${v}); select 1`.execute(multi)
    }
    const rows = await db.selectFrom('things').select(['id', 'v']).orderBy('id').execute()
    expect(rows.map((r) => r.v)).toEqual(NASTY) // and the table is still there
  })

  it('reads sqlLiteral text back unchanged', async () => {
    const list = NASTY.map((v, i) => `${sqlLiteral(v)} as v${i}`).join(', ')
    const r = await sql.raw<Record<string, string>>(`select ${list}`).execute(multi)
    expect(NASTY.map((_, i) => r.rows[0]![`v${i}`])).toEqual(NASTY)
  })

  it('compares text byte for byte, keeps NOW() in UTC, and commits a write outside a transaction', async () => {
    const r = await sql<{ same: number; skew: number }>`select 'ámina' = 'amina' as same,
      timestampdiff(minute, utc_timestamp(), now()) as skew`.execute(db)
    expect(r.rows[0]).toEqual({ same: 0, skew: 0 })
    const schema = await sql<{
      c: string
    }>`select default_collation_name as c from information_schema.schemata
      where schema_name = database()`.execute(db)
    // ensureDatabase creates it as an operator would, with the server's collation; migrations pin theirs.
    expect(schema.rows[0]!.c).toBe('utf8mb4_general_ci')
    await sql`insert into things (id, v) values (100, 'committed')`.execute(db)
    const other = createDb<{ things: { id: number; v: string } }>({ url, connectionLimit: 1 })
    try {
      expect(await other.selectFrom('things').select('v').where('id', '=', 100).execute()).toEqual([
        { v: 'committed' },
      ])
    } finally {
      await other.destroy()
    }
  })
})
