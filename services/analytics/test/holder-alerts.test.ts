import type { RiskAlert, SessionEvent } from '@africhain/events'
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_RISK_RULES as rules } from '../src/domain/risk-rules.ts'
import { alertTransition } from '../src/domain/user-rescore.ts'
import { ingestBatch } from '../src/storage/ingest.ts'
import { type TestDb, testDatabase } from './helpers/db.ts'
import { failedLogin, login, refresh, reuse, revoke, type Who } from './helpers/events.ts'

describe('alertTransition: crossings, and holder-score rises while suspicious', () => {
  const was = (alerted: boolean, holderScore: number) => ({ alerted, holderScore })
  const now = (score: number, holderScore: number) => ({ score, holderScore })
  it.each([
    ['crosses from no state', was(false, 0), now(90, 0), true, { alert: true, alerted: true }],
    ['stays above, holder score unchanged', was(true, 0), now(100, 0), true, { alert: false, alerted: true }],
    ['stays above, holder score rises', was(true, 0), now(100, 60), true, { alert: true, alerted: true }],
    ['stays above, holder score falls', was(true, 60), now(90, 20), true, { alert: false, alerted: true }],
    [
      'falls back to the threshold: re-armed',
      was(true, 60),
      now(50, 50),
      true,
      { alert: false, alerted: false },
    ],
    [
      'holder score rises, not suspicious',
      was(false, 0),
      now(45, 45),
      true,
      { alert: false, alerted: false },
    ],
    ['a crossing in replayed history', was(false, 0), now(90, 0), false, { alert: false, alerted: true }],
    ['a rise in replayed history', was(true, 0), now(100, 60), false, { alert: false, alerted: true }],
  ])('%s', (_, before, after, fresh, expected) => {
    expect(alertTransition(before, after, rules, fresh)).toEqual(expected)
  })
})

/** Through the real storage: the row keeps the holder score, and alerts follow the rule batch by batch. */
describe('risk alerts from ingest carry holderScore', () => {
  let t: TestDb
  beforeAll(async () => {
    t = await testDatabase('holder_alerts')
  })
  afterAll(async () => {
    await t?.drop()
  })
  beforeEach(async () => {
    await t.truncate()
  })

  const NOW = Date.parse('2026-11-27T12:00:00.000Z')
  const ingest = async (events: SessionEvent[]): Promise<RiskAlert[]> =>
    (await ingestBatch(t.db, events, { rules, now: () => new Date(NOW) })).alerts
  const row = async (userId: string) =>
    (
      await sql<{
        score: number
        holder_score: number
        alerted: number
      }>`select score, holder_score, alerted from analytics_user_risk where user_id = ${userId}`.execute(t.db)
    ).rows[0]
  /** Failed logins against `userId` from 3 IPs with 3 device ids, one a second (a burst). */
  const attack = (userId: string, from: number, n = 12): SessionEvent[] =>
    Array.from({ length: n }, (_, i) => {
      const e = failedLogin(userId, from + i * 1000, `41.90.7.${i % 3}`)
      return { ...e, device: { id: `bot-${i % 3}`, platform: 'web' } }
    })

  it('an attack alerts with holderScore 0; a later token reuse while still suspicious alerts again', async () => {
    const T = NOW - 3600_000
    const victim: Who = { userId: 'victim', sessionId: 'v1', deviceId: 'phone' }
    expect(await ingest([login(victim, T)])).toEqual([])

    const first = await ingest(attack('victim', T + 60_000))
    expect(first).toHaveLength(1)
    expect(first[0]!.data).toMatchObject({ score: 90, holderScore: 0 })
    expect(await row('victim')).toMatchObject({ score: 90, holder_score: 0 })

    // More of the same, and the victim's own refresh: nothing new for the token service.
    expect(await ingest(attack('victim', T + 120_000))).toEqual([])
    expect(await ingest([refresh(victim, T + 180_000)])).toEqual([])

    // A replayed refresh token: holder signals, while the score never left the suspicious range.
    const second = await ingest([reuse(victim, T + 240_000), revoke(victim, T + 240_001, 'reuse_detected')])
    expect(second).toHaveLength(1)
    expect(second[0]!.data).toMatchObject({ score: 100, holderScore: 60 })
    expect(await row('victim')).toMatchObject({ score: 100, holder_score: 60 })

    // The holder score did not rise again: no third alert.
    expect(await ingest([reuse(victim, T + 300_000), ...attack('victim', T + 300_001, 3)])).toEqual([])
  })

  it('holder signals alone alert with holderScore equal to score', async () => {
    const T = NOW - 3600_000
    const own = (n: number): Who => ({
      userId: 'holder',
      sessionId: `h${n}`,
      ip: `196.201.1.${n}`,
      deviceId: `own-${n}`,
    })
    const alerts = await ingest([login(own(1), T), login(own(2), T + 1000), login(own(3), T + 2000)])
    expect(alerts).toEqual([])
    // 45, not suspicious: no alert can depend on the holder score, so the row keeps 0.
    expect(await row('holder')).toMatchObject({ score: 45, holder_score: 0 })
    const [alert, ...more] = await ingest([reuse(own(1), T + 3000)])
    expect(more).toEqual([])
    expect(alert!.data).toMatchObject({ score: 85, holderScore: 85 })
    expect(await row('holder')).toMatchObject({ score: 85, holder_score: 85 })
  })
})
