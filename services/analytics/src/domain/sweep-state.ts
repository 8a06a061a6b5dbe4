import { DISTINCT_CAP, type RiskRules } from './risk-rules.ts'
import {
  byTime,
  holderView,
  isRapid,
  type RiskEvent,
  type RiskScore,
  scoreTally,
  windowAt,
} from './risk-score.ts'
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

/** (time, id) of an event: `byTime` order. */
type Key = [number, string]

type View = {
  /** Last-seen time per IP, in last-seen order, at most `DISTINCT_CAP`, none that left the window. */
  ips: Map<string, number>
  devices: Map<string, number>
  reuse: number
  failed: number
  /** Revocations whose reason is not `logout`, per reason, in `byTime` order. */
  reasons: Map<string, Key[]>
  /**
   * Times of the rapid events, ascending: every one less than `rapidWindowMs` before the latest, and in
   * memory some older ones (`enter` drops them in bulk, `settle` all of them).
   */
  rapid: number[]
  /**
   * (time, span) of rapid events whose span — rapid events in `(time - rapidWindowMs, time]` — lies inside
   * the window, spans strictly decreasing from the front: the front is the window's largest such span.
   */
  peaks: [number, number][]
  /**
   * A leaving event found nothing to take away (a kind's count at 0, a reason missing): the state is not the
   * window's. It is never stored (`encodeSweep`), so the next batch re-scores from the event store.
   */
  broken?: true
}

const emptyView = (): View => ({
  ips: new Map(),
  devices: new Map(),
  reuse: 0,
  failed: 0,
  reasons: new Map(),
  rapid: [],
  peaks: [],
})

export const emptySweep = (): SweepState => ({
  at: Number.NEGATIVE_INFINITY,
  all: emptyView(),
  holder: emptyView(),
})

const cmpKey = (a: Key, b: Key) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)

/** `key` seen at `at` (no earlier than any time in `m`): moved to the end, the oldest dropped past the cap. */
function see(m: Map<string, number>, key: string | null, at: number) {
  if (!key) return
  m.delete(key)
  m.set(key, at)
  if (m.size > DISTINCT_CAP) m.delete(m.keys().next().value!)
}

/** Drops the keys last seen at or before `t - windowMs` (the front of the last-seen order). */
function forget(m: Map<string, number>, t: number, rules: RiskRules) {
  for (const [key, at] of m) {
    if (at > t - rules.windowMs) return
    m.delete(key)
  }
}

function enter(v: View, e: RiskEvent, rules: RiskRules) {
  see(v.ips, e.ip, e.at)
  see(v.devices, e.deviceKey, e.at)
  if (e.type === 'login.failed') v.failed++
  else if (e.type === 'token.reuse_detected') v.reuse++
  else if (e.type === 'session.revoked' && e.reason !== 'logout') {
    const reason = e.reason ?? 'unknown'
    const list = v.reasons.get(reason) ?? []
    if (list.length === 0) v.reasons.set(reason, list)
    const key: Key = [e.at, e.id]
    let i = list.length
    while (i > 0 && cmpKey(list[i - 1]!, key) > 0) i-- // only events at the same time come in out of id order
    list.splice(i, 0, key)
  }
  if (isRapid(e)) {
    v.rapid.push(e.at)
    const from = firstWithin(v.rapid, e.at, rules)
    const span = v.rapid.length - from
    // Times a span behind are dropped once they are half the list: amortized O(1) per event.
    if (from > v.rapid.length >> 1) v.rapid.splice(0, from)
    while (v.peaks.length > 0 && v.peaks[v.peaks.length - 1]![1] <= span) v.peaks.pop()
    v.peaks.push([e.at, span])
  }
}

