import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_RISK_RULES, type RiskRules } from '../src/domain/risk-rules.ts'
import { byTime, holderScoreAt, type RiskEvent, scoreAt } from '../src/domain/risk-score.ts'
import {
  advance,
  decodeSweep,
  emptySweep,
  encodeSweep,
  inOrder,
  leavingRange,
  type SweepState,
  sweepStateAt,
} from '../src/domain/sweep-state.ts'
import { type Rescore, rescoreUser } from '../src/domain/user-rescore.ts'

const TYPES = [
  'session.created',
  'session.refreshed',
  'session.revoked',
  'login.failed',
  'token.reuse_detected',
  'user.locked',
]
const REASONS = [null, 'logout', 'reuse_detected', 'admin', 'risk']
// A short window and rapid span (and a low threshold), so random histories cross every boundary.
const rules: RiskRules = {
  ...DEFAULT_RISK_RULES,
  windowMs: 60_000,
  rapidWindowMs: 5_000,
  rapidActivity: 3,
  suspiciousAbove: 20,
}

const event = fc.record({
  type: fc.constantFrom(...TYPES),
  at: fc.oneof(
    fc.integer({ min: 0, max: 400_000 }),
    // many events at the same millisecond, on the boundaries of window and rapid span, and long quiet
    // gaps (more than a window)
    fc.integer({ min: 0, max: 80 }).map((s) => s * 5_000),
  ),
  ip: fc.constantFrom(null, '10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'),
  deviceKey: fc.constantFrom(null, 'a', 'b', 'c', 'd'),
  reason: fc.constantFrom(...REASONS),
})

/**
 * Deliveries as the event store leaves them for the plan: batches of events, some late (older than the
 * user's latest), some delivered again (the store drops the ids it holds; here as there).
 */
const deliveries = fc
  .tuple(
    fc.array(event, { minLength: 1, maxLength: 200, size: 'max' }),
    fc.array(fc.integer({ min: 1, max: 25 }), { minLength: 1, maxLength: 40, size: 'max' }),
    fc.integer({ min: 0, max: 3 }),
    fc.infiniteStream(fc.nat()),
  )
  .map(([raw, sizes, mode, rand]) => {
    // Ids out of time order, so ties at one millisecond are ordered by id, not by arrival.
    const events: RiskEvent[] = raw.map((e, i) => ({ ...e, id: `e${(i * 7919) % 1000}-${i}` }))
    // mode 0: in time order; 1: shuffled; 2: in order with a few late ones; 3: in order, then all again
    const ordered = [...events].sort(byTime)
    let list = ordered
    if (mode === 1) list = [...events].sort(() => (rand.next().value % 3) - 1)
    if (mode === 2)
      list = ordered
        .map((e, i) => ({ e, k: i + (rand.next().value % 10 === 0 ? -20 : 0) }))
        .sort((a, b) => a.k - b.k)
        .map(({ e }) => e)
    if (mode === 3) list = [...ordered, ...ordered.slice(0, ordered.length >> 1)]
    const batches: RiskEvent[][] = []
    for (let i = 0, s = 0; i < list.length; s++) {
      const size = sizes[s % sizes.length]!
      batches.push(list.slice(i, i + size))
      i += size
    }
    return batches
  })

/** What storage/ingest.ts does per user and batch, with an in-memory event store. */
function ingest(
  batches: RiskEvent[][],
  onBatch: (result: Rescore, all: RiskEvent[], fresh: RiskEvent[]) => void,
) {
  const store = new Map<string, RiskEvent>()
  let state: SweepState | null = null
  const paths = { advanced: 0, exact: 0 }
  for (const batch of batches) {
    const fresh = [...new Map(batch.filter((e) => !store.has(e.id)).map((e) => [e.id, e])).values()]
    if (fresh.length === 0) continue
    for (const e of fresh) store.set(e.id, e)
    const all = [...store.values()].sort(byTime)
    const times = fresh.map((e) => e.at)
    const newMin = Math.min(...times)
    const isNew = state === null && store.size === fresh.length
    let result: Rescore
    if (isNew || (state && inOrder(state, newMin))) {
      // Through the column's text, as the worker stores it between batches.
      const s: SweepState = state ? decodeSweep(encodeSweep(state))! : emptySweep()
      const { from, to } = leavingRange(s, Math.max(...times), rules)
      // A little more than the range, and the new events too, as the worker's one read may return.
      const stored = all.filter((e) => e.at >= from && e.at <= to + 1)
      const r = advance(s, stored, fresh, rules)
      state = r.sweep
      result = r
      paths.advanced++
    } else {
      const latestAt = Math.max(state?.at ?? Number.NEGATIVE_INFINITY, ...times)
      const read = all.filter((e) => e.at >= newMin - rules.windowMs)
      result = rescoreUser(read, times, latestAt, rules)
      state = sweepStateAt(read, latestAt, rules)
      paths.exact++
    }
    onBatch(result, all, fresh)
  }
  return paths
}

