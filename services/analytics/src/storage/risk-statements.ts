import { encodeDayBounds } from '../domain/day-bounds.ts'
import type { HistoryRow, IngestPlan, RiskRow } from '../domain/ingest-plan.ts'
import { encodeSweep } from '../domain/sweep-state.ts'
import { type Stmt, valuesList } from './ingest-script.ts'
import { ROWS_PER_STATEMENT } from './ingest-statements.ts'
import { chunks } from './sql-helpers.ts'

/**
 * The risk writes of an ingest plan (domain/ingest-plan.ts), in the transaction's lock order: per-day maxima
 * (GREATEST), new risk rows (a plain INSERT), changed ones (an upsert), history-only ones, the outbox alerts.
 */

const d = (ms: number | null) => (ms === null ? null : new Date(ms))

const RISK_COLUMNS =
  '(user_id, score, holder_score, factors, evaluated_at, last_event_at, alerted, alerted_at, sweep, day_bounds)'

function riskValues(rows: readonly RiskRow[]): string {
  return valuesList(
    rows.map((r) => [
      r.userId,
      r.score,
      r.holderScore,
      JSON.stringify(r.factors),
      d(r.evaluatedAt),
      d(r.lastEventAt),
      r.alerted,
      d(r.alertedAt),
      encodeSweep(r.sweep),
      encodeDayBounds(r.dayBounds),
    ]),
  )
}

function historyValues(rows: readonly HistoryRow[]): string {
  return valuesList(
    rows.map((r) => [r.userId, '[]', d(r.lastEventAt), encodeSweep(r.sweep), encodeDayBounds(r.dayBounds)]),
  )
}

export function writeDayMaxima(plan: IngestPlan): Stmt[] {
  return chunks(plan.dayMaxima, ROWS_PER_STATEMENT).map((part) => ({
    sql: `insert into analytics_user_days (\`day\`, user_id, max_score) values ${valuesList(part.map((m) => [m.day, m.userId, m.maxScore]))} on duplicate key update max_score = greatest(max_score, values(max_score))`,
  }))
}

export function insertRisk(plan: IngestPlan): Stmt[] {
  return chunks(plan.newRisk, ROWS_PER_STATEMENT).map((part) => ({
    sql: `insert into analytics_user_risk ${RISK_COLUMNS} values ${riskValues(part)}`,
  }))
}

export function updateRisk(plan: IngestPlan): Stmt[] {
  return chunks(plan.changedRisk, ROWS_PER_STATEMENT).map((part) => ({
    sql: `insert into analytics_user_risk ${RISK_COLUMNS} values ${riskValues(part)} on duplicate key update score = values(score), holder_score = values(holder_score), factors = values(factors), evaluated_at = values(evaluated_at), last_event_at = values(last_event_at), alerted = values(alerted), alerted_at = coalesce(values(alerted_at), alerted_at), sweep = values(sweep), day_bounds = values(day_bounds)`,
  }))
}

/** New events too old to reach the window of the user's latest event: the score and the window's state stand. */
export function updateHistory(plan: IngestPlan): Stmt[] {
  return chunks(plan.historyOnly, ROWS_PER_STATEMENT).map((part) => ({
    sql: `insert into analytics_user_risk (user_id, factors, last_event_at, sweep, day_bounds) values ${historyValues(part)} on duplicate key update last_event_at = greatest(last_event_at, values(last_event_at)), sweep = values(sweep), day_bounds = values(day_bounds)`,
  }))
}

export function insertAlerts(plan: IngestPlan, now: Date): Stmt[] {
  if (plan.alerts.length === 0) return []
  const v = valuesList(plan.alerts.map((a) => [a.id, a.userId, a.data.score, JSON.stringify(a), now]))
  return [{ sql: `insert into analytics_alert_outbox (id, user_id, score, payload, created_at) values ${v}` }]
}
