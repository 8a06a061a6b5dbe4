import { encodeDayBounds } from '../domain/day-bounds.ts'
import type { HistoryRow, IngestPlan, RiskRow } from '../domain/ingest-plan.ts'
import { type Stmt, valuesList } from './ingest-script.ts'
import { ROWS_PER_STATEMENT } from './ingest-statements.ts'
import { chunks } from './sql-helpers.ts'

/**
 * Characters of sweep states per risk statement: `ROWS_PER_STATEMENT` rows of the largest states
 * (`MAX_SWEEP_BYTES`) would pass `max_allowed_packet` (16 MiB by default) and fail every batch of those
 * users, so rows are also cut at this much state (at most 3 bytes a character, twice that escaped: under
 * 8 MiB a statement); a state that large alone is one statement.
 */
const SWEEP_CHARS_PER_STATEMENT = 1 << 20

/** `rows` in statements of at most `ROWS_PER_STATEMENT` rows and about `SWEEP_CHARS_PER_STATEMENT` of state. */
function riskChunks<T extends { sweep: string | null }>(rows: readonly T[]): T[][] {
  const out: T[][] = []
  let part: T[] = []
  let chars = 0
  for (const r of rows) {
    const n = r.sweep?.length ?? 0
    if (part.length > 0 && (part.length === ROWS_PER_STATEMENT || chars + n > SWEEP_CHARS_PER_STATEMENT)) {
      out.push(part)
      part = []
      chars = 0
    }
    part.push(r)
    chars += n
  }
  if (part.length > 0) out.push(part)
  return out
}

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
      r.sweep,
      encodeDayBounds(r.dayBounds),
    ]),
  )
}

function historyValues(rows: readonly HistoryRow[]): string {
  return valuesList(
    rows.map((r) => [r.userId, '[]', d(r.lastEventAt), r.sweep, encodeDayBounds(r.dayBounds)]),
  )
}

export function writeDayMaxima(plan: IngestPlan): Stmt[] {
  return chunks(plan.dayMaxima, ROWS_PER_STATEMENT).map((part) => ({
    sql: `insert into analytics_user_days (\`day\`, user_id, max_score) values ${valuesList(part.map((m) => [m.day, m.userId, m.maxScore]))} on duplicate key update max_score = greatest(max_score, values(max_score))`,
  }))
}

export function insertRisk(plan: IngestPlan): Stmt[] {
  return riskChunks(plan.newRisk).map((part) => ({
    sql: `insert into analytics_user_risk ${RISK_COLUMNS} values ${riskValues(part)}`,
  }))
}

export function updateRisk(plan: IngestPlan): Stmt[] {
  return riskChunks(plan.changedRisk).map((part) => ({
    sql: `insert into analytics_user_risk ${RISK_COLUMNS} values ${riskValues(part)} on duplicate key update score = values(score), holder_score = values(holder_score), factors = values(factors), evaluated_at = values(evaluated_at), last_event_at = values(last_event_at), alerted = values(alerted), alerted_at = coalesce(values(alerted_at), alerted_at), sweep = values(sweep), day_bounds = values(day_bounds)`,
  }))
}

/** New events too old to reach the window of the user's latest event: the score and the window's state stand. */
export function updateHistory(plan: IngestPlan): Stmt[] {
  return riskChunks(plan.historyOnly).map((part) => ({
    sql: `insert into analytics_user_risk (user_id, factors, last_event_at, sweep, day_bounds) values ${historyValues(part)} on duplicate key update last_event_at = greatest(last_event_at, values(last_event_at)), sweep = values(sweep), day_bounds = values(day_bounds)`,
  }))
}

export function insertAlerts(plan: IngestPlan, now: Date): Stmt[] {
  if (plan.alerts.length === 0) return []
  const v = valuesList(plan.alerts.map((a) => [a.id, a.userId, a.data.score, JSON.stringify(a), now]))
  return [{ sql: `insert into analytics_alert_outbox (id, user_id, score, payload, created_at) values ${v}` }]
}
