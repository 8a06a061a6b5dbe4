import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_RISK_RULES, type RiskRules } from '../src/domain/risk-rules.ts'
import { byTime, type RiskEvent, scoreAt } from '../src/domain/risk-score.ts'
import { scoresAt } from '../src/domain/risk-sweep.ts'
import { rescoreUser } from '../src/domain/user-rescore.ts'

const TYPES = [
  'session.created',
  'session.refreshed',
  'session.revoked',
  'login.failed',
  'token.reuse_detected',
  'user.locked',
]
const REASONS = [null, 'logout', 'reuse_detected', 'admin', 'risk']
// A short window and rapid span, so random histories cross every boundary many times.
const rules: RiskRules = { ...DEFAULT_RISK_RULES, windowMs: 60_000, rapidWindowMs: 5_000, rapidActivity: 3 }

const event = fc.record({
  id: fc.integer({ min: 0, max: 1000 }).map((i) => `e${i}`),
  type: fc.constantFrom(...TYPES),
  at: fc.oneof(
    fc.integer({ min: 0, max: 150_000 }),
    fc.integer({ min: 0, max: 30 }).map((s) => s * 5_000),
  ),
  ip: fc.constantFrom(null, '10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'),
  deviceKey: fc.constantFrom(null, 'a', 'b', 'c', 'd'),
  reason: fc.constantFrom(...REASONS),
})
/** Histories as the store holds them: one event per id, sorted by time. */
const history = fc
  .array(event, { maxLength: 300 })
  .map((list) => [...new Map(list.map((e) => [e.id, e])).values()].sort(byTime) as RiskEvent[])

describe('scoresAt: one sweep gives scoreAt at every point', () => {
  it('matches scoreAt at ascending points, boundaries included', () => {
    fc.assert(
      fc.property(
        history,
        fc.array(fc.integer({ min: -1000, max: 250_000 }), { maxLength: 60 }),
        (h, raw) => {
          const points = [...raw, ...h.map((e) => e.at), ...h.map((e) => e.at + rules.windowMs)].sort(
            (a, b) => a - b,
          )
          const swept = scoresAt(h, points, rules)
          expect(swept).toEqual(points.map((t) => scoreAt(h, t, rules)))
          // Same key order in byReason as the direct computation (it is stored as JSON).
          expect(JSON.stringify(swept)).toBe(JSON.stringify(points.map((t) => scoreAt(h, t, rules))))
        },
      ),
      { numRuns: 300 },
    )
  })

  // Cases random histories rarely hit: a rapid burst cut by the window's start, and a reason whose first
  // event left the window while a later one stayed (byReason's order then follows the window, not history).
  const at = (t: number, type: string, over: Partial<RiskEvent> = {}): RiskEvent => ({
    id: `x${t}-${type}-${over.reason ?? ''}`,
    type,
    at: t,
    ip: null,
    deviceKey: null,
    reason: null,
    ...over,
  })
  it.each([
    {
      case: 'a rapid burst straddling the window start',
      events: [
        ...[0, 100, 200, 300, 400, 4_950, 5_000].map((t) => at(t, 'session.refreshed')),
        ...[60_100, 60_150, 60_200, 60_250, 60_300, 64_000].map((t) => at(t, 'login.failed')),
      ],
    },
    {
      case: 'a reason that left the window before another reason',
      events: [
        at(0, 'session.revoked', { reason: 'admin' }),
        at(10_000, 'session.revoked', { reason: 'risk' }),
        at(20_000, 'session.revoked', { reason: 'admin' }),
        at(70_000, 'session.revoked', { reason: 'reuse_detected' }),
      ],
    },
  ])('$case: the same scores at every 50 ms', ({ events }) => {
    const sorted = [...events].sort(byTime)
    const points = Array.from({ length: 3_000 }, (_, i) => i * 50)
    expect(JSON.stringify(scoresAt(sorted, points, rules))).toBe(
      JSON.stringify(points.map((t) => scoreAt(sorted, t, rules))),
    )
  })

  it('rescoreUser gives the per-point maxima and the latest score of a direct evaluation', () => {
    fc.assert(
      fc.property(history, fc.integer({ min: 1, max: 20 }), (h, k) => {
        fc.pre(h.length > 0)
        const fresh = h.slice(-k)
        const newTimes = fresh.map((e) => e.at)
        const latestAt = h.at(-1)!.at
        const { dayMax, current } = rescoreUser(h, newTimes, latestAt, rules)
        const minNew = Math.min(...newTimes)
        const maxNew = Math.max(...newTimes)
        let best = -1
        for (const e of h)
          if (e.at >= minNew && e.at < maxNew + rules.windowMs)
            best = Math.max(best, scoreAt(h, e.at, rules).score)
        expect(Math.max(-1, ...dayMax.values())).toBe(best)
        expect(current?.score).toBe(scoreAt(h, latestAt, rules).score)
        expect(current?.factors).toEqual(scoreAt(h, latestAt, rules).factors)
      }),
      { numRuns: 300 },
    )
  })

  it('a busy user: 20,000 events in the window and 500 new ones score in well under a second', () => {
    const h: RiskEvent[] = Array.from({ length: 20_500 }, (_, i) => ({
      id: `b${i}`,
      type: 'session.refreshed',
      at: i * 4_000,
      ip: `10.0.0.${i % 2}`,
      deviceKey: 'phone',
      reason: null,
    }))
    const newTimes = h.slice(-500).map((e) => e.at)
    const begun = performance.now()
    const { current } = rescoreUser(h, newTimes, h.at(-1)!.at, DEFAULT_RISK_RULES)
    const ms = performance.now() - begun
    expect(current?.factors.map((f) => f.code)).toEqual(['RAPID_ACTIVITY'])
    // The per-point evaluation took ~20,000 × 500 steps here (seconds); the sweep is linear.
    expect(ms).toBeLessThan(1000)
  })
})