describe('the sweep state: batches scored from the state give what the whole history gives', () => {
  it('same day maxima, latest score, factors and holder score as the per-point evaluation, batch after batch', () => {
    const seen = { advanced: 0, exact: 0 }
    fc.assert(
      fc.property(deliveries, (batches) => {
        const paths = ingest(batches, (result, all, fresh) => {
          const times = fresh.map((e) => e.at)
          const latestAt = Math.max(...all.map((e) => e.at))
          const expected = rescoreUser(all, times, latestAt, rules)
          expect(result.dayMax).toEqual(expected.dayMax)
          expect(JSON.stringify(result.current)).toBe(JSON.stringify(expected.current))
          if (expected.current) {
            // ...and the per-point evaluation itself, byReason's key order included (stored as JSON)
            const direct = scoreAt(all, latestAt, rules)
            expect(JSON.stringify(result.current!.factors)).toBe(JSON.stringify(direct.factors))
            const holder = direct.score > rules.suspiciousAbove ? holderScoreAt(all, latestAt, rules) : 0
            expect(result.current!.holderScore).toBe(holder)
          }
        })
        seen.advanced += paths.advanced
        seen.exact += paths.exact
      }),
      { numRuns: 400 },
    )
    // Both paths ran many times (the property would hold trivially for one of them otherwise).
    expect(seen.advanced).toBeGreaterThan(1000)
    expect(seen.exact).toBeGreaterThan(500)
  })

  it('a state rebuilt from the history equals the one advanced batch by batch', () => {
    fc.assert(
      fc.property(deliveries, (batches) => {
        const ordered = [...new Map(batches.flat().map((e) => [e.id, e])).values()].sort(byTime)
        let state: SweepState = emptySweep()
        const times = [...new Set(ordered.map((e) => e.at))]
        for (let i = 0; i < ordered.length; ) {
          let j = i + 1
          while (j < ordered.length && ordered[j]!.at === ordered[i]!.at) j++
          const { from, to } = leavingRange(state, ordered[j - 1]!.at, rules)
          const stored = ordered.slice(0, i).filter((e) => e.at > from && e.at <= to)
          state = advance(state, stored, ordered.slice(i, j), rules).sweep
          i = j
        }
        const rebuilt = sweepStateAt(ordered, times.at(-1)!, rules)
        const scoreOf = (s: SweepState, t: number) =>
          advance(
            decodeSweep(encodeSweep(s))!,
            [],
            [{ id: 'probe', type: 'user.locked', at: t, ip: null, deviceKey: null, reason: null }],
            rules,
          ).current
        expect(JSON.stringify(scoreOf(state, times.at(-1)! + 1))).toBe(
          JSON.stringify(scoreOf(rebuilt, times.at(-1)! + 1)),
        )
      }),
      { numRuns: 200 },
    )
  })

  it('lists reasons in the order they first appear when one millisecond holds several, delivered out of id order', () => {
    const revoke = (id: string, reason: string): RiskEvent => ({
      id,
      type: 'session.revoked',
      at: 1000,
      ip: null,
      deviceKey: null,
      reason,
    })
    const first = advance(emptySweep(), [], [revoke('c', 'admin')], rules).sweep
    const { current } = advance(
      first,
      [revoke('c', 'admin')],
      [revoke('a', 'admin'), revoke('b', 'risk')],
      rules,
    )
    const all = [revoke('a', 'admin'), revoke('b', 'risk'), revoke('c', 'admin')]
    expect(JSON.stringify(current!.factors)).toBe(JSON.stringify(scoreAt(all, 1000, rules).factors))
    expect(Object.keys(current!.factors[0]!.detail.byReason as object)).toEqual(['admin', 'risk'])
  })

  it('stays bounded by distinct keys and the last rapid span: 20,000 events over two windows', () => {
    const W = DEFAULT_RISK_RULES.windowMs
    let state = emptySweep()
    const all: RiskEvent[] = []
    let size = 0
    let current: unknown
    for (let b = 0; b < 40; b++) {
      const batch: RiskEvent[] = Array.from({ length: 500 }, (_, i) => {
        const n = b * 500 + i
        return {
          id: `b${n}`,
          type: 'session.refreshed',
          at: n * (W / 10_000),
          ip: `10.0.0.${n % 2}`,
          deviceKey: 'phone',
          reason: null,
        }
      })
      const { from, to } = leavingRange(state, batch.at(-1)!.at, DEFAULT_RISK_RULES)
      const stored = all.filter((e) => e.at > from && e.at <= to)
      const r = advance(state, stored, batch, DEFAULT_RISK_RULES)
      state = r.sweep
      current = r.current
      all.push(...batch)
      size = Math.max(size, encodeSweep(state).length)
    }
    // 10,000 events in the window; the state holds two IPs, one device and the last minute's 7 rapid times
    expect(size).toBeLessThan(1000)
    expect(JSON.stringify(current)).toBe(
      JSON.stringify({
        ...scoreAt(all, all.at(-1)!.at, DEFAULT_RISK_RULES),
        holderScore: 0,
        at: all.at(-1)!.at,
      }),
    )
  })
})
