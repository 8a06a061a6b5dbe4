import { createDb } from '@africhain/db'
import type { SessionEvent } from '@africhain/events'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_RISK_RULES as rules } from '../src/domain/risk-rules.ts'
import { ingestBatch } from '../src/storage/ingest.ts'
import type { Database } from '../src/storage/tables.ts'
import { type TestDb, testDatabase } from './helpers/db.ts'
import { refresh } from './helpers/events.ts'

/**
 * Work per ingested event does not grow with the user's history (the flat-cost goal of `pnpm bench system`):
 * an in-order batch for a user with thousands of events in the window reads about as many index entries as
 * one for a user with ten. Counted by the server on the one connection that runs the batch: index lookups,
 * entries walked, and entries the engine checked against a pushed-down condition (a lookup on user_id with
 * the time bounds filtered entry by entry counts every entry of the user's window there).
 */
const HEAVY = 5_000
const T0 = Date.parse('2026-11-20T00:00:00.000Z')
let t: TestDb
let one: Kysely<Database>

beforeAll(async () => {
  t = await testDatabase('ingest_flat_reads')
  one = createDb<Database>({ url: t.url, connectionLimit: 1, multipleStatements: true })
})
afterAll(async () => {
  await one?.destroy()
  await t?.drop()
})

/** `n` refreshes of one session, spread over the last 20 hours before T0. */
function history(user: string, n: number): SessionEvent[] {
  const who = { userId: user, sessionId: `${user}-s`, ip: '10.1.0.7', deviceId: 'phone' }
  const step = (20 * 3600_000) / n
  return Array.from({ length: n }, (_, i) => refresh(who, T0 - 20 * 3600_000 + i * step, i + 1))
}

const COUNTERS = ['Handler_read_key', 'Handler_read_next', 'Handler_read_prev', 'Handler_icp_attempts']

async function entriesRead(db: Kysely<Database>): Promise<number> {
  const rows = (await sql<{ Variable_name: string; Value: string }>`show session status`.execute(db)).rows
  return rows.filter((r) => COUNTERS.includes(r.Variable_name)).reduce((a, r) => a + Number(r.Value), 0)
}

/** Index entries the server read for one in-order batch of `n` new events for each of `users`, from `at`. */
async function readsFor(users: string[], at: number, n: number): Promise<number> {
  const batch = users.flatMap((user) => {
    const who = { userId: user, sessionId: `${user}-s`, ip: '10.1.0.7', deviceId: 'phone' }
    return Array.from({ length: n }, (_, i) => refresh(who, at + i * 50, 100_000 + i))
  })
  const before = await entriesRead(one)
  await ingestBatch(one, batch, { rules, multipleStatements: true })
  return (await entriesRead(one)) - before
}

describe('ingest reads as much for a user with a long history as for a new one', () => {
  it('counts the status counters this test relies on', async () => {
    const rows = (await sql<{ Variable_name: string }>`show session status`.execute(one)).rows
    expect(rows.map((r) => r.Variable_name)).toEqual(expect.arrayContaining(COUNTERS))
  })

  it.each([
    ['one event', 1],
    ['a batch of 50', 50],
  ])('%s', async (_name, n) => {
    // Two users per batch, as a worker's batches hold many: a plan for one user alone can differ.
    const heavy = [`heavy-${n}-a`, `heavy-${n}-b`]
    const light = [`light-${n}-a`, `light-${n}-b`]
    for (const user of heavy) {
      const events = history(user, HEAVY)
      for (let i = 0; i < HEAVY; i += 1000) await ingestBatch(t.db, events.slice(i, i + 1000), { rules })
    }
    for (const user of light) await ingestBatch(t.db, history(user, 10), { rules })
    const stored = await sql<{
      n: number
    }>`select count(*) as n from analytics_events where user_id in (${sql.join(heavy)})`.execute(t.db)
    expect(Number(stored.rows[0]!.n)).toBe(2 * HEAVY)
    const lightReads = await readsFor(light, T0 + 1000, n)
    const heavyReads = await readsFor(heavy, T0 + 1000, n)
    // The join of risk rows to events walked all 5,000 entries of each heavy user's window; a range per user
    // reads a handful.
    expect(heavyReads, `heavy ${heavyReads} vs light ${lightReads}`).toBeLessThan(lightReads + 100)
  })
})
