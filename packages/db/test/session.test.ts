import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PIN_SESSION, SESSION_SQL_MODE } from '../src/connect.ts'
import { createDb, dropDatabase, ensureDatabase } from '../src/index.ts'
import { testDatabaseUrl } from '../src/testing.ts'
import { type QueryProxy, startQueryProxy } from './helpers/query-proxy.ts'

/**
 * Every connection of every pool runs in the session the SQL escaping assumes, whatever the server's global
 * settings: the pin is the first statement each connection sends, and a connection that cannot be pinned
 * is never used.
 */
const url = testDatabaseUrl('session')
const name = new URL(url).pathname.slice(1)
let proxy: QueryProxy

beforeAll(async () => {
  proxy = await startQueryProxy(url)
})
afterAll(async () => {
  await proxy.close()
  await dropDatabase(url)
})

type Session = { sql_mode: string; client: string; conn: string; results: string; tz: string; ac: number }
const sessionOf = (db: Kysely<unknown>) =>
  sql<Session>`select @@session.sql_mode as sql_mode, @@character_set_client as client,
    @@collation_connection as conn, @@character_set_results as results, @@session.time_zone as tz,
    @@session.autocommit as ac`.execute(db)
const PINNED: Session = {
  sql_mode: SESSION_SQL_MODE,
  client: 'utf8mb4',
  conn: 'utf8mb4_bin',
  results: 'utf8mb4',
  tz: '+00:00',
  ac: 1,
}

describe('the pinned session', () => {
  it('is what the first query on a new connection sees', async () => {
    await ensureDatabase(url)
    for (const multipleStatements of [false, true]) {
      const db = createDb<unknown>({ url, connectionLimit: 1, multipleStatements })
      try {
        expect((await sessionOf(db)).rows[0]).toEqual(PINNED)
      } finally {
        await db.destroy()
      }
    }
  })

  it('is the first statement of every connection: kysely pools, multi-statement pools, ensure and drop', async () => {
    const before = proxy.connections.length
    const other = `${name}_x`
    await ensureDatabase(proxy.url(other))
    for (const multipleStatements of [false, true]) {
      const db = createDb<unknown>({ url: proxy.url(other), connectionLimit: 3, multipleStatements })
      try {
        // Three connections held at once, each with a query of its own, one inside a transaction.
        await db.connection().execute(async (a) => {
          await db.connection().execute(async (b) => {
            await db.transaction().execute(async (trx) => {
              await Promise.all([sessionOf(a), sessionOf(b), sessionOf(trx)])
            })
          })
        })
      } finally {
        await db.destroy()
      }
    }
    await dropDatabase(proxy.url(other))
    const seen = proxy.connections.slice(before)
    expect(seen.length).toBe(1 + 3 + 3 + 1)
    for (const c of seen) {
      expect(c.queries.length).toBeGreaterThan(1)
      expect(c.queries[0]).toBe(PIN_SESSION)
      expect(c.queries.slice(1)).not.toContain(PIN_SESSION) // once per connection, not per query
    }
  })

  it('a readCommitted pool also runs its transactions READ COMMITTED; any other keeps the server default', async () => {
    await ensureDatabase(url)
    const isolation = async (db: Kysely<unknown>) => {
      // MariaDB 10.11 names it tx_isolation; MySQL 8 and later MariaDB transaction_isolation.
      const read = (v: string) => sql.raw<{ v: string }>(`select @@session.${v} as v`).execute(db)
      return (await read('tx_isolation').catch(() => read('transaction_isolation'))).rows[0]!.v
    }
    const committed = createDb<unknown>({
      url,
      connectionLimit: 2,
      multipleStatements: true,
      readCommitted: true,
    })
    const plain = createDb<unknown>({ url, connectionLimit: 1 })
    try {
      // Both connections of the pool, one inside a transaction.
      await committed.connection().execute(async (a) => {
        await committed.transaction().execute(async (trx) => {
          expect([await isolation(a), await isolation(trx)]).toEqual(['READ-COMMITTED', 'READ-COMMITTED'])
        })
      })
      expect((await sessionOf(committed)).rows[0]).toEqual(PINNED)
      expect(await isolation(plain)).not.toBe('READ-COMMITTED')
    } finally {
      await committed.destroy()
      await plain.destroy()
    }
  })

  it('refuses a connection it cannot pin: the query fails and never reaches the server', async () => {
    const db = createDb<unknown>({ url: proxy.url(name), connectionLimit: 2 })
    try {
      proxy.breakPins = true
      const before = proxy.connections.length
      await expect(sql`select 'unpinned' as v`.execute(db)).rejects.toMatchObject({
        code: 'ER_UNKNOWN_SYSTEM_VARIABLE',
      })
      await expect(sql`select 'unpinned' as v`.execute(db)).rejects.toMatchObject({
        code: 'ER_UNKNOWN_SYSTEM_VARIABLE',
      })
      const refused = proxy.connections.slice(before)
      expect(refused).toHaveLength(2) // a fresh connection each time: the refused one left the pool
      for (const c of refused) expect(c.queries).toEqual([PIN_SESSION]) // as the driver sent it
      await expect.poll(() => refused.every((c) => c.closed)).toBe(true)

      proxy.breakPins = false
      expect((await sessionOf(db)).rows[0]).toEqual(PINNED)
    } finally {
      proxy.breakPins = false
      await db.destroy()
    }
  })
})
