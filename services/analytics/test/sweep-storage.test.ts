import type { SessionEvent } from '@africhain/events'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_RISK_RULES as rules } from '../src/domain/risk-rules.ts'
import { byTime, type RiskEvent, scoreAt } from '../src/domain/risk-score.ts'
import { decodeSweep } from '../src/domain/sweep-state.ts'
import { riskEventRows } from '../src/storage/event.repository.ts'
import { ingestBatch } from '../src/storage/ingest.ts'
import { leavingEvents } from '../src/storage/ingest-statements.ts'
import { type TestDb, testDatabase } from './helpers/db.ts'
import { login, refresh, revoke } from './helpers/events.ts'

/**
 * The sweep state on MariaDB: what a busy user's risk row holds, which stored events a batch reads, and
 * that the stored score is the per-point evaluation of everything stored.
 */
const T0 = Date.parse('2026-11-20T00:00:00.000Z')
const W = rules.windowMs
const USER = 'busy-amina'
let t: TestDb

beforeAll(async () => {
  t = await testDatabase('sweep_rows')
})
afterAll(async () => {
  await t?.drop()
})

/** `n` events of the user from `from`, `step` ms apart: refreshes from two networks, a login every 50. */
function day(from: number, n: number, step: number, tag: string): SessionEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const who = { userId: USER, sessionId: `${tag}-s${i % 4}`, ip: `10.1.${i % 2}.7`, deviceId: 'phone' }
    return i % 50 === 0 ? login(who, from + i * step) : refresh(who, from + i * step)
  })
}

async function stored(): Promise<RiskEvent[]> {
  return (await riskEventRows(t.db, [USER], new Date(0))).map((r) => r.event).sort(byTime)
}

async function riskRow() {
  const r = await sql<{ score: number; factors: string; sweep: string; last_event_at: Date }>`
    select score, factors, sweep, last_event_at from analytics_user_risk where user_id = ${USER}`.execute(
    t.db,
  )
  return r.rows[0]!
}

describe('a busy user: 10,000 events in the window', () => {
  const step = (W - 3600_000) / 10_000

  it('keeps a row of a few hundred bytes whose score is the per-point evaluation of every stored event', async () => {
    const events = day(T0, 10_000, step, 'd1')
    for (let i = 0; i < events.length; i += 500) await ingestBatch(t.db, events.slice(i, i + 500), { rules })
    const row = await riskRow()
    expect(row.sweep.length).toBeLessThan(1000)
    const all = await stored()
    expect(all).toHaveLength(10_000)
    const direct = scoreAt(all, all.at(-1)!.at, rules)
    expect(Number(row.score)).toBe(direct.score)
    expect(JSON.parse(row.factors)).toEqual(direct.factors)
  })

  it('reads, per batch, only the stored events that leave its window, from the (user, time) index', async () => {
    const last = (await riskRow()).last_event_at.getTime()
    // The next 500 events, 20 s apart: the window's start passes the first ~`n` events of the first day.
    const next = day(last + 20_000, 500, 20_000, 'd2')
    const to = new Date(Date.parse(next.at(-1)!.occurredAt) - W + rules.rapidWindowMs)
    const [stmt] = leavingEvents([USER], to, rules)
    const leaving = await sql.raw<RiskEvent>(stmt!.sql).execute(t.db)
    const expected = (await stored()).filter((e) => e.at > last - W && e.at <= to.getTime())
    expect(leaving.rows).toHaveLength(expected.length)
    expect(expected.length).toBeGreaterThan(0)
    // The batch spans 10,000 s, in which the window's start passes ~800 of the first day's events: those,
    // not the window's 10,000, are what the batch reads.
    expect(expected.length).toBeLessThan(1000)
    const plan = await sql
      .raw<{ table: string; key: string | null; type: string }>(`explain ${stmt!.sql}`)
      .execute(t.db)
    const events = plan.rows.find((r) => r.table === 'e')
    expect(events).toMatchObject({ key: 'analytics_events_user_time' })
    expect(events?.type).not.toBe('ALL')

    await ingestBatch(t.db, next, { rules })
    const all = await stored()
    const row = await riskRow()
    expect(JSON.parse(row.factors)).toEqual(scoreAt(all, all.at(-1)!.at, rules).factors)
  })

  it('forgets what left the window: after a quiet day the state holds the new events only', async () => {
    const last = (await riskRow()).last_event_at.getTime()
    const who = { userId: USER, sessionId: 'late-s', ip: '196.201.214.10', deviceId: 'laptop' }
    await ingestBatch(t.db, [login(who, last + 2 * W), revoke(who, last + 2 * W + 1000, 'admin')], { rules })
    const state = decodeSweep((await riskRow()).sweep)!
    expect([...state.all.ips.keys()]).toEqual(['196.201.214.10'])
    expect(state.all.devices.size).toBe(1)
    expect([...state.all.reasons.keys()]).toEqual(['admin'])
    expect(state.all.rapid).toHaveLength(1)
    const all = await stored()
    expect(JSON.parse((await riskRow()).factors)).toEqual(scoreAt(all, all.at(-1)!.at, rules).factors)
  })
})
