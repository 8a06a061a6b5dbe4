import type { RiskFactor } from '@africhain/events'
import type { RiskRules } from './risk-rules.ts'
import { holderScoreAt, type RiskEvent, type RiskScore } from './risk-score.ts'
import { scoresAt } from './risk-sweep.ts'
import { utcDay } from './time.ts'

/**
 * Re-scoring one user after new events were stored. A new event at `x` changes the score of every window
 * ending in `[x, x + window)`, so the evaluation points are the user's event times in
 * `[min(new), max(new) + window)`; reading `[min(new) - window, max(new) + window]` covers their windows.
 *
 * - `dayMax`: per UTC day, the highest score at any of those points. The stored value is merged with
 *   GREATEST: scores only grow as events are added, so after all events arrived every day holds the max of
 *   its true scores, whatever the order.
 * - `current`: the score and the holder score at the user's latest event (`latestAt`), pure functions of
 *   the stored set, or null when the new events are too old to reach that window. The holder score is
 *   computed only while the score is suspicious, the only time an alert can depend on it (below the
 *   threshold it is 0: the next crossing alerts whatever was stored). That keeps the second pass over the
 *   window off most users' batches.
 */
export type Rescore = {
  dayMax: Map<string, number>
  current: { score: number; holderScore: number; factors: RiskFactor[]; at: number } | null
}

export function readRange(newTimes: readonly number[], rules: RiskRules): { from: number; to: number } {
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  for (const t of newTimes) {
    if (t < min) min = t
    if (t > max) max = t
  }
  return { from: min - rules.windowMs, to: max + rules.windowMs }
}

export function rescoreUser(
  sorted: readonly RiskEvent[],
  newTimes: readonly number[],
  latestAt: number,
  rules: RiskRules,
): Rescore {
  const { from, to } = readRange(newTimes, rules)
  const minNew = from + rules.windowMs
  const maxNew = to - rules.windowMs
  const points: number[] = []
  for (const e of sorted) {
    if (e.at < minNew || e.at >= maxNew + rules.windowMs || e.at === points.at(-1)) continue
    points.push(e.at)
  }
  const reaches = latestAt < maxNew + rules.windowMs
  // The latest event's time joins the points (in order) when the new events reach its window; it counts
  // for `current` only, not for the day maxima, when no event of the range is at that time.
  const extra = reaches && !new Set(points).has(latestAt)
  const all = extra ? [...points, latestAt].sort((a, b) => a - b) : points
  const scores = scoresAt(sorted, all, rules)
  const dayMax = new Map<string, number>()
  let atLatest: RiskScore | undefined
  for (let i = 0; i < all.length; i++) {
    const t = all[i]!
    if (t === latestAt) {
      atLatest = scores[i]
      if (extra) continue
    }
    const day = utcDay(t)
    dayMax.set(day, Math.max(dayMax.get(day) ?? 0, scores[i]!.score))
  }
  if (!reaches || !atLatest) return { dayMax, current: null }
  const holderScore = atLatest.score > rules.suspiciousAbove ? holderScoreAt(sorted, latestAt, rules) : 0
  return { dayMax, current: { ...atLatest, holderScore, at: latestAt } }
}

export type AlertDecision = { alert: boolean; alerted: boolean }

/**
 * When a user is suspicious, an alert goes out when
 * - the score rises above the threshold from at or below it (or from no state): once per crossing, re-armed
 *   when it falls back; or
 * - while it stays above, the holder score rises above its value at the previous re-score (`was.holderScore`).
 *   A crossing caused by failed logins carries a low holder score; without this, a token reuse that
 *   followed while the score stayed high would never reach the token service, which acts on holder scores.
 * Only new holder events raise the holder score, so a stranger alone causes no alerts beyond crossings.
 * `fresh` is false for changes found in replayed history (older than one window), which update the state
 * without paging anyone.
 */
export function alertTransition(
  was: { alerted: boolean; holderScore: number },
  now: { score: number; holderScore: number },
  rules: RiskRules,
  fresh: boolean,
): AlertDecision {
  if (now.score <= rules.suspiciousAbove) return { alert: false, alerted: false }
  const news = !was.alerted || now.holderScore > was.holderScore
  return { alert: fresh && news, alerted: true }
}
