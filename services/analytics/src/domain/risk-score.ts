import type { RiskFactor } from '@africhain/events'
import {
  DISTINCT_CAP,
  FACTOR_POINTS,
  type FactorCode,
  MAX_SCORE,
  RAPID_CAP,
  RECOMMENDATIONS,
  type RiskRules,
  SUSPICIOUS_RECOMMENDATION,
} from './risk-rules.ts'

/** The facts of one stored event that scoring reads. `at` is the event's occurrence time in ms. */
export type RiskEvent = {
  id: string
  type: string
  at: number
  ip: string | null
  deviceKey: string | null
  reason: string | null
}

export type RiskScore = { score: number; factors: RiskFactor[] }

/** The contract's risk assessment (docs/api.md), plus `holderScore` (see `holderScoreOf`). */
export type RiskAssessment = {
  userId: string
  riskScore: number
  suspicious: boolean
  holderScore: number
  factors: RiskFactor[]
  recommendations: string[]
  evaluatedAt: string
}

const RAPID_TYPES = new Set(['session.created', 'session.refreshed', 'login.failed'])

/**
 * Event types only someone holding the user's password or one of their tokens can cause: a login that
 * succeeded, a refresh, a revocation (by the holder, an administrator or the risk loop), a replayed refresh
 * token (its presenter holds one). Everything else — failed logins, lockouts, rate limits, registration,
 * device mismatches (they add no factor of their own), any type added later — counts as something a
 * stranger could cause until it is listed here.
 */
const HOLDER_TYPES = new Set([
  'session.created',
  'session.refreshed',
  'session.revoked',
  'token.reuse_detected',
])

/**
 * Where the holder is: only a login that succeeded and a refresh say which IPs and devices the sessions use.
 * A revocation carries the revoker's address (an administrator's), a replay the replayer's: they count as
 * events, never as the sessions' places.
 */
const OWN_PLACE_TYPES = new Set(['session.created', 'session.refreshed'])

export function isHolderEvent(e: RiskEvent): boolean {
  return HOLDER_TYPES.has(e.type)
}

/** Orders events by time, then id: the one order every computation uses, whatever the delivery order was. */
export function byTime(a: RiskEvent, b: RiskEvent): number {
  return a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/** The most events of RAPID_TYPES inside any span shorter than `spanMs` (times sorted ascending). */
export function maxInSpan(times: readonly number[], spanMs: number): number {
  let best = 0
  let start = 0
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= spanMs) start++
    best = Math.max(best, end - start + 1)
  }
  return best
}

/** What the factors are computed from: the window's counts (risk-sweep.ts keeps the same ones incrementally). */
export type Tally = {
  /** Distinct IPs in the window; counted up to `DISTINCT_CAP` (more is scored as the cap). */
  distinctIps: number
  distinctDevices: number
  /** The most RAPID_TYPES events inside any span shorter than the rapid window; counted up to `RAPID_CAP`. */
  rapid: number
  revocations: number
  /** Revocations (reason not `logout`) per reason, in the order the reasons first appear in the window. */
  byReason: Record<string, number>
  reuse: number
  failed: number
}

/** Event types the RAPID_ACTIVITY factor counts. */
export function isRapid(e: RiskEvent): boolean {
  return RAPID_TYPES.has(e.type)
}

/** The factors and the score of a window's tally: the contract's table (docs/api.md), distinct keys capped. */
export function scoreTally(t: Tally, rules: RiskRules): RiskScore {
  const factors: RiskFactor[] = []
  const add = (code: FactorCode, fires: boolean, detail: Record<string, unknown>) => {
    if (fires) factors.push({ code, points: FACTOR_POINTS[code], detail })
  }
  const distinctIps = Math.min(t.distinctIps, DISTINCT_CAP)
  const distinctDevices = Math.min(t.distinctDevices, DISTINCT_CAP)
  add('MULTIPLE_IPS', distinctIps >= rules.multipleIps, { distinctIps })
  const rapid = Math.min(t.rapid, RAPID_CAP)
  add('RAPID_ACTIVITY', rapid > rules.rapidActivity, {
    maxEvents: rapid,
    withinSeconds: rules.rapidWindowMs / 1000,
  })
  add('TOKEN_REVOCATIONS', t.revocations >= rules.revocations, {
    revocations: t.revocations,
    byReason: t.byReason,
  })
  add('MULTIPLE_DEVICES', distinctDevices >= rules.multipleDevices, { distinctDevices })
  add('TOKEN_REUSE', t.reuse >= rules.tokenReuse, { detections: t.reuse })
  add('FAILED_LOGINS', t.failed >= rules.failedLogins, { failedLogins: t.failed })
  const score = Math.min(
    MAX_SCORE,
    factors.reduce((sum, f) => sum + f.points, 0),
  )
  return { score, factors }
}

