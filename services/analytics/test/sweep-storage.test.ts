import { newEvent, type SessionEvent } from '@africhain/events'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IngestPlan, RiskRow } from '../src/domain/ingest-plan.ts'
import { DISTINCT_CAP, RAPID_CAP, DEFAULT_RISK_RULES as rules } from '../src/domain/risk-rules.ts'
import { byTime, isRapid, type RiskEvent, scoreAt } from '../src/domain/risk-score.ts'
import { decodeSweep, MAX_SWEEP_BYTES } from '../src/domain/sweep-encoding.ts'
import type { SweepState } from '../src/domain/sweep-state.ts'
import { riskEventRows } from '../src/storage/event.repository.ts'
import { ingestBatch } from '../src/storage/ingest.ts'
import { leavingEvents, ROWS_PER_STATEMENT } from '../src/storage/ingest-statements.ts'
import { updateRisk } from '../src/storage/risk-statements.ts'
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

async function stored(user = USER): Promise<RiskEvent[]> {
  return (await riskEventRows(t.db, [user], new Date(0))).map((r) => r.event).sort(byTime)
}

async function riskRow(user = USER) {
  const r = await sql<{
    score: number
    factors: string
    sweep: string
    last_event_at: Date
    evaluated_at: Date
  }>`
    select score, factors, sweep, last_event_at, evaluated_at from analytics_user_risk where user_id = ${user}`.execute(
    t.db,
  )
  return r.rows[0]!
}

/** A refused login for `userId` as the token service emits it: the client's own device id, its IP. */
function strangerFailure(userId: string, at: number, ip: string, deviceId: string): SessionEvent {
  return newEvent(
    {
      type: 'login.failed',
      userId,
      ip,
      userAgent: 'curl/8',
      device: { platform: 'web', id: deviceId },
      data: { reason: 'locked' },
    },
    new Date(at),
  )
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
    expect(held(state)).toEqual({
      ips: ['196.201.214.10'],
      devices: ['id:laptop'],
      reasons: ['admin'],
      rapid: 1,
    })
    const all = await stored()
    expect(JSON.parse((await riskRow()).factors)).toEqual(scoreAt(all, all.at(-1)!.at, rules).factors)
  })
})

/** What a state holds of its window: its views' keys and its tail's (the events after its checkpoint). */
function held(s: SweepState) {
  const keys = (view: Iterable<string>, of: (e: RiskEvent) => string | null) => [
    ...new Set([...view, ...s.tail.flatMap((e) => (of(e) === null ? [] : [of(e)!]))]),
  ]
  return {
    ips: keys(s.all.ips.keys(), (e) => e.ip),
    devices: keys(s.all.devices.keys(), (e) => e.deviceKey),
    reasons: keys(s.all.reasons.keys(), (e) =>
      e.type === 'session.revoked' && e.reason !== 'logout' ? e.reason : null,
    ),
    rapid: s.all.rapid.length + s.tail.filter(isRapid).length,
  }
}

