import type { SessionEvent } from '@africhain/events'
import { factsOf, userKey } from './event-facts.ts'
import type { LockedUser } from './ingest-plan.ts'
import { covers, type RecentEvents } from './recent-events.ts'
import type { RiskRules } from './risk-rules.ts'
import { byTime, type RiskEvent } from './risk-score.ts'

/** Every stored event of `users` from `from` on: what re-scoring needs that their risk rows do not hold. */
export type HistoryRead = { users: string[]; from: number }

/** The new events' scoring facts by user, and the stored history the plan needs beyond the locked rows. */
export type HistoryNeeds = { added: Map<string, RiskEvent[]>; read: HistoryRead | null }

/**
 * History coverage: a user's recent history in the risk row serves when it reaches back a window before
 * their earliest new event (or the user is new: no row, no stored events); the others are read from the
 * event store, all from the earliest point any of them needs.
 */
export function historyNeeds(
  fresh: readonly SessionEvent[],
  locked: ReadonlyMap<string, LockedUser>,
  rules: RiskRules,
): HistoryNeeds {
  const added = new Map<string, RiskEvent[]>()
  for (const e of fresh) {
    if (!e.userId) continue
    const user = userKey(e.userId)
    const list = added.get(user) ?? []
    if (list.length === 0) added.set(user, list)
    const facts = factsOf(e)
    const at = Date.parse(e.occurredAt)
    list.push({
      id: e.id,
      type: e.type,
      at,
      ip: e.ip ?? null,
      deviceKey: facts.deviceKey,
      reason: facts.reason,
    })
  }
  const users: string[] = []
  let from = Number.POSITIVE_INFINITY
  for (const [userId, list] of added) {
    const state = locked.get(userId)
    const newMin = Math.min(...list.map((e) => e.at))
    if (!state || (state.recent && covers(state.recent, newMin, rules))) continue
    users.push(userId)
    from = Math.min(from, newMin - rules.windowMs)
  }
  return { added, read: users.length > 0 ? { users, from } : null }
}

/** Each user's history with the new events in it (`stored`: what `needs.read` asked for; it holds this batch). */
export function histories(
  needs: HistoryNeeds,
  locked: ReadonlyMap<string, LockedUser>,
  stored: ReadonlyMap<string, RiskEvent[]>,
): Map<string, RecentEvents> {
  const out = new Map<string, RecentEvents>()
  const read = new Set(needs.read?.users)
  for (const [userId, list] of needs.added) {
    const recent = locked.get(userId)?.recent
    if (read.has(userId)) out.set(userId, { from: needs.read!.from, events: stored.get(userId) ?? [] })
    else if (recent) out.set(userId, { from: recent.from, events: [...recent.events, ...list].sort(byTime) })
    else out.set(userId, { from: null, events: list.sort(byTime) })
  }
  return out
}
