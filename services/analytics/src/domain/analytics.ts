import type { SessionEvent } from '@africhain/events'
import { type EventCursor, encodeCursor } from './cursor.ts'
import type { DurationStats } from './duration-stats.ts'
import type { AnalyticsStore, Completeness } from './ports.ts'
import { buildDailyReport, type DailyReport } from './report.ts'
import type { RiskRules } from './risk-rules.ts'
import { assess, holderScoreOf, type RiskAssessment, scoreEvents, windowAt } from './risk-score.ts'
import { addDays, DAY_MS, utcDay } from './time.ts'

/** What every read needs: the store, the rules, and a clock (tests fix it). */
export type ReadDeps = { store: AnalyticsStore; rules: RiskRules; now: () => Date }

/** Security events and session durations of the overview cover the last 24 hours (docs/api.md). */
const OVERVIEW_WINDOW_MS = DAY_MS

export type SecurityEvents = { tokenRefreshes: number; tokenRevocations: number; suspiciousActivity: number }

export type DataCompleteness = {
  /** False when the worker found stream entries it never saw (trimmed or lost before it read them). */
  complete: boolean
  gaps: number
  missingEvents: number
  lastGapAt: string | null
}

export type SessionAnalytics = {
  totalActiveSessions: number
  userActiveSessions: number
  deviceBreakdown: Record<string, number>
  sessionDuration: DurationStats
  securityEvents: SecurityEvents
  generatedAt: string
  dataCompleteness: DataCompleteness
}

export type UserAnalytics = {
  userId: string
  activeSessions: number
  deviceBreakdown: Record<string, number>
  sessionDuration: DurationStats
  securityEvents: SecurityEvents & { failedLogins: number }
  riskScore: number
  suspicious: boolean
  generatedAt: string
}

function rounded(d: DurationStats): DurationStats {
  return { average: Math.round(d.average), median: Math.round(d.median), max: Math.round(d.max) }
}

/** `suspiciousActivity`: replayed refresh tokens and refreshes from a device other than the session's. */
function securityEvents(totals: Record<string, number>): SecurityEvents {
  return {
    tokenRefreshes: totals.refreshes ?? 0,
    tokenRevocations: totals.revocations ?? 0,
    suspiciousActivity: (totals.reuse_detections ?? 0) + (totals.device_mismatches ?? 0),
  }
}

export function completenessOf(c: Completeness): DataCompleteness {
  return {
    complete: c.gaps === 0,
    gaps: c.gaps,
    missingEvents: c.missingEvents,
    lastGapAt: c.lastGapAt?.toISOString() ?? null,
  }
}

export async function systemAnalytics({ store, now: clock }: ReadDeps): Promise<SessionAnalytics> {
  const now = clock()
  const since = new Date(now.getTime() - OVERVIEW_WINDOW_MS)
  const [active, durations, totals, completeness] = await Promise.all([
    store.activeSessions(now),
    store.sessionDurations(now, since),
    store.metricTotals(since, new Date(now.getTime() + 1)),
    store.completeness(),
  ])
  return {
    totalActiveSessions: active.sessions,
    userActiveSessions: active.users,
    deviceBreakdown: active.byPlatform,
    sessionDuration: rounded(durations),
    securityEvents: securityEvents(totals),
    generatedAt: now.toISOString(),
    dataCompleteness: completenessOf(completeness),
  }
}

async function scoreUsersAt(
  { store, rules }: ReadDeps,
  userIds: readonly string[],
  now: Date,
): Promise<Map<string, RiskAssessment>> {
  const t = now.getTime()
  const events = await store.riskEvents(userIds, new Date(t - rules.windowMs), now)
  const out = new Map<string, RiskAssessment>()
  for (const userId of userIds) {
    const window = windowAt(events.get(userId) ?? [], t, rules)
    out.set(userId, assess(userId, scoreEvents(window, rules), holderScoreOf(window, rules), rules, now))
  }
  return out
}

/** The user's risk now: the window ending at the request time, scored from the stored events. */
export async function assessUser(deps: ReadDeps, userId: string): Promise<RiskAssessment> {
  const now = deps.now()
  return (await scoreUsersAt(deps, [userId], now)).get(userId)!
}

/**
 * Users suspicious now, highest score first. Candidates come from the worker's precomputed scores (a
 * score only falls as time passes without events), then each is scored again for the window ending now.
 */
export async function flaggedUsers(deps: ReadDeps, limit: number): Promise<RiskAssessment[]> {
  const now = deps.now()
  const candidates = await deps.store.flaggedCandidates(
    deps.rules.suspiciousAbove,
    new Date(now.getTime() - deps.rules.windowMs),
    limit * 2,
  )
  const scored = await scoreUsersAt(deps, candidates, now)
  return [...scored.values()]
    .filter((a) => a.suspicious)
    .sort((a, b) => b.riskScore - a.riskScore || (a.userId < b.userId ? -1 : 1))
    .slice(0, limit)
}

export async function userAnalytics(deps: ReadDeps, userId: string): Promise<UserAnalytics> {
  const now = deps.now()
  const since = new Date(now.getTime() - OVERVIEW_WINDOW_MS)
  const [active, durations, totals, risk] = await Promise.all([
    deps.store.activeSessions(now, userId),
    deps.store.sessionDurations(now, since, userId),
    deps.store.metricTotals(since, new Date(now.getTime() + 1), userId),
    scoreUsersAt(deps, [userId], now),
  ])
  const assessment = risk.get(userId)!
  return {
    userId,
    activeSessions: active.sessions,
    deviceBreakdown: active.byPlatform,
    sessionDuration: rounded(durations),
    securityEvents: { ...securityEvents(totals), failedLogins: totals.failed_logins ?? 0 },
    riskScore: assessment.riskScore,
    suspicious: assessment.suspicious,
    generatedAt: now.toISOString(),
  }
}

export async function dailyReport(deps: ReadDeps, date?: string): Promise<DailyReport> {
  const now = deps.now()
  const day = date ?? utcDay(now.getTime())
  const previous = addDays(day, -1)
  const [today, before] = await Promise.all([
    deps.store.dayTotals(day, deps.rules.suspiciousAbove),
    deps.store.dayTotals(previous, deps.rules.suspiciousAbove),
  ])
  return buildDailyReport(day, previous, today, before, now)
}

export type EventPage = { events: SessionEvent[]; nextCursor: string | null }

/** A user's events, a client's (`ip`), or a user's from one client: at least one of the two is given. */
export async function listEvents(
  { store }: ReadDeps,
  q: {
    userId?: string
    ip?: string
    type?: string
    from?: Date
    to?: Date
    cursor?: EventCursor
    limit: number
  },
): Promise<EventPage> {
  const page = await store.events({
    userId: q.userId,
    ip: q.ip,
    type: q.type,
    from: q.from,
    to: q.to,
    after: q.cursor,
    limit: q.limit,
  })
  return {
    events: page.envelopes.map((e) => JSON.parse(e) as SessionEvent),
    nextCursor: page.next ? encodeCursor(page.next) : null,
  }
}
