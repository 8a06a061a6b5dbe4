import { newRiskAlert, type RiskAlert, type RiskFactor, type SessionEvent } from '@africhain/events'
import { boundedWrites, type DayBounds } from './day-bounds.ts'
import { type CounterDelta, counterDeltas } from './event-facts.ts'
import { type HistoryNeeds, histories } from './history-coverage.ts'
import { type RecentEvents, type RecentLimits, trimRecent } from './recent-events.ts'
import type { RiskRules } from './risk-rules.ts'
import type { RiskEvent } from './risk-score.ts'
import { type SessionDelta, sessionDeltas } from './session-delta.ts'
import { alertTransition, rescoreUser } from './user-rescore.ts'

/**
 * What one ingest transaction writes, decided without the database: `events + locked state → rows + alerts`.
 * storage/ingest.ts stores the events, locks the users' risk rows, asks history-coverage.ts which stored
 * history the rows lack (and reads it), hands all of it here, and renders the plan.
 */

/** What a user's locked risk row says before this batch (no entry: a new user). */
export type LockedUser = {
  alerted: boolean
  /** The holder score at the previous re-score (0 unless suspicious): a rise while suspicious is news. */
  holderScore: number
  lastEventAt: number | null
  recent: RecentEvents | null
  dayBounds: DayBounds
}

export type RiskRow = {
  userId: string
  score: number
  holderScore: number
  factors: RiskFactor[]
  evaluatedAt: number
  lastEventAt: number
  alerted: boolean
  /** Set when this batch alerted; otherwise the stored time stays. */
  alertedAt: number | null
  recent: RecentEvents
  dayBounds: DayBounds
}

/** A user whose new events are too old to reach their latest window: the score stands, the history grows. */
export type HistoryRow = Pick<RiskRow, 'userId' | 'lastEventAt' | 'recent' | 'dayBounds'>

export type IngestPlan = {
  sessions: SessionDelta[]
  counters: CounterDelta[]
  /** Day maxima above the rows' known bounds, sorted by (day, user): one lock order for every worker. */
  dayMaxima: { day: string; userId: string; maxScore: number }[]
  /** Users without a risk row: a plain INSERT, so two transactions that both found it missing cannot both write. */
  newRisk: RiskRow[]
  changedRisk: RiskRow[]
  historyOnly: HistoryRow[]
  /** Upward crossings (domain/user-rescore.ts `alertTransition`), written to the outbox with the rows. */
  alerts: RiskAlert[]
}

export type PlanContext = { rules: RiskRules; recent?: RecentLimits | undefined; now: Date }

/**
 * One re-score per user with new events (every evaluation point they can change, domain/user-rescore.ts),
 * then what to write: day maxima above the known bounds (domain/day-bounds.ts), the risk rows with their
 * trimmed history (domain/recent-events.ts), an alert for each fresh upward crossing. A crossing found in
 * replayed history older than one window updates the state without alerting.
 */
export function planIngest(
  fresh: readonly SessionEvent[],
  needs: HistoryNeeds,
  locked: ReadonlyMap<string, LockedUser>,
  stored: ReadonlyMap<string, RiskEvent[]>,
  ctx: PlanContext,
): IngestPlan {
  const { rules, now } = ctx
  const plan: IngestPlan = {
    sessions: sessionDeltas(fresh),
    counters: counterDeltas(fresh),
    dayMaxima: [],
    newRisk: [],
    changedRisk: [],
    historyOnly: [],
    alerts: [],
  }
  const all = histories(needs, locked, stored)
  for (const userId of [...all.keys()].sort()) {
    const history = all.get(userId)!
    const state = locked.get(userId)
    const newTimes = needs.added.get(userId)!.map((e) => e.at)
    const latestAt = newTimes.reduce(
      (max, t) => Math.max(max, t),
      state?.lastEventAt ?? Number.NEGATIVE_INFINITY,
    )
    const { dayMax, current } = rescoreUser(history.events, newTimes, latestAt, rules)
    const bounded = boundedWrites(dayMax, state?.dayBounds ?? new Map())
    for (const [day, maxScore] of bounded.writes) plan.dayMaxima.push({ day, userId, maxScore })
    const recent = trimRecent(history, latestAt, rules, ctx.recent)
    const dayBounds = bounded.bounds
    if (!current) {
      plan.historyOnly.push({ userId, lastEventAt: latestAt, recent, dayBounds })
      continue
    }
    const isFresh = current.at > now.getTime() - rules.windowMs
    const was = { alerted: state?.alerted ?? false, holderScore: state?.holderScore ?? 0 }
    const decision = alertTransition(was, current, rules, isFresh)
    const { score, holderScore, factors } = current
    ;(state ? plan.changedRisk : plan.newRisk).push({
      userId,
      score,
      holderScore,
      factors,
      evaluatedAt: current.at,
      lastEventAt: latestAt,
      alerted: decision.alerted,
      alertedAt: decision.alert ? now.getTime() : null,
      recent,
      dayBounds,
    })
    if (decision.alert) plan.alerts.push(newRiskAlert(userId, { score, holderScore, factors }, now))
  }
  plan.dayMaxima.sort((a, b) => (a.day !== b.day ? (a.day < b.day ? -1 : 1) : a.userId < b.userId ? -1 : 1))
  return plan
}
