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
  /** At most this many events are kept; the oldest go first (default 20,000). */
  maxEvents?: number
}

/**
 * Enough for a busy user's whole window (10,000 events a day is one every 9 s): their in-order batches then
 * never re-read the event store. With 500, every batch of such a user read its 10,000 stored events again
 * (ingest ran at a third of the rate for users with 10). A user past this reads the store, as before.
 */
const DEFAULT_MAX_EVENTS = 20_000

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
 * Strings with `%`, the separators `|` and `,`, and everything SQL would escape written as `%XX` (UTF-8, as
 * in a URI): the text never needs escaping in SQL. Most strings have none of them and stay as they are.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are escaped on purpose
const SPECIAL = /[%|,'"\\\x00-\x1f\x7f]/
// biome-ignore lint/suspicious/noControlCharactersInRegex: the same set, for replace
const SPECIAL_ALL = /[%|,'"\\\x00-\x1f\x7f]/g
const enc = (s: string) =>
  SPECIAL.test(s) ? s.replace(SPECIAL_ALL, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`) : s
const dec = (s: string) => (s.includes('%') ? decodeURIComponent(s) : s)

/**
 * Compact text for the risk row: `base|strings|events`, where `base` is the first event's time (ms, base 36),
 * `strings` the distinct texts (URI-encoded, comma-separated) and each event `at.type.ip.device.reason`:
 * its time after `base` and indexes into the strings (base 36; empty for null). Ids are not kept: the event
 * store already made the events unique, and scoring orders by time only. `sorted` is in time order.
 */
export function encodeRecent(sorted: readonly RiskEvent[]): string {
  const strings: string[] = []
  const index = new Map<string, string>()
  const ref = (s: string | null): string => {
    if (s === null) return ''
    let i = index.get(s)
    if (i === undefined) {
      i = strings.length.toString(36)
      strings.push(enc(s))
      index.set(s, i)
    }
    return i
  }
  const base = sorted[0]?.at ?? 0
  const events = new Array<string>(sorted.length)
  for (let k = 0; k < sorted.length; k++) {
    const e = sorted[k]!
    events[k] =
      `${(e.at - base).toString(36)}.${ref(e.type)}.${ref(e.ip)}.${ref(e.deviceKey)}.${ref(e.reason)}`
  }
  return `${base.toString(36)}|${strings.join(',')}|${events.join(',')}`
}

/**
 * The events of `encodeRecent`, with ids unique within the list (`~0`, `~1`, … never a stored id); null when
 * the text is not such a list (the ingest then reads the event store and writes a new one).
 */
export function decodeRecent(text: string): RiskEvent[] | null {
  const [base36, strs, evs, extra] = text.split('|')
  if (base36 === undefined || strs === undefined || evs === undefined || extra !== undefined) return null
  const base = Number.parseInt(base36, 36)
  let strings: string[]
  try {
    strings = strs === '' ? [] : strs.split(',').map(dec)
  } catch {
    return null
  }
  const str = (i: string | undefined): string | null | undefined =>
    i === '' ? null : i === undefined ? undefined : strings[Number.parseInt(i, 36)]
  const out: RiskEvent[] = []
  if (evs === '') return out
  const list = evs.split(',')
  for (let k = 0; k < list.length; k++) {
    const [at, type, ip, device, reason, more] = list[k]!.split('.')
    const e = {
      id: `~${k}`,
      at: base + Number.parseInt(at ?? '', 36),
      type: str(type),
      ip: str(ip),
      deviceKey: str(device),
      reason: str(reason),
    }
    if (more !== undefined || !Number.isFinite(e.at) || !e.type || e.ip === undefined) return null
    if (e.deviceKey === undefined || e.reason === undefined) return null
    out.push(e as RiskEvent)
  }
  return out
}
