import { newRiskAlert, type RiskAlert } from '@africhain/events'
import { boundedWrites, type DayBounds, encodeDayBounds } from '../domain/day-bounds.ts'
import { encodeRecent, type RecentEvents, type RecentLimits, trimRecent } from '../domain/recent-events.ts'
import type { RiskRules } from '../domain/risk-rules.ts'
import { alertTransition, rescoreUser } from '../domain/user-rescore.ts'
import { type Stmt, valuesList } from './ingest-script.ts'
import { ROWS_PER_STATEMENT } from './ingest-statements.ts'
import { chunks } from './sql-helpers.ts'

/** What the locked risk row says about a user before this batch (absent: a new user). */
export type UserState = {
  alerted: boolean
  /** The holder score at the previous re-score (0 unless suspicious): a rise while suspicious is news. */
  holderScore: number
  lastEventAt: number | null
  recent: RecentEvents | null
  dayBounds: DayBounds
}

/** A user's history for re-scoring: every stored event from `from` on (new ones included) and their new times. */
export type History = RecentEvents & { newTimes: number[] }

/**
 * One re-score per user with new events (every evaluation point the new events can change, see
 * domain/user-rescore.ts), then the writes: per-day maxima (GREATEST; only those above the row's known
 * bounds, domain/day-bounds.ts), the risk rows with their trimmed history (an upsert for existing rows, a
 * plain INSERT for new ones), outbox alerts.
 */
export function rescore(
  histories: ReadonlyMap<string, History>,
  states: ReadonlyMap<string, UserState>,
  opts: { rules: RiskRules; recent?: RecentLimits | undefined },
  now: Date,
): { stmts: Stmt[]; alerts: RiskAlert[] } {
  const rules = opts.rules
  const days: [string, string, number][] = []
  const created: unknown[][] = []
  const updated: unknown[][] = []
  const historyOnly: unknown[][] = []
  const alerts: RiskAlert[] = []
  for (const userId of [...histories.keys()].sort()) {
    const history = histories.get(userId)!
    const state = states.get(userId)
    const latestAt = history.newTimes.reduce(
      (max, t) => Math.max(max, t),
      state?.lastEventAt ?? Number.NEGATIVE_INFINITY,
    )
    const { dayMax, current } = rescoreUser(history.events, history.newTimes, latestAt, rules)
    const bounded = boundedWrites(dayMax, state?.dayBounds ?? new Map())
    for (const [day, maxScore] of bounded.writes) days.push([day, userId, maxScore])
    const bounds = encodeDayBounds(bounded.bounds)
    const kept = trimRecent(history, latestAt, rules, opts.recent)
    const keptFrom = kept.from === null ? null : new Date(kept.from)
    const keptText = encodeRecent(kept.events)
    if (!current) {
      historyOnly.push([userId, '[]', new Date(latestAt), keptFrom, keptText, bounds])
      continue
    }
    const isFresh = current.at > now.getTime() - rules.windowMs
    const decision = alertTransition(
      { alerted: state?.alerted ?? false, holderScore: state?.holderScore ?? 0 },
      current,
      rules,
      isFresh,
    )
    ;(state ? updated : created).push([
      userId,
      current.score,
      current.holderScore,
      JSON.stringify(current.factors),
      new Date(current.at),
      new Date(latestAt),
      decision.alerted,
      decision.alert ? now : null,
      keptFrom,
      keptText,
      bounds,
    ])
    if (decision.alert) {
      const { score, holderScore, factors } = current
      alerts.push(newRiskAlert(userId, { score, holderScore, factors }, now))
    }
  }
  days.sort((a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
  const stmts: Stmt[] = []
  for (const part of chunks(days, ROWS_PER_STATEMENT)) {
    const v = valuesList(part)
    stmts.push({
      sql: `insert into analytics_user_days (\`day\`, user_id, max_score) values ${v} on duplicate key update max_score = greatest(max_score, values(max_score))`,
    })
  }
  const columns =
    '(user_id, score, holder_score, factors, evaluated_at, last_event_at, alerted, alerted_at, recent_from, recent, day_bounds)'
  for (const part of chunks(created, ROWS_PER_STATEMENT)) {
    const v = valuesList(part)
    stmts.push({ sql: `insert into analytics_user_risk ${columns} values ${v}` })
  }
  for (const part of chunks(updated, ROWS_PER_STATEMENT)) {
    const v = valuesList(part)
    stmts.push({
      sql: `insert into analytics_user_risk ${columns} values ${v} on duplicate key update score = values(score), holder_score = values(holder_score), factors = values(factors), evaluated_at = values(evaluated_at), last_event_at = values(last_event_at), alerted = values(alerted), alerted_at = coalesce(values(alerted_at), alerted_at), recent_from = values(recent_from), recent = values(recent), day_bounds = values(day_bounds)`,
    })
  }
  // New events too old to reach the window of the user's latest event: the score stands, the history grows.
  for (const part of chunks(historyOnly, ROWS_PER_STATEMENT)) {
    const v = valuesList(part)
    stmts.push({
      sql: `insert into analytics_user_risk (user_id, factors, last_event_at, recent_from, recent, day_bounds) values ${v} on duplicate key update last_event_at = greatest(last_event_at, values(last_event_at)), recent_from = values(recent_from), recent = values(recent), day_bounds = values(day_bounds)`,
    })
  }
  if (alerts.length > 0) {
    const v = valuesList(alerts.map((a) => [a.id, a.userId, a.data.score, JSON.stringify(a), now]))
    stmts.push({
      sql: `insert into analytics_alert_outbox (id, user_id, score, payload, created_at) values ${v}`,
    })
  }
  return { stmts, alerts }
}
