import type { RiskRules } from './risk-rules.ts'
import type { RiskEvent } from './risk-score.ts'

/**
 * A user's recent scoring facts, kept in their risk row so that re-scoring a batch needs no read of the
 * event store. Invariant: `events` holds the facts of every stored event of the user with `at >= from`
 * (`from` null: every stored event), sorted by time. Re-scoring new events at times X needs the events in
 * `[min(X) - window, ...)`; when `from` is later than that (an event arrived late, or the list was cut),
 * the worker reads the event store instead and rebuilds the list (see storage/ingest.ts).
 */
export type RecentEvents = { from: number | null; events: RiskEvent[] }

export type RecentLimits = {
  /** Events older than the user's latest event by more than this are dropped (default: two windows). */
  keepMs?: number
  /** At most this many events are kept; the oldest go first (default 500). */
  maxEvents?: number
}

const DEFAULT_MAX_EVENTS = 500

/** True when the list holds every stored event the re-scoring of events from `newMin` on can read. */
export function covers(recent: RecentEvents, newMin: number, rules: RiskRules): boolean {
  return recent.from === null || recent.from <= newMin - rules.windowMs
}

/** Index of the first event with `at >= t` in time-sorted events. */
function lowerBound(sorted: readonly RiskEvent[], t: number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid]!.at < t) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Cuts the list to what later batches are likely to need: events within `keepMs` of the latest one, at
 * most `maxEvents` (ties at the cut are kept, so the invariant holds for the new `from`).
 */
export function trimRecent(
  recent: RecentEvents,
  latestAt: number,
  rules: RiskRules,
  limits: RecentLimits = {},
): RecentEvents {
  const sorted = recent.events
  const keepMs = limits.keepMs ?? 2 * rules.windowMs
  const maxEvents = limits.maxEvents ?? DEFAULT_MAX_EVENTS
  let cut = lowerBound(sorted, latestAt - keepMs)
  if (sorted.length - cut > maxEvents) cut = sorted.length - maxEvents
  if (cut === 0) return recent
  const from = cut < sorted.length ? sorted[cut]!.at : latestAt + 1
  return { from, events: sorted.slice(lowerBound(sorted, from)) }
}

/**
 * Compact text for the risk row: strings once in a table, each event as
 * `[at, type, ip, device, reason]` with indexes into it (-1 for null). Ids are not kept: the event store
 * already made the events unique, and scoring orders by time only.
 */
export function encodeRecent(events: readonly RiskEvent[]): string {
  const strings: string[] = []
  const index = new Map<string, number>()
  const ref = (s: string | null): number => {
    if (s === null) return -1
    let i = index.get(s)
    if (i === undefined) {
      i = strings.length
      strings.push(s)
      index.set(s, i)
    }
    return i
  }
  const rows = events.map((e) => [e.at, ref(e.type), ref(e.ip), ref(e.deviceKey), ref(e.reason)])
  return JSON.stringify({ s: strings, e: rows })
}

/** The events of `encodeRecent`, with ids unique within the list (`~0`, `~1`, … never a stored id). */
export function decodeRecent(text: string): RiskEvent[] {
  const { s, e } = JSON.parse(text) as { s: string[]; e: [number, number, number, number, number][] }
  const str = (i: number) => (i < 0 ? null : s[i]!)
  return e.map(([at, type, ip, device, reason], i) => ({
    id: `~${i}`,
    at,
    type: s[type]!,
    ip: str(ip),
    deviceKey: str(device),
    reason: str(reason),
  }))
}
