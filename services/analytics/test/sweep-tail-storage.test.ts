import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_RISK_RULES as rules } from '../src/domain/risk-rules.ts'
import { byTime, scoreAt } from '../src/domain/risk-score.ts'
import { riskEventRows } from '../src/storage/event.repository.ts'
import { ingestBatch } from '../src/storage/ingest.ts'
import { type TestDb, testDatabase } from './helpers/db.ts'
import { refresh, revoke } from './helpers/events.ts'

/**
 * (storage/ingest.ts `leavingTo`) A batch late by less than TAIL_MS is scored from the state, its tail
 * walked on to the user's latest event; the stored events it reads stop at the batch's own latest event less
 * a window plus a rapid span. A rapid burst just after the latest window's start is then missing from the
 * walk's `cut`, and the risk row's score drops it.
 */
const T0 = Date.parse('2026-11-20T00:00:00.000Z')
const W = rules.windowMs
const R = rules.rapidWindowMs
let t: TestDb

beforeAll(async () => {
  t = await testDatabase('sweep_tail_storage')
})
afterAll(async () => {
  await t?.drop()
})

const scoreOf = async (user: string) =>
  (
    await sql<{
      score: number
      factors: string
    }>`select score, factors from analytics_user_risk where user_id = ${user}`.execute(t.db)
  ).rows[0]!

describe('the risk row after a late batch is the per-point evaluation of every stored event', () => {
  it.each([
    ['800 ms late', 900, 100],
    ['999 ms late', 999, 0],
  ])('%s', async (name, latestAfterW, lateAfterW) => {
    const user = `late-${lateAfterW}`
    const who = { userId: user, sessionId: 's1', ip: '10.1.0.7', deviceId: 'phone' }
    // A burst of refreshes (above rapidActivity) just inside the window that ends at the latest event.
    const burst = Array.from({ length: rules.rapidActivity + 1 }, (_, i) =>
      refresh(who, T0 + R + lateAfterW + 100 + i * 40),
    )
    await ingestBatch(t.db, burst, { rules })
    await ingestBatch(t.db, [revoke(who, T0 + W + latestAfterW, 'logout')], { rules })
    // In order so far: the row holds the burst's RAPID_ACTIVITY.
    expect((await scoreOf(user)).score).toBe(25)
    await ingestBatch(t.db, [revoke({ ...who, sessionId: 's2' }, T0 + W + lateAfterW, 'logout')], { rules })
    const all = (await riskEventRows(t.db, [user], new Date(0))).map((r) => r.event).sort(byTime)
    const latest = all.at(-1)!.at
    expect(latest).toBe(T0 + W + latestAfterW)
    const row = await scoreOf(user)
    const expected = scoreAt(all, latest, rules)
    expect(expected.score, name).toBeGreaterThan(0)
    expect({ score: row.score, factors: JSON.parse(row.factors) }).toEqual({
      score: expected.score,
      factors: expected.factors,
    })
  })
})
