import { randomBytes } from 'node:crypto'
import { newRiskAlert, type RiskAlert, type SessionEvent } from '@africhain/events'
import type { Kysely, Transaction } from 'kysely'
import { counterDeltas } from '../domain/event-facts.ts'
import type { RiskRules } from '../domain/risk-rules.ts'
import { sessionDeltas } from '../domain/session-delta.ts'
import { alertTransition, readRange, rescoreUser } from '../domain/user-rescore.ts'
import { addAlerts } from './alert-outbox.repository.ts'
import { addCounters } from './counter.repository.ts'
import { insertNewEvents, riskEventsIn } from './event.repository.ts'
import {
  lockUsers,
  raiseUserDays,
  saveUserRisk,
  type UserDayScore,
  type UserRiskUpdate,
} from './risk.repository.ts'
import { upsertSessions } from './session.repository.ts'
import { retryOnDeadlock } from './sql-helpers.ts'
import { savePosition } from './stream-position.repository.ts'
import type { Database } from './tables.ts'

export type IngestOptions = {
  rules: RiskRules
  /** Wall-clock time: alert timestamps and the freshness of a crossing. */
  now?: () => Date
  /** Committed with the batch: the highest stream entry id it contains, for gap detection. */
  position?: { stream: string; consumer: string; lastId: string }
  /** Test seam: runs inside the transaction right before COMMIT (the crash tests kill the process here). */
  beforeCommit?: () => Promise<void>
}

export type IngestResult = { stored: number; duplicates: number; alerts: RiskAlert[] }

/**
 * Stores a batch of events and everything they change, in one READ COMMITTED transaction:
 *   1. INSERT IGNORE the events (unique on envelope id): only the ones inserted now change aggregates,
 *      so a redelivered event, committed before, changes nothing;
 *   2. merge session rows; 3. lock the affected users' risk rows (sorted) and re-score them from the
 *      stored events; 4. raise per-day scores, save the risk state and, for each upward crossing of the
 *      threshold, an alert in the outbox; 5. add the day/hour counters; 6. raise the stream position.
 * Locks are taken in that fixed order (and sorted within each step) so concurrent workers do not deadlock;
 * a deadlock victim runs again. The caller acknowledges the stream entries only after this resolves.
 */
export async function ingestBatch(
  db: Kysely<Database>,
  events: readonly SessionEvent[],
  opts: IngestOptions,
): Promise<IngestResult> {
  const unique = [...new Map(events.map((e) => [e.id, e])).values()].sort((a, b) => (a.id < b.id ? -1 : 1))
  return retryOnDeadlock(() =>
    db
      .transaction()
      .setIsolationLevel('read committed')
      .execute(async (trx) => {
        const now = opts.now?.() ?? new Date()
        const inserted = await insertNewEvents(trx, unique, randomBytes(8).toString('hex'))
        const fresh = unique.filter((e) => inserted.has(e.id))
        let alerts: RiskAlert[] = []
        if (fresh.length > 0) {
          await upsertSessions(trx, sessionDeltas(fresh))
          alerts = await rescoreUsers(trx, fresh, opts.rules, now)
          await addCounters(trx, counterDeltas(fresh))
        }
        if (opts.position)
          await savePosition(trx, opts.position.stream, opts.position.consumer, opts.position.lastId, now)
        await opts.beforeCommit?.()
        return { stored: fresh.length, duplicates: events.length - fresh.length, alerts }
      }),
  )
}

async function rescoreUsers(
  trx: Transaction<Database>,
  fresh: readonly SessionEvent[],
  rules: RiskRules,
  now: Date,
): Promise<RiskAlert[]> {
  const timesByUser = new Map<string, number[]>()
  for (const e of fresh) {
    if (!e.userId) continue
    const times = timesByUser.get(e.userId) ?? []
    if (times.length === 0) timesByUser.set(e.userId, times)
    times.push(Date.parse(e.occurredAt))
  }
  if (timesByUser.size === 0) return []
  const users = [...timesByUser.keys()].sort()
  const states = await lockUsers(trx, users)
  const { from, to } = readRange(
    fresh.map((e) => Date.parse(e.occurredAt)),
    rules,
  )
  const stored = await riskEventsIn(trx, users, new Date(from), new Date(to))

  const days: UserDayScore[] = []
  const updates: UserRiskUpdate[] = []
  const alerts: RiskAlert[] = []
  for (const userId of users) {
    const times = timesByUser.get(userId)!
    const state = states.get(userId)
    const latestAt = times.reduce(
      (max, t) => Math.max(max, t),
      state?.lastEventAt ?? Number.NEGATIVE_INFINITY,
    )
    const { dayMax, current } = rescoreUser(stored.get(userId) ?? [], times, latestAt, rules)
    for (const [day, maxScore] of dayMax) days.push({ day, userId, maxScore })
    if (!current) continue
    const fresh = current.at > now.getTime() - rules.windowMs
    const decision = alertTransition(state?.alerted ?? false, current.score, rules, fresh)
    updates.push({
      userId,
      score: current.score,
      factors: current.factors,
      evaluatedAt: new Date(current.at),
      lastEventAt: new Date(latestAt),
      alerted: decision.alerted,
      alertedAt: decision.alert ? now : null,
    })
    if (decision.alert)
      alerts.push(newRiskAlert(userId, { score: current.score, factors: current.factors }, now))
  }
  await raiseUserDays(trx, days)
  await saveUserRisk(trx, updates)
  await addAlerts(trx, alerts, now)
  return alerts
}
