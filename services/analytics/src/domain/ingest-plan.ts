import { newRiskAlert, type RiskAlert, type RiskFactor, type SessionEvent } from '@africhain/events'
import { boundedWrites, type DayBounds } from './day-bounds.ts'
import { type CounterDelta, counterDeltas } from './event-facts.ts'
import type { HistoryNeeds } from './history-coverage.ts'
import type { RiskRules } from './risk-rules.ts'
import { byTime, type RiskEvent } from './risk-score.ts'
import { type SessionDelta, sessionDeltas } from './session-delta.ts'
import { encodeSweep } from './sweep-encoding.ts'
import { advance, emptySweep, latestOf, type SweepState, sweepStateAt } from './sweep-state.ts'
import { alertTransition, rescoreUser } from './user-rescore.ts'

/**
 * What one ingest transaction writes, decided without the database: `events + locked state → rows + alerts`.
 * storage/ingest.ts stores the events, locks the users' risk rows, reads the stored events leaving their
 * windows, asks history-coverage.ts which users need their stored history instead (and reads it), hands
 * all of it here, and renders the plan.
 */

/** What a user's locked risk row says before this batch (no entry: a new user). */
export type LockedUser = {
  alerted: boolean
  /** The holder score at the previous re-score (0 unless suspicious): a rise while suspicious is news. */
  holderScore: number
  lastEventAt: number | null
  /** The window as of `lastEventAt` (domain/sweep-state.ts); null for a row written before migration 012. */
  sweep: SweepState | null
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
  /** The window's state as of `lastEventAt`, encoded (`encodeSweep`); null when it is not kept. */
  sweep: string | null
  dayBounds: DayBounds
}

/** A user whose new events are too old to reach their latest window: the score stands, the history grows. */
export type HistoryRow = Pick<RiskRow, 'userId' | 'lastEventAt' | 'sweep' | 'dayBounds'>

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
  /** Users whose state `encodeSweep` refused (too large or inconsistent): their next batch reads the store. */
  unkeptStates: string[]
}

export type PlanContext = { rules: RiskRules; now: Date }

/**
 * What the plan reads beyond the locked rows: `leaving`, per user, the stored events in their sweep state's
 * `leavingRange` (domain/sweep-state.ts; it may hold this batch's events, which the state leaves out);
 * `stored`, for the users of `needs.read`, their stored history from `needs.read.from` (holding this batch).
 */
export type StoredReads = {
  leaving: ReadonlyMap<string, RiskEvent[]>
  stored: ReadonlyMap<string, RiskEvent[]>
}

/**
 * One re-score per user with new events: from their sweep state when the events are in order
 * (domain/sweep-state.ts `advance`, O(new and leaving events)), else over their stored history (every
 * evaluation point the events can change, domain/user-rescore.ts) with the state rebuilt from it. Then what
 * to write: day maxima above the known bounds (domain/day-bounds.ts), the risk rows with their state, an
 * alert for each fresh upward crossing. A crossing found in replayed history older than one window updates
 * the state without alerting.
 */
export function planIngest(
  fresh: readonly SessionEvent[],
  needs: HistoryNeeds,
  locked: ReadonlyMap<string, LockedUser>,
  reads: StoredReads,
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
    unkeptStates: [],
  }
  const read = new Set(needs.read?.users)
  for (const userId of [...needs.added.keys()].sort()) {
    const added = needs.added.get(userId)!
    const state = locked.get(userId)
    let rescored: ReturnType<typeof advance>
    if (read.has(userId)) {
      const history = [...(reads.stored.get(userId) ?? [])].sort(byTime)
      const newTimes = added.map((e) => e.at)
      const latestAt = newTimes.reduce(
        (max, t) => Math.max(max, t),
        state?.lastEventAt ?? Number.NEGATIVE_INFINITY,
      )
      const sweep = sweepStateAt(history, latestAt, rules)
      rescored = { ...rescoreUser(history, newTimes, latestAt, rules), sweep }
    } else rescored = advance(state?.sweep ?? emptySweep(), reads.leaving.get(userId) ?? [], added, rules)
    const { dayMax, current } = rescored
    const latestAt = latestOf(rescored.sweep)
    const sweep = encodeSweep(rescored.sweep)
    if (sweep === null) plan.unkeptStates.push(userId)
    const bounded = boundedWrites(dayMax, state?.dayBounds ?? new Map())
    for (const [day, maxScore] of bounded.writes) plan.dayMaxima.push({ day, userId, maxScore })
    const dayBounds = bounded.bounds
    if (!current) {
      plan.historyOnly.push({ userId, lastEventAt: latestAt, sweep, dayBounds })
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
      sweep,
      dayBounds,
    })
    if (decision.alert) plan.alerts.push(newRiskAlert(userId, { score, holderScore, factors }, now))
  }
  plan.dayMaxima.sort((a, b) => (a.day !== b.day ? (a.day < b.day ? -1 : 1) : a.userId < b.userId ? -1 : 1))
  return plan
}
