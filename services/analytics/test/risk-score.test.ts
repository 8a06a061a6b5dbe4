import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_RISK_RULES as rules } from '../src/domain/risk-rules.ts'
import {
  assess,
  holderScoreAt,
  holderScoreOf,
  isHolderEvent,
  maxInSpan,
  type RiskEvent,
  scoreAt,
  scoreEvents,
} from '../src/domain/risk-score.ts'

const T0 = Date.parse('2026-11-27T10:00:00.000Z')
let n = 0
function ev(type: string, over: Partial<RiskEvent> = {}): RiskEvent {
  n++
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    type,
    at: T0 + n * 1000 * 120, // two minutes apart: never "rapid" unless a case says so
    ip: null,
    deviceKey: null,
    reason: null,
    ...over,
  }
}
const times = (k: number, type: string, over: (i: number) => Partial<RiskEvent> = () => ({})) =>
  Array.from({ length: k }, (_, i) => ev(type, over(i)))

type Case = { name: string; events: () => RiskEvent[]; factors: string[]; score: number }

const cases: Case[] = [
  { name: 'no events', events: () => [], factors: [], score: 0 },
  {
    name: 'MULTIPLE_IPS fires at 3 distinct IPs',
    events: () => times(3, 'session.refreshed', (i) => ({ ip: `10.0.0.${i}` })),
    factors: ['MULTIPLE_IPS'],
    score: 30,
  },
  {
    name: 'MULTIPLE_IPS stays quiet at 2 distinct IPs (repeats do not count)',
    events: () => times(6, 'session.refreshed', (i) => ({ ip: `10.0.0.${i % 2}` })),
    factors: [],
    score: 0,
  },
  {
    name: 'RAPID_ACTIVITY fires at 11 logins/refreshes/failures within 60 s',
    events: () =>
      times(11, 'session.refreshed', (i) => ({
        at: T0 + i * 5000,
        type: i % 3 === 0 ? 'session.created' : 'session.refreshed',
      })),
    factors: ['RAPID_ACTIVITY'],
    score: 25,
  },
  {
    name: 'RAPID_ACTIVITY stays quiet at exactly 10 within 60 s',
    events: () => times(10, 'session.refreshed', (i) => ({ at: T0 + i * 5000 })),
    factors: [],
    score: 0,
  },
  {
    name: 'RAPID_ACTIVITY ignores types other than login, refresh and failed login',
    events: () => times(20, 'session.revoked', (i) => ({ at: T0 + i * 1000, reason: 'logout' })),
    factors: [],
    score: 0,
  },
  {
    name: 'RAPID_ACTIVITY: 11 events spread over exactly 60 s are not "within" 60 s',
    events: () => times(11, 'session.refreshed', (i) => ({ at: T0 + i * 6000 })),
    factors: [],
    score: 0,
  },
  {
    name: 'TOKEN_REVOCATIONS fires on one non-logout revocation',
    events: () => [ev('session.revoked', { reason: 'admin' })],
    factors: ['TOKEN_REVOCATIONS'],
    score: 20,
  },
  {
    name: 'TOKEN_REVOCATIONS ignores logouts',
    events: () => times(3, 'session.revoked', () => ({ reason: 'logout' })),
    factors: [],
    score: 0,
  },
  {
    name: 'MULTIPLE_DEVICES fires at 3 distinct devices',
    events: () => times(3, 'session.created', (i) => ({ deviceKey: `id:d${i}` })),
    factors: ['MULTIPLE_DEVICES'],
    score: 15,
  },
  {
    name: 'TOKEN_REUSE fires on one reuse detection',
    events: () => [ev('token.reuse_detected')],
    factors: ['TOKEN_REUSE'],
    score: 40,
  },
  {
    name: 'FAILED_LOGINS fires at 5 failed logins',
    events: () => times(5, 'login.failed', () => ({ reason: 'invalid_credentials' })),
    factors: ['FAILED_LOGINS'],
    score: 20,
  },
  {
    name: 'FAILED_LOGINS stays quiet at 4',
    events: () => times(4, 'login.failed'),
    factors: [],
    score: 0,
  },
  {
    name: 'factors add up',
    events: () => [
      ...times(3, 'session.created', (i) => ({ ip: `10.1.0.${i}`, deviceKey: `id:x${i}` })),
      ev('token.reuse_detected'),
    ],
    factors: ['MULTIPLE_IPS', 'MULTIPLE_DEVICES', 'TOKEN_REUSE'],
    score: 85,
  },
  {
    name: 'the sum is capped at 100',
    events: () => [
      ...times(12, 'login.failed', (i) => ({ at: T0 + i * 1000, ip: `10.2.0.${i}`, deviceKey: `id:y${i}` })),
      ev('token.reuse_detected'),
      ev('session.revoked', { reason: 'reuse_detected' }),
    ],
    factors: [
      'MULTIPLE_IPS',
      'RAPID_ACTIVITY',
      'TOKEN_REVOCATIONS',
      'MULTIPLE_DEVICES',
      'TOKEN_REUSE',
      'FAILED_LOGINS',
    ],
    score: 100,
  },
]