describe('a device id the database stores differently from memory', () => {
  // The login body's device.id is any 1..128-char JSON string; "\ud800" is valid JSON. utf8mb4 stores a lone
  // surrogate as U+FFFD; the facts are made well-formed the same way, so memory and the store agree.
  it.each([
    ['a lone high surrogate inside', 'a\uD800b'],
    ['a lone low surrogate', 'x\uDC00'],
    ['a lone high surrogate at the end', 'tail\uD83D'],
  ])('%s: the score after it left the window is the per-point evaluation', async (_, deviceId) => {
    const user = `victim-${Buffer.from(deviceId).toString('hex').slice(0, 12)}`
    await ingestBatch(t.db, [strangerFailure(user, T0, '41.90.1.1', deviceId)], { rules })
    const who = { userId: user, sessionId: 's1', ip: '196.201.214.10', deviceId: 'phone' }
    // A day and a second later: the failed login leaves the window in this in-order batch.
    await ingestBatch(t.db, [login(who, T0 + W + 1000)], { rules })
    const state = decodeSweep((await riskRow(user)).sweep)!
    expect(held(state).devices).toEqual(['id:phone'])
    const all = await stored(user)
    expect(JSON.parse((await riskRow(user)).factors)).toEqual(scoreAt(all, all.at(-1)!.at, rules).factors)
  })

  it('the same ill-formed id again after the row was rebuilt from the store is one device', async () => {
    const user = 'victim-again'
    const id = 'a\uD800b'
    await ingestBatch(t.db, [strangerFailure(user, T0 + 10_000, '41.90.1.1', id)], { rules })
    // A late event: the state is rebuilt from the store (which holds U+FFFD), then the raw id comes again.
    await ingestBatch(t.db, [strangerFailure(user, T0, '41.90.1.2', 'other')], { rules })
    await ingestBatch(t.db, [strangerFailure(user, T0 + 20_000, '41.90.1.3', id)], { rules })
    const all = await stored(user)
    const factors = JSON.parse((await riskRow(user)).factors)
    expect(factors).toEqual(scoreAt(all, all.at(-1)!.at, rules).factors)
    expect(factors.find((f: { code: string }) => f.code === 'MULTIPLE_IPS').detail).toEqual({
      distinctIps: 3,
    })
    expect(factors.find((f: { code: string }) => f.code === 'MULTIPLE_DEVICES')).toBeUndefined()
  })
})

describe('a stranger cannot grow the victim row past what the packet takes', () => {
  // Refused logins (reason `locked` once the account is locked) with a distinct address and a 128-character
  // device id each: before the cap the state kept one entry per address and per id of the window (~184 B a
  // refused login), until the row passed max_allowed_packet and every write for the user failed.
  const ipOf = (i: number) =>
    `2001:0db8:85a3:${(i >> 16).toString(16).padStart(4, '0')}:0000:8a2e:${(i & 0xffff).toString(16).padStart(4, '0')}:7334`
  const idOf = (i: number) => `${i}`.padStart(128, 'z')

  it('100,000 refused logins from distinct clients in one window: a small row, every batch stored, the takeover scored', async () => {
    const user = 'victim-grown'
    const n = 100_000
    const step = (W - 600_000) / n
    for (let b = 0; b < n; b += 10_000) {
      const batch: SessionEvent[] = []
      for (let k = b; k < b + 10_000; k++)
        batch.push(strangerFailure(user, T0 + Math.floor(k * step), ipOf(k), idOf(k)))
      await ingestBatch(t.db, batch, { rules })
    }
    expect(Buffer.byteLength((await riskRow(user)).sweep)).toBeLessThan(64 * 1024)
    // The attacker's own successful login, from a new address and device: it is scored (and alerts).
    const who = {
      userId: user,
      sessionId: 's1',
      ip: '2001:0db8:ffff:ffff:ffff:ffff:ffff:ffff',
      deviceId: idOf(-1),
    }
    const takeover = T0 + Math.floor(n * step) + 1
    await ingestBatch(t.db, [login(who, takeover)], { rules })
    const row = await riskRow(user)
    expect(row.evaluated_at.getTime()).toBe(takeover)
    expect(Buffer.byteLength(row.sweep)).toBeLessThan(64 * 1024)
    const factors = JSON.parse(row.factors) as { code: string; detail: unknown }[]
    const detail = (code: string) => factors.find((f) => f.code === code)?.detail
    expect(detail('MULTIPLE_IPS')).toEqual({ distinctIps: DISTINCT_CAP })
    expect(detail('MULTIPLE_DEVICES')).toEqual({ distinctDevices: DISTINCT_CAP })
    expect(detail('FAILED_LOGINS')).toEqual({ failedLogins: n })
    const all = await stored(user)
    expect(all).toHaveLength(n + 1)
    expect(factors).toEqual(scoreAt(all, takeover, rules).factors)
    expect(Number(row.score)).toBeGreaterThan(rules.suspiciousAbove)
  }, 300_000)
})

