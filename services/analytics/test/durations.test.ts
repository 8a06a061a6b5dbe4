import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BUCKETS_PER_DOUBLING,
  bucketMiddle,
  bucketOf,
  EXACT_MEDIAN_LIMIT,
  exactMedian,
  histogramMedian,
} from '../src/domain/duration-stats.ts'
import { sessionDurations } from '../src/storage/session.repository.ts'
import { type TestDb, testDatabase } from './helpers/db.ts'

const NOW = new Date('2026-11-27T12:00:00.000Z')
const SINCE = new Date(NOW.getTime() - 86_400_000)

let t: TestDb
beforeAll(async () => {
  t = await testDatabase('durations')
})
afterAll(async () => {
  await t?.drop()
})

/** Sessions created `seconds` before their end; `active` ones end in a week, so they run until now. */
async function insertSessions(durations: number[], active: boolean): Promise<void> {
  await t.truncate()
  for (let i = 0; i < durations.length; i += 2000) {
    const rows = durations.slice(i, i + 2000).map((seconds, j) => {
      const createdAt = new Date(NOW.getTime() - seconds * 1000)
      return {
        session_id: `s-${i + j}`,
        user_id: `u-${(i + j) % 97}`,
        platform: 'android',
        created_at: createdAt,
        expires_at: active ? new Date(NOW.getTime() + 7 * 86_400_000) : NOW,
      }
    })
    await t.db.insertInto('analytics_sessions').values(rows).execute()
  }
}

describe('session duration statistics', () => {
  it('exact median (odd and even counts) and the histogram bound', () => {
    expect(exactMedian([])).toBe(0)
    expect(exactMedian([1, 5, 9])).toBe(5)
    expect(exactMedian([1, 5, 9, 11])).toBe(7)
    for (const seconds of [1, 59, 3600, 86_399, 30 * 86_400]) {
      const middle = bucketMiddle(bucketOf(seconds))
      expect(Math.abs(middle - seconds) / seconds).toBeLessThan(2 ** (1 / BUCKETS_PER_DOUBLING) - 1)
    }
    expect(histogramMedian([])).toBe(0)
  })

  it('is exact on small sets (SQL, sessions active now run until now)', async () => {
    await insertSessions([60, 120, 600, 3600], true)
    const stats = await sessionDurations(t.db, NOW, SINCE)
    expect(stats.median).toBeCloseTo(360, 3)
    expect(stats.average).toBeCloseTo((60 + 120 + 600 + 3600) / 4, 3)
    expect(stats.max).toBeCloseTo(3600, 3)
  })

  it(`uses the log-scale histogram beyond ${EXACT_MEDIAN_LIMIT} sessions, within its error bound`, async () => {
    const durations = Array.from({ length: EXACT_MEDIAN_LIMIT + 2001 }, (_, i) => 30 + ((i * 7919) % 80_000))
    await insertSessions(durations, false)
    const stats = await sessionDurations(t.db, NOW, SINCE)
    const exact = exactMedian([...durations].sort((a, b) => a - b))
    expect(Math.abs(stats.median - exact) / exact).toBeLessThan(0.011)
    expect(stats.max).toBeCloseTo(Math.max(...durations), 3)
    const count = await sql<{ n: number }>`select count(*) as n from analytics_sessions`.execute(t.db)
    expect(Number(count.rows[0]!.n)).toBeGreaterThan(EXACT_MEDIAN_LIMIT)
  })
})