describe('risk score (docs/api.md table)', () => {
  it.each(cases)('$name', ({ events, factors, score }) => {
    const result = scoreEvents(events(), rules)
    expect(result.factors.map((f) => f.code)).toEqual(factors)
    expect(result.score).toBe(score)
  })

  it('reports details, suspicion above 50 and recommendations', () => {
    const events = [
      ...times(4, 'session.refreshed', (i) => ({ ip: `10.3.0.${i}` })),
      ev('token.reuse_detected'),
    ]
    const a = assess('u1', scoreEvents(events, rules), holderScoreOf(events, rules), rules, new Date(T0))
    expect(a).toMatchObject({ userId: 'u1', riskScore: 70, suspicious: true, holderScore: 70 })
    expect(a.factors[0]).toEqual({ code: 'MULTIPLE_IPS', points: 30, detail: { distinctIps: 4 } })
    expect(a.recommendations).toHaveLength(3)
    expect(assess('u1', { score: 50, factors: [] }, 0, rules, new Date(T0)).suspicious).toBe(false)
  })

  it('only counts events inside the sliding window (t - 24 h, t]', () => {
    const old = ev('token.reuse_detected', { at: T0 })
    const sorted = [old]
    expect(scoreAt(sorted, T0, rules).score).toBe(40)
    expect(scoreAt(sorted, T0 + rules.windowMs - 1, rules).score).toBe(40)
    expect(scoreAt(sorted, T0 + rules.windowMs, rules).score).toBe(0)
    expect(scoreAt(sorted, T0 - 1, rules).score).toBe(0)
  })

  it('honours configured thresholds', () => {
    const strict = { ...rules, failedLogins: 2, multipleIps: 2 }
    const events = times(2, 'login.failed', (i) => ({ ip: `10.4.0.${i}` }))
    expect(scoreEvents(events, strict).factors.map((f) => f.code)).toEqual(['MULTIPLE_IPS', 'FAILED_LOGINS'])
  })

  it('maxInSpan counts the densest span shorter than the width', () => {
    expect(maxInSpan([], 60_000)).toBe(0)
    expect(maxInSpan([0, 59_999, 60_000, 60_001], 60_000)).toBe(3)
  })

  it('is a function of the event set: any order, any duplicates, same score', () => {
    const arbEvent = fc.record({
      id: fc.uuid(),
      type: fc.constantFrom(
        'session.created',
        'session.refreshed',
        'session.revoked',
        'token.reuse_detected',
        'login.failed',
        'session.device_mismatch',
        'user.locked',
        'abuse.rate_limited',
        'user.registered',
      ),
      at: fc.integer({ min: T0, max: T0 + 600_000 }),
      ip: fc.option(fc.constantFrom('1.1.1.1', '2.2.2.2', '3.3.3.3', '4.4.4.4')),
      deviceKey: fc.option(fc.constantFrom('id:a', 'id:b', 'id:c', 'web:x')),
      reason: fc.option(fc.constantFrom('logout', 'admin', 'reuse_detected')),
    })
    fc.assert(
      fc.property(
        fc.uniqueArray(arbEvent, { selector: (e) => e.id, maxLength: 40 }),
        fc.infiniteStream(fc.nat()),
        (events, picks) => {
          const clean = scoreEvents(events, rules)
          const dup = [...events, ...events.filter(() => picks.next().value % 3 === 0)]
          const shuffled = dup
            .map((e) => ({ e, k: picks.next().value }))
            .sort((a, b) => a.k - b.k)
            .map(({ e }) => e)
          expect(scoreEvents(shuffled, rules)).toEqual(clean)
          const holder = holderScoreOf(events, rules)
          expect(holderScoreOf(shuffled, rules)).toBe(holder)
          expect(holder).toBeLessThanOrEqual(clean.score)
          // Whatever a stranger adds (their own ids, any time, IPs, devices), the holder score stays.
          const strangers = events
            .filter((e) => !isHolderEvent(e))
            .map((e, i) => ({ ...e, id: `stranger-${i}`, at: e.at + (picks.next().value % 60_000) }))
          expect(holderScoreOf([...shuffled, ...strangers], rules)).toBe(holder)
        },
      ),
      { numRuns: 300 },
    )
  })
})

/**
 * Signal mixes and what each score makes of them: `score` counts everything, `holderScore` only what a
 * holder of the user's password or tokens produced. Attacker signals: failed logins (any reason, from
 * their own IPs and devices, in bursts), lockouts, rate limits; registration is not a holder signal either.
 */
type HolderCase = { name: string; events: () => RiskEvent[]; score: number; holderScore: number }

