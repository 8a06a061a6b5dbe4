import type { SessionEvent } from '@africhain/events'
import { factsOf, userKey } from './event-facts.ts'
import type { LockedUser } from './ingest-plan.ts'
import type { RiskRules } from './risk-rules.ts'
import type { RiskEvent } from './risk-score.ts'
import { inOrder } from './sweep-state.ts'

/** Every stored event of `users` from `from` on: what re-scoring needs that their risk rows do not hold. */
export type HistoryRead = { users: string[]; from: number }

/** The new events' scoring facts by user, and the stored history the plan needs beyond the locked rows. */
export type HistoryNeeds = { added: Map<string, RiskEvent[]>; read: HistoryRead | null }

/**
 * History coverage: a user's sweep state in the risk row serves when none of their new events is older than
 * it (domain/sweep-state.ts `inOrder`), and a new user (no row, no stored events) starts from an empty one.
 * The others — late events, a row without a state — are re-scored over the stored history, read from the
 * event store for all of them from the earliest point any of them needs.
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
      ip: facts.ip,
      deviceKey: facts.deviceKey,
      reason: facts.reason,
    })
  }
  const users: string[] = []
  let from = Number.POSITIVE_INFINITY
  for (const [userId, list] of added) {
    const state = locked.get(userId)
    const newMin = Math.min(...list.map((e) => e.at))
    if (!state || (state.sweep && inOrder(state.sweep, newMin))) continue
    users.push(userId)
    from = Math.min(from, newMin - rules.windowMs)
  }
  return { added, read: users.length > 0 ? { users, from } : null }
}
