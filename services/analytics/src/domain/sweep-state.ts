import type { RiskRules } from './risk-rules.ts'
import { byTime, holderView, isRapid, type RiskEvent, type RiskScore, windowAt } from './risk-score.ts'
import { emptyView, enter, expire, firstWithin, forget, leave, scoreView, type View } from './sweep-view.ts'
import { utcDay } from './time.ts'
import type { Rescore } from './user-rescore.ts'

/**
 * A user's risk window as of their latest event `at` — the window `(at - windowMs, at]` — kept as what
 * scoring needs instead of the events themselves, so that a batch of newer events is scored in
 * O(new events + events leaving the window), flat in the user's history. Two views of the same window:
 * every event (the score) and the holder events as `holderScoreOf` sees them (the holder score).
 *
 * Its size does not grow with events: per IP and per device the time it was last seen, for at most
 * `DISTINCT_CAP` of each (below); a count per kind; per revocation reason (a closed set) the (time, id) of
 * each such revocation in the window (revocations are rare and `byReason` lists reasons in the order they
 * first appear in the window, which needs the next one when the first leaves); the rapid events of the
 * last `rapidWindowMs` (the spans of the next ones) and the rapid-activity candidates, at most one per
 * distinct span length. `encodeSweep` refuses a state above `MAX_SWEEP_BYTES` as a backstop.
 *
 * Distinct keys without decrements: an IP or device is in the window ending at `t` iff it was last seen
 * after `t - windowMs`. A view keeps the `DISTINCT_CAP` most recently seen keys (a Map in last-seen order:
 * a key seen again moves to the end, the oldest is dropped past the cap) and forgets those that left the
 * window. Every dropped key was last seen no later than every kept one, so once a kept key has left the
 * window every dropped one has too: the kept keys in the window number min(distinct keys, cap), which is
 * what scoring counts (risk-rules.ts `DISTINCT_CAP`). A stranger's refused logins from fresh addresses and
 * device ids therefore cost a victim's row at most the cap's worth of keys.
 */
export type SweepState = { at: number; all: View; holder: View }

export const emptySweep = (): SweepState => ({
  at: Number.NEGATIVE_INFINITY,
  all: emptyView(),
  holder: emptyView(),
})

/** True when a batch whose earliest new event is at `newMin` can advance the state (no event before it). */
export function inOrder(state: SweepState, newMin: number): boolean {
  return newMin >= state.at
}

/** Where the stored events `advance` needs lie: `(from, to]` for new events up to `newMax`. */
export function leavingRange(
  state: SweepState,
  newMax: number,
  rules: RiskRules,
): { from: number; to: number } {
  return { from: state.at - rules.windowMs, to: newMax - rules.windowMs + rules.rapidWindowMs }
}

/**
 * One view's walk over the evaluation points: new events enter up to each point, events at or before
 * `point - windowMs` leave, and `cut` counts the window's rapid events less than `rapidWindowMs` after its
 * start. `known`: every event of the window that can leave or be counted in `cut` during the walk (the
 * stored ones in `leavingRange` and the new ones), time-sorted.
 */
function walker(v: View, known: readonly RiskEvent[], added: readonly RiskEvent[], rules: RiskRules) {
  const rapid = known.filter(isRapid).map((e) => e.at)
  let entered = 0
  let left = 0
  let rLo = 0
  let rHi = 0
  return (t: number): number => {
    while (entered < added.length && added[entered]!.at <= t) enter(v, added[entered++]!, rules)
    while (left < known.length && known[left]!.at <= t - rules.windowMs) leave(v, known[left++]!)
    while (rLo < rapid.length && rapid[rLo]! <= t - rules.windowMs) rLo++
    const end = Math.min(t - rules.windowMs + rules.rapidWindowMs, t + 1)
    rHi = Math.max(rHi, rLo)
    while (rHi < rapid.length && rapid[rHi]! < end) rHi++
    return rHi - rLo
  }
}

const projected = (list: readonly RiskEvent[]) =>
  list.flatMap((e) => {
    const h = holderView(e)
    return h ? [h] : []
  })

/**
 * Scores a batch of new events against the state, when `inOrder`: the evaluation points are the new
 * events' times (no stored event is later), exactly as `rescoreUser` would find them over the whole
 * history. `stored`: the user's stored events in `leavingRange`, in any order (the new ones among them are
 * left out here).
 * Mutates and returns the state as of the batch's latest event.
 */
export function advance(
  state: SweepState,
  stored: readonly RiskEvent[],
  added: readonly RiskEvent[],
  rules: RiskRules,
): Rescore & { sweep: SweepState } {
  const news = [...added].sort(byTime)
  // Stored events at or before the window's start left it before this batch; the new ones enter below.
  const ids = new Set(news.map((e) => e.id))
  const inWindow = stored.filter((e) => e.at > state.at - rules.windowMs && !ids.has(e.id))
  const known = [...inWindow, ...news].sort(byTime)
  const points = [...new Set(news.map((e) => e.at))]
  const latestAt = points[points.length - 1]!
  const walkAll = walker(state.all, known, news, rules)
  const dayMax = new Map<string, number>()
  let atLatest: RiskScore | undefined
  for (const t of points) {
    atLatest = scoreView(state.all, t, walkAll(t), rules)
    const day = utcDay(t)
    dayMax.set(day, Math.max(dayMax.get(day) ?? 0, atLatest.score))
  }
  // The holder view needs the last point only: what enters and leaves does not depend on the points between.
  const cut = walker(state.holder, projected(known), projected(news), rules)(latestAt)
  const holder = scoreView(state.holder, latestAt, cut, rules)
  const holderScore = atLatest!.score > rules.suspiciousAbove ? holder.score : 0
  settle(state, latestAt, rules)
  return { dayMax, current: { ...atLatest!, holderScore, at: latestAt }, sweep: state }
}

/** The state of the window ending at `t`, from a time-sorted history that holds all of it. */
export function sweepStateAt(sorted: readonly RiskEvent[], t: number, rules: RiskRules): SweepState {
  const state = emptySweep()
  const window = windowAt(sorted, t, rules)
  for (const e of window) enter(state.all, e, rules)
  for (const e of projected(window)) enter(state.holder, e, rules)
  settle(state, t, rules)
  return state
}

/** The state as of `t`, holding nothing the next batch cannot use: what is stored. */
function settle(state: SweepState, t: number, rules: RiskRules) {
  for (const v of [state.all, state.holder]) {
    expire(v, t, rules)
    forget(v.ips, t, rules)
    forget(v.devices, t, rules)
    v.rapid.splice(0, firstWithin(v.rapid, t, rules))
  }
  state.at = t
}