/** Index of the first of the ascending `times` less than `rapidWindowMs` before `at`. */
function firstWithin(times: readonly number[], at: number, rules: RiskRules): number {
  let lo = 0
  let hi = times.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (at - times[mid]! >= rules.rapidWindowMs) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * `e` leaves the window (events leave in time order: a reason's first revocation is the one leaving). Its
 * IP and device are not touched: `forget` drops them by time.
 */
function leave(v: View, e: RiskEvent) {
  if (e.type === 'login.failed') {
    if (v.failed === 0) v.broken = true
    else v.failed--
  } else if (e.type === 'token.reuse_detected') {
    if (v.reuse === 0) v.broken = true
    else v.reuse--
  } else if (e.type === 'session.revoked' && e.reason !== 'logout') {
    const reason = e.reason ?? 'unknown'
    const list = v.reasons.get(reason)
    if (!list) v.broken = true
    else if (list.length === 1) v.reasons.delete(reason)
    else list.shift()
  }
}

/** Drops the peaks whose span reaches before the window ending at `t` (their count there is the `cut` one). */
function expire(v: View, t: number, rules: RiskRules) {
  const from = t - rules.windowMs + rules.rapidWindowMs
  let n = 0
  while (n < v.peaks.length && v.peaks[n]![0] < from) n++
  if (n > 0) v.peaks.splice(0, n)
}

/**
 * The score of the window ending at `t`. The most rapid events inside any span shorter than `rapidWindowMs`
 * is the larger of the spans ending at least `rapidWindowMs` after the window's start (all their events are
 * in the window: the peaks) and the rapid events in the window before that point (`cut`: every span ending
 * there is cut by the window's start, the longest is the one ending last).
 */
function scoreView(v: View, t: number, cut: number, rules: RiskRules): RiskScore {
  expire(v, t, rules)
  forget(v.ips, t, rules)
  forget(v.devices, t, rules)
  const byReason: Record<string, number> = {}
  let revocations = 0
  for (const [reason, list] of [...v.reasons].sort((a, b) => cmpKey(a[1][0]!, b[1][0]!))) {
    byReason[reason] = list.length
    revocations += list.length
  }
  const rapid = Math.max(cut, v.peaks[0]?.[1] ?? 0)
  const { reuse, failed } = v
  return scoreTally(
    { distinctIps: v.ips.size, distinctDevices: v.devices.size, rapid, revocations, byReason, reuse, failed },
    rules,
  )
}

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

type ViewJson = {
  /** Keys in last-seen order with how long before the state's time they were last seen (a few digits). */
  ips: [string, number][]
  devices: [string, number][]
  reuse: number
  failed: number
  reasons: [string, Key[]][]
  rapid: number[]
  peaks: [number, number][]
}

/** The rapid times as the first one and the steps between them: a few digits each instead of thirteen. */
const steps = (times: readonly number[]) => times.map((t, i) => (i === 0 ? t : t - times[i - 1]!))
function sums(steps: readonly number[]): number[] {
  const out = new Array<number>(steps.length)
  for (let i = 0; i < steps.length; i++) out[i] = i === 0 ? steps[0]! : out[i - 1]! + steps[i]!
  return out
}

const ages = (m: Map<string, number>, at: number): [string, number][] =>
  Array.from(m, ([key, seen]) => [key, at - seen])
const times = (list: readonly [string, number][], at: number) =>
  new Map(list.map(([key, age]) => [key, at - age]))

const viewJson = (v: View, at: number): ViewJson => ({
  ips: ages(v.ips, at),
  devices: ages(v.devices, at),
  reuse: v.reuse,
  failed: v.failed,
  reasons: [...v.reasons],
  rapid: steps(v.rapid),
  peaks: v.peaks,
})
const viewOf = (j: ViewJson, at: number): View => ({
  ...j,
  ips: times(j.ips, at),
  devices: times(j.devices, at),
  reasons: new Map(j.reasons),
  rapid: sums(j.rapid),
})

/**
 * The encoding's version. 2: IPs and devices as last-seen ages; the first states (no `v`) held counts per
 * key, which read as ages would keep keys a window too long, so they decode as no state (re-scored from
 * the event store once).
 */
const SWEEP_FORMAT = 2

/**
 * Bytes an encoded state may take: with the distinct keys capped it stays far below (a few tens of KiB
 * when a stranger filled both caps with the longest keys); a state beyond it — a flood of rapid events
 * inside one rapid span, say — is not stored, and the user's next batch re-scores from the event store.
 * Keeps every risk row, and a statement of them (storage/risk-statements.ts), well inside a packet.
 */
export const MAX_SWEEP_BYTES = 1 << 20

/**
 * JSON text for the risk row's `sweep` column; null (stored as NULL: the next batch reads the event store)
 * for a state above `MAX_SWEEP_BYTES` or one a leaving event found inconsistent.
 */
export function encodeSweep(s: SweepState): string | null {
  if (s.all.broken || s.holder.broken) return null
  const text = JSON.stringify({
    v: SWEEP_FORMAT,
    at: s.at,
    all: viewJson(s.all, s.at),
    holder: viewJson(s.holder, s.at),
  })
  return text.length * 3 <= MAX_SWEEP_BYTES || Buffer.byteLength(text) <= MAX_SWEEP_BYTES ? text : null
}

/** The state of `encodeSweep`; null when the text is not one (the batch then reads the event store). */
export function decodeSweep(text: string): SweepState | null {
  try {
    const j = JSON.parse(text) as { v?: number; at: number; all: ViewJson; holder: ViewJson }
    if (
      j.v !== SWEEP_FORMAT ||
      !Number.isFinite(j.at) ||
      !Array.isArray(j.all?.ips) ||
      !Array.isArray(j.holder?.ips)
    )
      return null
    return { at: j.at, all: viewOf(j.all, j.at), holder: viewOf(j.holder, j.at) }
  } catch {
    return null
  }
}