describe('a burst does not grow the row either', () => {
  // The rapid count is counted up to RAPID_CAP (risk-rules.ts): before the cap the state kept the time of
  // every rapid event of the last minute, so 15,000 refreshes in a minute were a ~50 KB row rewritten by
  // every batch, and the worker's CPU per event grew with the burst.
  it.each([
    ['a refresh loop: 30,000 refreshes in 6 s', 'burst-loop', 30_000, 6_000],
    ['a short burst: 300 refreshes in 1 s', 'burst-short', 300, 1_000],
  ])(
    '%s, in batches of 2,000: a small row, the count capped, the per-point evaluation',
    async (_, user, n, span) => {
      const who = { userId: user, sessionId: `${user}-s`, ip: '10.1.0.7', deviceId: 'phone' }
      const events = Array.from({ length: n }, (_, i) => refresh(who, T0 + Math.floor((i * span) / n)))
      for (let b = 0; b < n; b += 2_000) await ingestBatch(t.db, events.slice(b, b + 2_000), { rules })
      const row = await riskRow(user)
      // The views stay a few hundred bytes; the rest is the tail, at most TAIL_EVENTS events (sweep-state.ts).
      const kept = JSON.parse(row.sweep) as { all: unknown; holder: unknown }
      expect(JSON.stringify(kept.all).length).toBeLessThan(4096)
      expect(JSON.stringify(kept.holder).length).toBeLessThan(4096)
      expect(Buffer.byteLength(row.sweep)).toBeLessThan(64 * 1024)
      const state = decodeSweep(row.sweep)!
      expect(state.all.rapid.length).toBeLessThanOrEqual(RAPID_CAP)
      const factors = JSON.parse(row.factors) as { code: string; detail: { maxEvents: number } }[]
      const rapid = factors.find((f) => f.code === 'RAPID_ACTIVITY')!
      expect(rapid.detail.maxEvents).toBe(Math.min(n, RAPID_CAP))
      const all = await stored(user)
      expect(all).toHaveLength(n)
      expect(factors).toEqual(scoreAt(all, all.at(-1)!.at, rules).factors)
    },
    120_000,
  )
})

describe('risk upserts stay far inside max_allowed_packet', () => {
  const row = (i: number, sweep: string | null): RiskRow => ({
    userId: `u${i}`,
    score: 0,
    holderScore: 0,
    factors: [],
    evaluatedAt: T0,
    lastEventAt: T0,
    alerted: false,
    alertedAt: null,
    sweep,
    dayBounds: new Map(),
  })
  const plan = (rows: RiskRow[]): IngestPlan => ({
    sessions: [],
    counters: [],
    dayMaxima: [],
    newRisk: [],
    changedRisk: rows,
    historyOnly: [],
    alerts: [],
    unkeptStates: [],
  })

  it('cuts by state size as well as by rows: ten states of the largest size are several statements', async () => {
    const big = `"${'\u00e9'.repeat(MAX_SWEEP_BYTES / 2 - 1)}"`
    const stmts = updateRisk(plan(Array.from({ length: 10 }, (_, i) => row(i, big))))
    expect(stmts.length).toBeGreaterThan(1)
    for (const s of stmts) expect(Buffer.byteLength(s.sql)).toBeLessThan(8 << 20)
    expect(updateRisk(plan(Array.from({ length: 2500 }, (_, i) => row(i, null))))).toHaveLength(
      Math.ceil(2500 / ROWS_PER_STATEMENT),
    )
    const [packet] = (await sql<{ p: number }>`select @@max_allowed_packet as p`.execute(t.db)).rows
    for (const s of stmts) expect(Buffer.byteLength(s.sql)).toBeLessThan(Number(packet!.p))
  })
})
