/**
 * What a user's risk row knows about their `analytics_user_days` rows: for their latest days, a lower bound
 * of each stored `max_score`. Stored maxima only grow (GREATEST), and every ingest that raises one also
 * raises the bound in the same transaction, under the risk row's lock; so a day maximum at or below its
 * bound would change nothing and is not written. Most batches only repeat a day's known maximum: this saves
 * most of the user-day upserts. A day without a bound (older, or unknown) is written as before.
 *
 * Deleting rows of `analytics_user_days` (retention, repair) must also clear `day_bounds` of the users'
 * risk rows, or their bounds would hide the next maxima of those days.
 */
export type DayBounds = ReadonlyMap<string, number>

/** Bounds are kept for this many latest days (UTC): a batch's events are almost always within them. */
export const BOUND_DAYS = 2

const DAY = /^\d{4}-\d{2}-\d{2}$/

/** `day=score` pairs joined by `,`; an empty map for null or text that is not such a list. */
export function decodeDayBounds(text: string | null): DayBounds {
  const out = new Map<string, number>()
  if (!text) return out
  for (const pair of text.split(',')) {
    const [day, score, extra] = pair.split('=')
    const n = Number(score)
    if (day === undefined || !DAY.test(day) || extra !== undefined || score === '' || !Number.isInteger(n))
      return new Map()
    out.set(day, n)
  }
  return out
}

export function encodeDayBounds(bounds: DayBounds): string | null {
  if (bounds.size === 0) return null
  return [...bounds].map(([day, score]) => `${day}=${score}`).join(',')
}

/**
 * The day maxima that can raise a stored value (in `dayMax` order), and the bounds after writing them:
 * raised to each written maximum, cut to the `BOUND_DAYS` latest days.
 */
export function boundedWrites(
  dayMax: ReadonlyMap<string, number>,
  bounds: DayBounds,
): { writes: [string, number][]; bounds: DayBounds } {
  const writes: [string, number][] = []
  const next = new Map(bounds)
  for (const [day, score] of dayMax) {
    const known = next.get(day)
    if (known !== undefined && known >= score) continue
    writes.push([day, score])
    next.set(day, score)
  }
  const kept = [...next.keys()].sort().slice(-BOUND_DAYS)
  return { writes, bounds: new Map(kept.map((day) => [day, next.get(day)!])) }
}
