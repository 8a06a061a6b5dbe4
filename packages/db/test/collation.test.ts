import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nonBinaryColumns, SchemaCollationError } from '../src/collation.ts'
import { assertBinarySchema, convertToBinary, createDb, dropDatabase } from '../src/index.ts'
import { testDatabaseUrl } from '../src/testing.ts'

const url = testDatabaseUrl('collation')
const name = new URL(url).pathname.slice(1)
const db = createDb<Record<string, never>>({ url, connectionLimit: 2 })

beforeAll(async () => {
  // As an operator would: the server's default collation, which folds case and accents.
  const server = new URL(url)
  server.pathname = '/'
  const root = createDb<Record<string, never>>({ url: server.toString(), connectionLimit: 1 })
  try {
    await sql`create database ${sql.id(name)} character set utf8mb4 collate utf8mb4_general_ci`.execute(root)
  } finally {
    await root.destroy()
  }
  await sql`create table people (id int primary key, email varchar(100) unique, note text, at datetime(3))`.execute(
    db,
  )
  await sql`create table tokens (hash binary(32) primary key, label varchar(20) collate utf8mb4_bin)
    character set utf8mb4 collate utf8mb4_bin`.execute(db)
  await sql`insert into people (id, email) values (1, 'amina@x.test')`.execute(db)
})
afterAll(async () => {
  await db.destroy()
  await dropDatabase(url)
})

const TABLES = ['people', 'tokens', 'not_created_yet']

describe('binary collation of our tables', () => {
  it('finds every string column and table default that folds, and nothing else', async () => {
    expect(await nonBinaryColumns(db, TABLES)).toEqual([
      { table: 'people', column: null, collation: 'utf8mb4_general_ci' },
      { table: 'people', column: 'email', collation: 'utf8mb4_general_ci' },
      { table: 'people', column: 'note', collation: 'utf8mb4_general_ci' },
    ])
    // The unique key folds: the accented address is "already taken".
    await expect(sql`insert into people (id, email) values (2, 'ÁMINA@x.test')`.execute(db)).rejects.toThrow(
      /Duplicate entry/,
    )
  })

  it('refuses such a schema with one line naming each column and its collation', async () => {
    const err = await assertBinarySchema(db, TABLES).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SchemaCollationError)
    const message = (err as Error).message
    expect(message).not.toContain('\n')
    expect(message).toContain('people (table default) is utf8mb4_general_ci')
    expect(message).toContain('people.email is utf8mb4_general_ci')
    expect(message).toContain('people.note is utf8mb4_general_ci')
    expect(message).not.toContain('tokens')
  })

  it('converts only the tables that need it, and the database default; then the check passes', async () => {
    expect(await convertToBinary(db, TABLES)).toEqual(['people'])
    expect(await nonBinaryColumns(db, TABLES)).toEqual([])
    await assertBinarySchema(db, TABLES)
    await sql`insert into people (id, email) values (2, 'ÁMINA@x.test')`.execute(db)
    await sql`create table later (v varchar(10))`.execute(db)
    expect(await nonBinaryColumns(db, ['later'])).toEqual([])
    expect(await convertToBinary(db, [...TABLES, 'later'])).toEqual([]) // nothing left to rebuild
  })
})
