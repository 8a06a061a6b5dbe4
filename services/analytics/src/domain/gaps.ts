/**
 * Gap detection: deciding, from what Redis says about the stream and the consumer group and what the
 * event store says it processed, whether entries were lost before any worker read them. Pure: the caller
 * fetches the facts (XINFO STREAM, XINFO GROUPS, the last committed position).
 */
export type StreamFacts = {
  length: number
  firstEntryId: string | null
  /** Entries ever added to this stream (Redis 7). */
  entriesAdded: number | undefined
  maxDeletedEntryId: string | undefined
}

export type GroupFacts = { lastDeliveredId: string; entriesRead: number | null; lag: number | null }

export type GapKind = 'stream_lost' | 'trimmed_unread' | 'trimmed_before_start'

export type GapFinding = { kind: GapKind; fromId: string; toId: string | null; missing: number | null }

type Compare = (a: string, b: string) => number

/**
 * The group had to be created. With a committed position from this stream, a stream that is gone, empty or
 * starts after that position means Redis lost it (and whatever was not read yet). Without one (first start),
 * entries trimmed before the group existed are history this service never saw.
 */
export function gapOnGroupCreated(
  lastProcessedId: string | null,
  stream: StreamFacts | null,
  compare: Compare,
): GapFinding | null {
  const first = stream?.firstEntryId ?? null
  if (lastProcessedId !== null) {
    if (first !== null && compare(first, lastProcessedId) <= 0) return null // only the group went; re-reading is harmless
    return { kind: 'stream_lost', fromId: lastProcessedId, toId: first, missing: null }
  }
  if (!stream) return null
  const trimmed = (stream.entriesAdded ?? stream.length) - stream.length
  return trimmed > 0 ? { kind: 'trimmed_before_start', fromId: '0-0', toId: first, missing: trimmed } : null
}

/**
 * How many entries the group will never read: entries added minus entries read minus entries still waiting.
 * Redis counts `entries-read` one per delivered entry, so entries trimmed before delivery stay in `lag` for
 * good; subtracting the ones still in the stream and not delivered leaves the lost ones. `undelivered` is
 * the count of entries after the group's last delivered id (the caller counts it when needed).
 *
 * Returns the cumulative missing count for this group (0 when complete), or null when Redis cannot tell
 * (no valid entries-read, e.g. after XDEL tombstones), in which case `suspectTrim` says whether a trim past
 * the last delivered id is visible.
 */
export function missingForGroup(stream: StreamFacts, group: GroupFacts, undelivered: number): number | null {
  if (group.entriesRead === null || group.lag === null || stream.entriesAdded === undefined) return null
  return Math.max(group.lag - undelivered, 0)
}

/** When counts are unavailable: the stream's first entry lies past what was delivered and something was deleted there. */
export function suspectTrim(stream: StreamFacts, group: GroupFacts, compare: Compare): boolean {
  if (!stream.firstEntryId || group.lastDeliveredId === '0-0') return false
  if (compare(stream.firstEntryId, group.lastDeliveredId) <= 0) return false
  return (
    stream.maxDeletedEntryId !== undefined && compare(stream.maxDeletedEntryId, group.lastDeliveredId) > 0
  )
}

/**
 * Entries after the last delivered id, when it is cheap to know: none left, all of them (the stream starts
 * after the last delivered id), or none when the lag is zero. Otherwise undefined: count them with XRANGE.
 */
export function undeliveredWithoutCounting(
  stream: StreamFacts,
  group: GroupFacts,
  compare: Compare,
): number | undefined {
  if (stream.length === 0 || !stream.firstEntryId) return 0
  if (compare(stream.firstEntryId, group.lastDeliveredId) > 0) return stream.length
  if (group.lag === 0) return 0
  return undefined
}
