import { createDb } from '@africhain/db'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, login, PASSWORD, startApp, type TestApp, testConfig } from './helpers/app.ts'
import { freePort, ServiceProcess } from './helpers/process.ts'

/**
 * A database an operator created with the server's default collation (utf8mb4_general_ci on MariaDB):
 * the real migrations make every table and string column binary, so identifiers that differ by accent or
 * case are different rows, and the service refuses to start on a schema where a column folds them.
 */
const config = testConfig('collation')
const dbName = new URL(config.DATABASE_URL).pathname.slice(1)
const server = new URL(config.DATABASE_URL)
server.pathname = '/'
let app: TestApp | undefined
let db: Kysely<Record<string, never>>

beforeAll(async () => {
  const root = createDb<Record<string, never>>({ url: server.toString(), connectionLimit: 1 })
  try {
    await sql`create database ${sql.id(dbName)} character set utf8mb4 collate utf8mb4_general_ci`.execute(
      root,
    )
  } finally {
    await root.destroy()
  }
  db = createDb({ url: config.DATABASE_URL, connectionLimit: 2 })
  app = await startApp(config)
})
afterAll(async () => {
  await app?.close()
  await db?.destroy()
  await cleanup(config)
})

const collations = async () =>
  (
    await sql<{ t: string; c: string; k: string }>`select table_name as t, column_name as c,
      collation_name as k from information_schema.columns
      where table_schema = database() and collation_name is not null order by t, c`.execute(db)
  ).rows

const register = (identifier: string, password = PASSWORD) =>
  app!.inject({ method: 'POST', url: '/auth/register', payload: { identifier, password } })

describe('a database created with a case- and accent-insensitive default collation', () => {
  it('ends binary after the real migrations: every table, every string column, the default', async () => {
    const columns = await collations()
    expect(columns.map((c) => `${c.t}.${c.c}`)).toContain('users.identifier')
    expect(columns.filter((c) => c.k !== 'utf8mb4_bin')).toEqual([])
    const tables = await sql<{ t: string; k: string }>`select table_name as t, table_collation as k
      from information_schema.tables where table_schema = database()`.execute(db)
    expect(tables.rows.filter((t) => t.k !== 'utf8mb4_bin')).toEqual([])
    const schema = await sql<{
      k: string
    }>`select default_collation_name as k from information_schema.schemata
      where schema_name = database()`.execute(db)
    expect(schema.rows[0]!.k).toBe('utf8mb4_bin')
  })

  it('keeps identifiers that differ by an accent apart: two accounts, each with its own password', async () => {
    const plain = await register('amina@x.test', 'plain password 1')
    const accented = await register('ámina@x.test', 'accented password 2')
    expect([plain.statusCode, accented.statusCode]).toEqual([201, 201])
    expect(accented.json().userId).not.toBe(plain.json().userId)
    await login(app!, 'amina@x.test', { password: 'plain password 1' })
    await login(app!, 'ámina@x.test', { password: 'accented password 2' })
    const wrong = await app!.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { identifier: 'ámina@x.test', password: 'plain password 1', device: { platform: 'web' } },
    })
    expect(wrong.json().code).toBe('INVALID_CREDENTIALS')
  })

  it('compares stored text byte for byte: no case or accent variant finds a row', async () => {
    await login(app!, 'amina@x.test', {
      password: 'plain password 1',
      device: { id: 'Tecno-É', platform: 'android' },
    })
    const count = async (q: ReturnType<typeof sql<{ n: number }>>) => Number((await q.execute(db)).rows[0]!.n)
    expect(await count(sql`select count(*) as n from users where identifier = 'amina@x.test'`)).toBe(1)
    expect(await count(sql`select count(*) as n from users where identifier = 'AMINA@x.test'`)).toBe(0)
    expect(await count(sql`select count(*) as n from sessions where device_id = 'Tecno-É'`)).toBe(1)
    expect(await count(sql`select count(*) as n from sessions where device_id = 'tecno-e'`)).toBe(0)
  })

  it('refuses to start on a column that folds case or accents, migrating or not', async () => {
    await app!.close()
    app = undefined
    await sql`alter table sessions modify device_name varchar(100) collate utf8mb4_general_ci`.execute(db)
    try {
      const refusal = /sessions\.device_name is utf8mb4_general_ci/
      await expect(startApp(config)).rejects.toThrow(refusal)
      await expect(startApp({ ...config, MIGRATE_ON_START: false })).rejects.toThrow(refusal)

      // As a process: a non-zero exit, and one line that says why.
      const service = new ServiceProcess('services/token/src/server.ts', {
        DATABASE_URL: config.DATABASE_URL,
        REDIS_URL: config.REDIS_URL,
        REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX!,
        TOKEN_PORT: String(await freePort()),
        MIGRATE_ON_START: 'false',
      })
      expect(await service.exited).not.toBe(0)
      const lines = service.lines.filter((l) => l.trim() !== '')
      expect(lines, lines.join('\n')).toHaveLength(1)
      expect(lines[0]).toMatch(refusal)
    } finally {
      await sql`alter table sessions modify device_name varchar(100) collate utf8mb4_bin`.execute(db)
    }
    app = await startApp(config)
  })
})
