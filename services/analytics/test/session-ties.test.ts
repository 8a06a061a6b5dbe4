import type { SessionEvent } from '@africhain/events'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_RISK_RULES as rules } from '../src/domain/risk-rules.ts'
import { ingestBatch } from '../src/storage/ingest.ts'
import { type TestDb, testDatabase } from './helpers/db.ts'
import { login } from './helpers/events.ts'

/**
 * Two creations of one session at the same millisecond (different event ids, different devices) merge to
 * the same row in any order and any batching: the smaller device key wins, in the worker's merge and in
 * the SQL upsert alike. Found by the ingest property test (seed 1012413649): the first one stored won.
 */
const AT = Date.parse('2026-11-26T20:00:00.000Z')
const who = (deviceId: string, platform: 'android' | 'web') => ({
  userId: 'tie-user',
  sessionId: 'tie-session',
  platform,
  deviceId,
})

describe('session rows with two creations at the same millisecond', () => {
  let t: TestDb
  beforeAll(async () => {
    t = await testDatabase('session_ties')
  })
  afterAll(async () => {
    await t?.drop()
  })

  const a = login(who('dev-0', 'android'), AT)
  const b = login(who('dev-1', 'web'), AT, true)
  const cases: { name: string; batches: SessionEvent[][] }[] = [
    { name: 'one batch, smaller key first', batches: [[a, b]] },
    { name: 'one batch, smaller key last', batches: [[b, a]] },
    { name: 'two batches, smaller key first', batches: [[a], [b]] },
    { name: 'two batches, smaller key last', batches: [[b], [a]] },
  ]
  it.each(cases)('$name: the smaller device key and its fields win', async ({ batches }) => {
    await t.truncate()
    for (const batch of batches) await ingestBatch(t.db, batch, { rules, now: () => new Date(AT + 60_000) })
    const { rows } = await sql<{ device_key: string; platform: string; remember_me: number }>`
      select device_key, platform, remember_me from analytics_sessions where session_id = 'tie-session'`.execute(
      t.db,
    )
    expect(rows).toEqual([{ device_key: 'id:dev-0', platform: 'android', remember_me: 0 }])
  })
})
