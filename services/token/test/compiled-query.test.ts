import { DummyDriver, Kysely, MysqlAdapter, MysqlIntrospector, MysqlQueryCompiler, sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { compileWithOneParameter } from '../src/storage/compiled-query.ts'
import type { TokenDatabase } from '../src/storage/tables.ts'

// Kysely's MySQL compiler with no connection: these tests only compile.
const db = new Kysely<TokenDatabase>({
  dialect: {
    createAdapter: () => new MysqlAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new MysqlIntrospector(k),
    createQueryCompiler: () => new MysqlQueryCompiler(),
  },
})

describe('compileWithOneParameter', () => {
  const placeholder = Buffer.alloc(32)
  const byHash = db.selectFrom('refresh_tokens').select('session_id')

  it('binds each value where the placeholder stood', () => {
    const bind = compileWithOneParameter(byHash.where('hash', '=', placeholder), placeholder)
    const hash = Buffer.alloc(32, 7)
    expect(bind(hash)).toMatchObject({
      sql: 'select `session_id` from `refresh_tokens` where `hash` = ?',
      parameters: [hash],
    })
  })

  it.each([
    ['a second parameter', byHash.where('generation', '=', 3).where('hash', '=', placeholder), 'it has 2'],
    ['none', byHash.where('hash', '=', sql<Buffer>`unhex('00')`), 'it has 0'],
    ['one that is not the placeholder', byHash.where('generation', '=', 3), 'not the placeholder'],
  ])('refuses a query with %s when it is built', (_, query, message) => {
    expect(() => compileWithOneParameter(query, placeholder)).toThrow(message)
  })
})
