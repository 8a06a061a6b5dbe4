import type { RiskRules } from './risk-rules.ts'
import { byTime, holderView, isRapid, type RiskEvent, type RiskScore, windowAt } from './risk-score.ts'
import { emptyView, enter, expire, forget, leave, scoreView, unneeded, type View } from './sweep-view.ts'
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
 * first appear in the window, which needs the next one when the first leaves); the times of the rapid
 * events of the last `rapidWindowMs`, at most the latest `RAPID_CAP` (the spans of the next ones, counted up
 * to the cap), and the rapid-activity candidates, at most one per distinct span length, so at most
 * `RAPID_CAP`. `encodeSweep` refuses a state above `MAX_SWEEP_BYTES` as a backstop.
 *
 * Distinct keys without decrements: an IP or device is in the window ending at `t` iff it was last seen
 * after `t - windowMs`. A view keeps the `DISTINCT_CAP` most recently seen keys (a Map in last-seen order:
 * a key seen again moves to the end, the oldest is dropped past the cap) and forgets those that left the
 * window. Every dropped key was last seen no later than every kept one, so once a kept key has left the
 * window every dropped one has too: the kept keys in the window number min(distinct keys, cap), which is
 * what scoring counts (risk-rules.ts `DISTINCT_CAP`). A stranger's refused logins from fresh addresses and
 * device ids therefore cost a victim's row at most the cap's worth of keys.
 */
export type SweepState = {
  /** The checkpoint: the views hold the events at or before it. */
  at: number
  all: View
  holder: View
  /** The events after the checkpoint, time-sorted (at most `TAIL_EVENTS`, within `TAIL_MS` of the latest). */
  tail: RiskEvent[]
}

/**
 * Late events: one user's events do not reach the worker in time order — two concurrent refreshes commit
 * (and are relayed) in another order than the times they were stamped with, a few milliseconds apart, and a
 * burst can end between them. So the views stop at a checkpoint up to `TAIL_MS` before the latest event and
 * the events after it are kept as they are (the tail, at most `TAIL_EVENTS`): a batch whose events are
 * older than the latest one but not than the checkpoint is scored from the state like any other, the tail's
 * points scored again with it (the per-point evaluation of every point it changes). Only an event older
 * than the checkpoint (a relay outage replayed, a busy user's flood past the tail) takes the exact path.
 */
export const TAIL_MS = 1_000
export const TAIL_EVENTS = 512

export const emptySweep = (): SweepState => ({
  at: Number.NEGATIVE_INFINITY,
  all: emptyView(),
  holder: emptyView(),
  tail: [],
})

/** The time of the latest event the state holds (the risk row's `last_event_at`). */
export const latestOf = (s: SweepState): number => (s.tail.length > 0 ? s.tail[s.tail.length - 1]!.at : s.at)

/** True when a batch whose earliest new event is at `newMin` can advance the state (no event before it). */
export function inOrder(state: SweepState, newMin: number): boolean {
  return newMin >= state.at
}

/**
 * Where the stored events `advance` needs lie: `(from, to]` for new events up to `newMax`. The walk goes on
 * to the state's latest event when the batch ends before it (events late within the tail).
 */
export function leavingRange(
  state: SweepState,
  newMax: number,
  rules: RiskRules,
): { from: number; to: number } {
  const until = Math.max(newMax, latestOf(state))
  return { from: state.at - rules.windowMs, to: until - rules.windowMs + rules.rapidWindowMs }
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
 * Scores a batch of new events against the state, when `inOrder`: the evaluation points are the tail's and
 * the new events' times (no stored event is later), exactly as `rescoreUser` would find them over the whole
 * history. `stored`: the user's stored events in `leavingRange`, in any order (the new ones and the tail's
 * among them are left out here). Mutates the state: its checkpoint moves to `TAIL_MS` before the latest
 * event (or later, keeping at most `TAIL_EVENTS` after it), and the scores of the points after it come from
 * a copy walked on from there.
 */
