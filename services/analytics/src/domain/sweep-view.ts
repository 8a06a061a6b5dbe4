// One view of a sweep state (sweep-state.ts): what each event entering or leaving the window changes, and
// the score it gives at a point.

import { DISTINCT_CAP, RAPID_CAP, type RiskRules } from './risk-rules.ts'
import { isRapid, type RiskEvent, type RiskScore, scoreTally } from './risk-score.ts'

/** (time, id) of an event: `byTime` order. */
export type Key = [number, string]

export type View = {
  /** Last-seen time per IP, in last-seen order, at most `DISTINCT_CAP`, none that left the window. */
  ips: Map<string, number>
  devices: Map<string, number>
  reuse: number
  failed: number
  /** Revocations whose reason is not `logout`, per reason, in `byTime` order. */
  reasons: Map<string, Key[]>
  /**
   * Times of the rapid events, ascending: every one less than `rapidWindowMs` before the latest, at most the
   * latest `RAPID_CAP`, and in memory some older ones (`enter` drops them in bulk, `settle` all of them).
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

export const emptyView = (): View => ({
  ips: new Map(),
  devices: new Map(),
  reuse: 0,
  failed: 0,
  reasons: new Map(),
  rapid: [],
  peaks: [],
})

export const cmpKey = (a: Key, b: Key) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)

/** `key` seen at `at` (no earlier than any time in `m`): moved to the end, the oldest dropped past the cap. */
export function see(m: Map<string, number>, key: string | null, at: number) {
  if (!key) return
  m.delete(key)
  m.set(key, at)
  if (m.size > DISTINCT_CAP) m.delete(m.keys().next().value!)
}

/** Drops the keys last seen at or before `t - windowMs` (the front of the last-seen order). */
export function forget(m: Map<string, number>, t: number, rules: RiskRules) {
  for (const [key, at] of m) {
    if (at > t - rules.windowMs) return
    m.delete(key)
  }
}

export function enter(v: View, e: RiskEvent, rules: RiskRules) {
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
    const drop = unneeded(v.rapid, e.at, rules)
    const span = v.rapid.length - drop
    // The unneeded times are dropped once they are half the list: amortized O(1) per event.
    if (drop > v.rapid.length >> 1) v.rapid.splice(0, drop)
    while (v.peaks.length > 0 && v.peaks[v.peaks.length - 1]![1] <= span) v.peaks.pop()
    v.peaks.push([e.at, span])
  }
}

/**
 * How many of the ascending `times` (the front) a span ending at `at` no longer needs: those a rapid span or
 * more before it, and those behind the latest `RAPID_CAP` (the span is counted up to the cap, risk-rules.ts).
 * What is left is the span at `at`, capped.
 */
export function unneeded(times: readonly number[], at: number, rules: RiskRules): number {
  return Math.max(firstWithin(times, at, rules), times.length - RAPID_CAP)
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
export function leave(v: View, e: RiskEvent) {
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
export function expire(v: View, t: number, rules: RiskRules) {
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
export function scoreView(v: View, t: number, cut: number, rules: RiskRules): RiskScore {
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
