import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createDb, dropDatabase } from '@africhain/db'
import { testDatabaseUrl } from '@africhain/db/testing'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Connections, openConnections } from '../src/connections.ts'
import { DEFAULT_RISK_RULES as rules } from '../src/domain/risk-rules.ts'
import { ingestBatch } from '../src/storage/ingest.ts'
import type { Database } from '../src/storage/tables.ts'
import { testConfig, testEnv } from './helpers/config.ts'
import { failedLogin, login } from './helpers/events.ts'

/**
 * A database an operator created with the server's default collation (utf8mb4_general_ci on MariaDB): the
 * real migrations make every table and string column binary, so user ids that differ by accent or case are
 * different users, and the API and worker refuse to start on a schema where a column folds them.
 */
const run = promisify(execFile)
const url = testDatabaseUrl('collation')
const env = { DATABASE_URL: url, MIGRATE_ON_START: 'true' }
let connections: Connections | undefined
let db: Kysely<Database>

beforeAll(async () => {
  const server = new URL(url)
  server.pathname = '/'
  const root = createDb<Record<string, never>>({ url: server.toString(), connectionLimit: 1 })
  try {
    await sql`create database ${sql.id(new URL(url).pathname.slice(1))} character set utf8mb4
      collate utf8mb4_general_ci`.execute(root)
  } finally {
    await root.destroy()
  }
  connections = await openConnections(testConfig(env), () => {})
  db = connections.db
})
afterAll(async () => {
  await connections?.close()
  await dropDatabase(url)
})

const count = async (q: ReturnType<typeof sql<{ n: number }>>) => Number((await q.execute(db)).rows[0]!.n)

describe('an analytics database created with a case- and accent-insensitive default collation', () => {
  it('ends binary after the real migrations: every table and string column', async () => {
    const columns = await sql<{ t: string; c: string; k: string }>`select table_name as t, column_name as c,
      collation_name as k from information_schema.columns
      where table_schema = database() and collation_name is not null`.execute(db)
    expect(columns.rows.map((c) => `${c.t}.${c.c}`)).toContain('analytics_user_risk.user_id')
    expect(columns.rows.filter((c) => c.k !== 'utf8mb4_bin')).toEqual([])
    const tables = await sql<{ t: string; k: string }>`select table_name as t, table_collation as k
      from information_schema.tables where table_schema = database()`.execute(db)
    expect(tables.rows.filter((t) => t.k !== 'utf8mb4_bin')).toEqual([])
  })

  it('keeps users whose ids differ by an accent or case apart: their own events and risk rows', async () => {
    const at = Date.now() - 60_000
    for (const userId of ['amina', 'Ámina', 'AMINA']) {
      const events = [
        login({ userId, sessionId: `s-${userId}` }, at),
        ...Array.from({ length: 5 }, (_, i) => failedLogin(userId, at + i)),
      ]
      expect(await ingestBatch(db, events, { rules })).toMatchObject({ stored: 6, duplicates: 0 })
    }
    expect(await count(sql`select count(*) as n from analytics_user_risk`)).toBe(3)
    expect(await count(sql`select count(*) as n from analytics_events where user_id = 'amina'`)).toBe(6)
    expect(await count(sql`select count(*) as n from analytics_sessions where user_id = 'Ámina'`)).toBe(1)
  })

  it('refuses to start on a column that folds case or accents, migrating or not (API and worker)', async () => {
    await sql`alter table analytics_user_risk modify factors text collate utf8mb4_general_ci not null`.execute(
      db,
    )
    try {
      const refusal = /analytics_user_risk\.factors is utf8mb4_general_ci/
      for (const MIGRATE_ON_START of ['true', 'false']) {
        await expect(openConnections(testConfig({ ...env, MIGRATE_ON_START }), () => {})).rejects.toThrow(
          refusal,
        )
      }
      // As a process: a non-zero exit, and one line that says why.
      const main = fileURLToPath(new URL('../src/server.ts', import.meta.url))
      const failed = await run(process.execPath, [main], {
        env: { ...process.env, ...testEnv({ ...env, ANALYTICS_ROLE: 'worker' }) },
        timeout: 20_000,
      }).then(
        () => undefined,
        (err: { code: number; stdout: string; stderr: string }) => err,
      )
      expect(failed?.code).not.toBe(0)
      const lines = `${failed?.stdout}${failed?.stderr}`.split('\n').filter((l) => l.trim() !== '')
      expect(lines, lines.join('\n')).toHaveLength(1)
      expect(lines[0]).toMatch(refusal)
    } finally {
      await sql`alter table analytics_user_risk modify factors text collate utf8mb4_bin not null`.execute(db)
    }
  })
})