export function advance(
  state: SweepState,
  stored: readonly RiskEvent[],
  added: readonly RiskEvent[],
  rules: RiskRules,
): Rescore & { sweep: SweepState } {
  const news = [...state.tail, ...added].sort(byTime)
  const latestAt = news[news.length - 1]!.at
  let checkpoint = Math.max(state.at, latestAt - TAIL_MS)
  let split = firstAfter(news, checkpoint)
  if (news.length - split > TAIL_EVENTS) {
    checkpoint = news[news.length - TAIL_EVENTS - 1]!.at
    split = firstAfter(news, checkpoint)
  }
  const early = news.slice(0, split)
  const tail = news.slice(split)
  const ids = new Set(news.map((e) => e.id))
  const storedOnly = stored.filter((e) => !ids.has(e.id))
  // The points the new events can change: the times from the earliest of them on (tail events before it
  // enter, but their scores cannot have changed).
  const score = {
    from: added.reduce((min, e) => Math.min(min, e.at), Number.POSITIVE_INFINITY),
    dayMax: new Map<string, number>(),
  }
  let last = walk(state, storedOnly, early, checkpoint, rules, score)
  if (tail.length > 0) {
    const ahead = copyOf(state)
    last = walk(ahead, [...storedOnly, ...early], tail, latestAt, rules, score)
    // The stored events disagreed with the views on the way (sweep-view.ts `broken`): so they do now.
    if (ahead.all.broken) state.all.broken = true
    if (ahead.holder.broken) state.holder.broken = true
  }
  state.tail = tail
  const atLatest = last.atLatest!
  const holderScore = atLatest.score > rules.suspiciousAbove ? last.holder.score : 0
  return { dayMax: score.dayMax, current: { ...atLatest, holderScore, at: latestAt }, sweep: state }
}

/** Index of the first event after `t` in a time-sorted list (its length when none is). */
function firstAfter(sorted: readonly RiskEvent[], t: number): number {
  let i = sorted.length
  while (i > 0 && sorted[i - 1]!.at > t) i--
  return i
}

/**
 * Walks `state` over `added` (time-sorted, none before the state's time) to `until`: the score at each of
 * their times from `score.from` on into `score.dayMax`, the holder view's score at `until`, the state
 * settled at `until`. `stored`: every other event that can leave the window or count in its start's rapid
 * span on the way.
 */
function walk(
  state: SweepState,
  stored: readonly RiskEvent[],
  added: readonly RiskEvent[],
  until: number,
  rules: RiskRules,
  score: { from: number; dayMax: Map<string, number> },
): { atLatest: RiskScore | undefined; holder: RiskScore } {
  // Stored events at or before the window's start left it before this walk; the added ones enter below.
  const known = [...stored.filter((e) => e.at > state.at - rules.windowMs), ...added].sort(byTime)
  const walkAll = walker(state.all, known, added, rules)
  let atLatest: RiskScore | undefined
  for (let i = 0; i < added.length; i++) {
    const t = added[i]!.at
    if (t < score.from || (i + 1 < added.length && added[i + 1]!.at === t)) continue
    atLatest = scoreView(state.all, t, walkAll(t), rules)
    const day = utcDay(t)
    score.dayMax.set(day, Math.max(score.dayMax.get(day) ?? 0, atLatest.score))
  }
  walkAll(until)
  // The holder view needs the last point only: what enters and leaves does not depend on the points between.
  const cut = walker(state.holder, projected(known), projected(added), rules)(until)
  const holder = scoreView(state.holder, until, cut, rules)
  settle(state, until, rules)
  return { atLatest, holder }
}

const copyView = (v: View): View => ({
  ...v,
  ips: new Map(v.ips),
  devices: new Map(v.devices),
  reasons: new Map([...v.reasons].map(([reason, keys]) => [reason, [...keys]])),
  rapid: [...v.rapid],
  peaks: v.peaks.map(([t, span]) => [t, span]),
})

const copyOf = (s: SweepState): SweepState => ({
  at: s.at,
  all: copyView(s.all),
  holder: copyView(s.holder),
  tail: [...s.tail],
})

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
    v.rapid.splice(0, unneeded(v.rapid, t, rules))
  }
  state.at = t
}