const attacker = (k: number, at = T0) =>
  times(k, 'login.failed', (i) => ({
    at: at + i * 1000,
    ip: `41.90.9.${i % 3}`,
    deviceKey: `id:bot-${i % 3}`,
    reason: i < 5 ? 'invalid_credentials' : 'locked',
  }))

const holderCases: HolderCase[] = [
  {
    name: 'failed logins from 3 IPs and 3 devices in a burst: everything in score, nothing for the holder',
    events: () => attacker(12),
    score: 30 + 25 + 15 + 20,
    holderScore: 0,
  },
  {
    name: 'a live session of the victim next to the attack adds no holder points',
    events: () => [ev('session.created', { ip: '196.201.214.10', deviceKey: 'id:phone' }), ...attacker(12)],
    score: 90,
    holderScore: 0,
  },
  {
    name: 'lockouts, rate limits and a registration from many IPs count for score only',
    events: () => [
      ev('user.registered', { ip: '10.9.0.1' }),
      ev('user.locked', { ip: '10.9.0.2' }),
      ...times(3, 'abuse.rate_limited', (i) => ({ ip: `10.9.1.${i}`, deviceKey: `id:x${i}` })),
    ],
    score: 30 + 15,
    holderScore: 0,
  },
  {
    name: 'two session IPs and one attacker IP: MULTIPLE_IPS for score only',
    events: () => [
      ev('session.created', { ip: '10.8.0.1' }),
      ev('session.refreshed', { ip: '10.8.0.2' }),
      ev('login.failed', { ip: '10.8.0.3' }),
    ],
    score: 30,
    holderScore: 0,
  },
  {
    name: '6 refreshes and 6 failed logins within a minute: RAPID_ACTIVITY for score only',
    events: () => [
      ...times(6, 'session.refreshed', (i) => ({ at: T0 + i * 2000 })),
      ...times(6, 'login.failed', (i) => ({ at: T0 + 1000 + i * 2000 })),
    ],
    score: 25 + 20,
    holderScore: 0,
  },
  {
    name: 'IPs and devices of the sessions themselves count for the holder',
    events: () => times(3, 'session.created', (i) => ({ ip: `10.7.0.${i}`, deviceKey: `id:own${i}` })),
    score: 45,
    holderScore: 45,
  },
  {
    name: 'a burst of successful logins and refreshes counts for the holder',
    events: () => times(11, 'session.refreshed', (i) => ({ at: T0 + i * 1000 })),
    score: 25,
    holderScore: 25,
  },
  {
    name: 'token reuse and its revocation count for the holder',
    events: () => [ev('token.reuse_detected'), ev('session.revoked', { reason: 'reuse_detected' })],
    score: 60,
    holderScore: 60,
  },
  {
    // A mismatch is presented with a refresh token, but from the presenter's address, not the session's.
    name: 'device mismatches from three IPs: visible to analysts, nothing for the holder score',
    events: () => times(3, 'session.device_mismatch', (i) => ({ ip: `10.6.0.${i}` })),
    score: 30,
    holderScore: 0,
  },
  {
    name: 'revocations and replays carry the revoker’s and replayer’s IPs: not the sessions’ places',
    events: () => [
      ev('session.revoked', { reason: 'admin', ip: '10.7.0.1' }),
      ev('session.revoked', { reason: 'admin', ip: '10.7.0.2' }),
      ev('token.reuse_detected', { ip: '10.7.0.3' }),
    ],
    score: 90,
    holderScore: 60,
  },
  {
    name: 'the sessions’ own IPs (logins and refreshes) still count for the holder',
    events: () => [
      ev('session.created', { ip: '10.8.0.1' }),
      ev('session.refreshed', { ip: '10.8.0.2' }),
      ev('session.refreshed', { ip: '10.8.0.3' }),
    ],
    score: 30,
    holderScore: 30,
  },
  {
    name: 'holder signals and an attack together: the holder score is the holder part',
    events: () => [
      ...attacker(12),
      ev('token.reuse_detected', { ip: '10.5.0.1' }),
      ev('session.revoked', { reason: 'reuse_detected', ip: '10.5.0.1' }),
    ],
    score: 100,
    holderScore: 60,
  },
]

describe('holder score', () => {
  it.each(holderCases)('$name', ({ events, score, holderScore }) => {
    const list = events()
    expect(scoreEvents(list, rules).score).toBe(score)
    expect(holderScoreOf(list, rules)).toBe(holderScore)
  })

  it('uses the same window as the score', () => {
    const sorted = [ev('login.failed', { at: T0 }), ev('token.reuse_detected', { at: T0 + 1 })]
    expect(holderScoreAt(sorted, T0 + 1, rules)).toBe(40)
    expect(holderScoreAt(sorted, T0 + rules.windowMs, rules)).toBe(40)
    expect(holderScoreAt(sorted, T0 + 1 + rules.windowMs, rules)).toBe(0)
    expect(holderScoreAt(sorted, T0, rules)).toBe(0)
  })
})