/**
 * Scores a set of events that are already the window's content. A pure function of the set: the same
 * events in any order, with duplicates removed by id, give the same score.
 */
export function scoreEvents(events: readonly RiskEvent[], rules: RiskRules): RiskScore {
  const seen = new Set<string>()
  const ips = new Set<string>()
  const devices = new Set<string>()
  const rapidTimes: number[] = []
  const byReason: Record<string, number> = {}
  let revocations = 0
  let reuse = 0
  let failed = 0
  for (const e of events) {
    if (seen.has(e.id)) continue
    seen.add(e.id)
    if (e.ip) ips.add(e.ip)
    if (e.deviceKey) devices.add(e.deviceKey)
    if (RAPID_TYPES.has(e.type)) rapidTimes.push(e.at)
    if (e.type === 'login.failed') failed++
    else if (e.type === 'token.reuse_detected') reuse++
    else if (e.type === 'session.revoked' && e.reason !== 'logout') {
      revocations++
      const reason = e.reason ?? 'unknown'
      byReason[reason] = (byReason[reason] ?? 0) + 1
    }
  }
  rapidTimes.sort((a, b) => a - b)
  const rapid = maxInSpan(rapidTimes, rules.rapidWindowMs)
  return scoreTally(
    { distinctIps: ips.size, distinctDevices: devices.size, rapid, revocations, byReason, reuse, failed },
    rules,
  )
}

/** Index of the first event with `at > t` in time-sorted events. */
function upperBound(sorted: readonly RiskEvent[], t: number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid]!.at <= t) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The window ending at `t` is `(t - windowMs, t]`: an event at `x` counts for every `t` in `[x, x + windowMs)`. */
export function windowAt(sorted: readonly RiskEvent[], t: number, rules: RiskRules): readonly RiskEvent[] {
  return sorted.slice(upperBound(sorted, t - rules.windowMs), upperBound(sorted, t))
}

export function scoreAt(sorted: readonly RiskEvent[], t: number, rules: RiskRules): RiskScore {
  return scoreEvents(windowAt(sorted, t, rules), rules)
}

/**
 * The score of the same events with the same table, counting only holder events (`isHolderEvent`): what a
 * stranger cannot move. Never above `scoreEvents(events).score` (each factor only grows with more events),
 * and as independent of order and duplicates. Automatic revocation compares with this.
 */
export function holderScoreOf(events: readonly RiskEvent[], rules: RiskRules): number {
  const holders: RiskEvent[] = []
  for (const e of events) {
    const h = holderView(e)
    if (h) holders.push(h)
  }
  return scoreEvents(holders, rules).score
}

/** An event as the holder score counts it: null for a stranger's, without IP and device unless it is the sessions' own place. */
export function holderView(e: RiskEvent): RiskEvent | null {
  if (!isHolderEvent(e)) return null
  return OWN_PLACE_TYPES.has(e.type) ? e : { ...e, ip: null, deviceKey: null }
}

export function holderScoreAt(sorted: readonly RiskEvent[], t: number, rules: RiskRules): number {
  return holderScoreOf(windowAt(sorted, t, rules), rules)
}

export function assess(
  userId: string,
  score: RiskScore,
  holderScore: number,
  rules: RiskRules,
  evaluatedAt: Date,
): RiskAssessment {
  const suspicious = score.score > rules.suspiciousAbove
  const recommendations = score.factors.map((f) => RECOMMENDATIONS[f.code as FactorCode])
  if (suspicious) recommendations.push(SUSPICIOUS_RECOMMENDATION)
  return {
    userId,
    riskScore: score.score,
    suspicious,
    holderScore,
    factors: score.factors,
    recommendations,
    evaluatedAt: evaluatedAt.toISOString(),
  }
}
